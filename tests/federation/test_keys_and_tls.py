"""Node keys between nodes: the self-signed key document, rotation, DNS key pins, and
federation over TLS with a certificate authority made by the test."""

from __future__ import annotations

import json
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from crypto.encoding import b64decode, b64encode
from crypto.keys import SigningKey
from crypto.signing import verify_json
from federation import pins
from federation.keys import KeyLookupError, KeyRing, check_document, own_document
from federation.signatures import sign_kontor_request
from node.cli import main
from node.client import Client
from node.nodekey import NodeKey, key_path, load_key
from node.storage.db import Database, create_database
from tests.dnsserver import DnsServer
from tests.federation.network import node_config
from tests.nodes import RunningNode, running_node
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401

SEND = "/_kontor/federation/v1/send/"


def transaction() -> bytes:
    return json.dumps({"items": [{"kind": "receipt", "receipt": "delivered",
                                  "message_id": "m_x", "by": "carl@a.test", "device": "D",
                                  "to": "bob@b.test", "ts": 1}]}).encode()


async def put_signed(b: RunningNode, key: NodeKey, txn_id: str) -> tuple[int, Any]:
    body = transaction()
    headers = sign_kontor_request("PUT", f"http://b.test{SEND}{txn_id}", body, "a.test",
                                  "b.test", key.key_id, key.sign, int(time.time()))
    async with aiohttp.ClientSession() as http, http.put(
            b.url + SEND + txn_id, data=body,
            headers={**headers, "Host": "b.test", "Content-Type": "application/json"}) as r:
        return r.status, await r.json()


async def test_key_document_rotation_and_old_key_grace(tmp_path: Path) -> None:
    with DnsServer() as dns:
        a_ini = node_config(dns, tmp_path, "a")
        b_ini = node_config(dns, tmp_path, "b")
        async with running_node(a_ini) as a:
            old_key = load_key(key_path(a.config.data_dir))
            async with aiohttp.ClientSession() as http, http.get(
                    a.url + "/_kontor/federation/v1/keys") as r:
                doc = await r.json()
            assert doc["server_name"] == "a.test" and list(doc["keys"]) == [old_key.key_id]
            verify_json(doc, "a.test", old_key.key_id, old_key.public_key)
        assert main(["keys", "rotate", "-c", str(a_ini), "--grace-hours", "2"]) == 0
        async with running_node(a_ini) as a, running_node(b_ini) as b:
            new_key = load_key(key_path(a.config.data_dir))
            assert new_key.key_id != old_key.key_id
            async with aiohttp.ClientSession() as http, http.get(
                    a.url + "/_kontor/federation/v1/keys") as r:
                doc = await r.json()
            keys, _, current = check_document(doc, "a.test", int(time.time() * 1000))
            assert current == new_key.public_key
            [(old_id, _, expires)] = [k for k in keys if k[2] is not None]
            assert old_id == old_key.key_id
            assert expires > (time.time() + 3600) * 1000, "the old key has its grace period"
            # Requests signed with the new key and, during the grace, the old one verify.
            assert (await put_signed(b, new_key, "n1"))[0] == 200
            assert (await put_signed(b, old_key, "o1"))[0] == 200
            stranger = NodeKey.generate()
            status, body = await put_signed(b, stranger, "s1")
            assert (status, body["error"]["code"]) == (401, "UNKNOWN_KEY")


async def test_key_ring_refuses_an_expired_old_key(tmp_path: Path) -> None:
    current, old = SigningKey.generate(), SigningKey.generate()
    now = 1_800_000_000_000
    doc = own_document("a.test", "ed25519:cur", current, [
        {"key_id": "ed25519:old", "public_key": _b64(old.public_key), "expired_ms": now + 1000,
         "valid_from_ms": 0}], now)
    create_database(tmp_path / "k.db")
    db = Database(tmp_path / "k.db")
    clock = [now / 1000]

    async def fetch(server: str) -> Any:
        return doc

    ring = KeyRing(db, fetch, None, None, clock=lambda: clock[0])
    try:
        assert await ring.public_key("a.test", "ed25519:old") == old.public_key
        clock[0] += 5
        with pytest.raises(KeyLookupError) as err:
            await ring.public_key("a.test", "ed25519:old")
        assert err.value.code == "EXPIRED_KEY"
        # The server drops the current key from its document (say, after a compromise):
        # once the cached document is stale and refetched, that key no longer verifies.
        newer = SigningKey.generate()
        doc = own_document("a.test", "ed25519:new", newer, [], now + 2 * 86_400_000)
        clock[0] += 2 * 86_400
        assert await ring.public_key("a.test", "ed25519:new") == newer.public_key
        with pytest.raises(KeyLookupError) as err:
            await ring.public_key("a.test", "ed25519:cur")
        assert err.value.code == "EXPIRED_KEY"
        tampered = {**doc, "server_name": "a.test", "valid_until_ms": doc["valid_until_ms"] + 1}
        with pytest.raises(KeyLookupError):
            check_document(tampered, "a.test", now)
    finally:
        db.close()


def _b64(data: bytes) -> str:
    return b64encode(data)


async def test_dns_key_pin_must_match_the_fetched_key(tmp_path: Path) -> None:
    with DnsServer() as dns:
        a_ini = node_config(dns, tmp_path, "a")
        b_ini = node_config(dns, tmp_path, "b")
        async with running_node(a_ini) as a, running_node(b_ini) as b:
            key = load_key(key_path(a.config.data_dir))
            wrong = NodeKey.generate()
            dns.add_txt("_kontor-key.a.test",
                        f"v=kontor1 ed25519={pins.pin_value(wrong.public_key)}")
            status, body = await put_signed(b, key, "p1")
            assert (status, body["error"]["code"]) == (401, "KEY_PIN_MISMATCH")
        dns.remove("_kontor-key.a.test")
        dns.add_txt("_kontor-key.a.test", f"v=kontor1 ed25519={pins.pin_value(key.public_key)}")
        async with running_node(a_ini) as a, running_node(b_ini) as b:  # fresh caches
            assert (await put_signed(b, key, "p2"))[0] == 200
            assert b64decode(key.public_key_b64, 32) == key.public_key


def make_ca(directory: Path, hosts: list[str]) -> tuple[Path, dict[str, tuple[Path, Path]]]:
    """A throwaway CA and one certificate per host, made with the openssl command."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", str(ca_key), "-out", str(ca_cert), "-days", "2",
            "-subj", "/CN=Kontor test CA")
    certs = {}
    for host in hosts:
        key, csr, cert = (directory / f"{host}.key", directory / f"{host}.csr",
                          directory / f"{host}.pem")
        ext = directory / f"{host}.ext"
        ext.write_text(f"subjectAltName=DNS:{host}\nbasicConstraints=CA:FALSE\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={host}")
        openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
                "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))
        key.chmod(0o600)
        certs[host] = (cert, key)
    return ca_cert, certs


async def test_federation_over_tls_with_a_test_ca(tmp_path: Path) -> None:
    ca, certs = make_ca(tmp_path / "pki", ["a.test", "b.test"])
    with DnsServer() as dns:
        def tls_node(name: str) -> Path:
            cert, key = certs[f"{name}.test"]
            return node_config(dns, tmp_path, name, {
                "tls": {"cert_file": cert, "key_file": key},
                "federation": {"allow_plain_http": "false", "ca_file": ca}})

        a_ini, b_ini = tls_node("a"), tls_node("b")
        async with running_node(a_ini) as a, running_node(b_ini) as b:
            assert a.url.startswith("https://")
            context = ssl.create_default_context(cafile=str(ca))
            context.check_hostname = False  # the SDK reaches the node by its IP here

            carl = await Client.register(a.url, "carl", PASSWORD, store=tmp_path / "carl",
                                         passphrase=PASSPHRASE, ssl=context)
            bob = await Client.register(b.url, "bob", PASSWORD, store=tmp_path / "bob",
                                        passphrase=PASSPHRASE, ssl=context)
            try:
                await carl.send_text(bob.address, "over TLS both ways")
                [got] = await receive(bob, 1, timeout=20)
                assert got.text == "over TLS both ways"
                await bob.send_text(carl.address, "and back")
                [got] = await receive(carl, 1, timeout=20)
                assert got.text == "and back"
            finally:
                await carl.close()
                await bob.close()
