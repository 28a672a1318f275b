"""The SDK's checks of a business's signed documents, without the network."""

from __future__ import annotations

import time
from typing import Any

import pytest

from crypto.keys import SigningKey, key_id
from crypto.signing import sign_json
from federation.keys import own_document
from node.client.business import check_business_document
from node.client.errors import VerificationError
from tests.dnsserver import DnsServer

SERVER = "shop.test"


def answer(kind: str, key: SigningKey, valid_for_ms: int = 3_600_000,
           server: str = SERVER) -> dict[str, Any]:
    now = int(time.time() * 1000)
    kid = f"ed25519:{key_id(key.public_key)}"
    doc = sign_json({"type": f"kontor.business.{kind}", "server_name": server,
                     "name": "Tea & Leaf", "valid_until_ms": now + valid_for_ms},
                    SERVER, kid, key)
    return {"server_name": SERVER, "document": doc,
            "keys": own_document(SERVER, kid, key, [], now)}


async def test_signed_fresh_documents_check_and_dns_pins_make_them_verified() -> None:
    from federation import pins

    key = SigningKey.generate()
    with DnsServer() as dns:
        plain = await check_business_document(answer("profile", key), SERVER, "profile",
                                              dns.nameserver)
        assert plain["name"] == "Tea & Leaf" and not plain.verified
        dns.add_txt(f"_kontor-key.{SERVER}", f"v=kontor1 ed25519={pins.pin_value(b'x' * 32)}")
        other = await check_business_document(answer("profile", key), "shop.test", "profile",
                                              dns.nameserver)
        assert not other.verified and "another" in other.why
    with DnsServer() as dns:
        dns.add_txt(f"_kontor-key.{SERVER}",
                    f"v=kontor1 ed25519={pins.pin_value(key.public_key)}")
        pinned = await check_business_document(answer("catalog", key), SERVER, "catalog",
                                               dns.nameserver)
        assert pinned.verified


@pytest.mark.parametrize("bad,why", [
    (lambda k: answer("catalog", k), "not the profile"),            # another kind
    (lambda k: answer("profile", k, valid_for_ms=-1), "expired"),  # a stale copy
    (lambda k: answer("profile", k, server="evil.test"), "not the profile"),
    (lambda k: {**answer("profile", k), "document": {
        **answer("profile", k)["document"], "name": "Evil"}}, "not signed"),
    (lambda k: {**answer("profile", k), "keys": answer("profile", SigningKey.generate())[
        "keys"]}, "not signed"),
])
async def test_wrong_stale_or_forged_documents_are_refused(bad: Any, why: str) -> None:
    with DnsServer() as dns, pytest.raises(VerificationError, match=why):
        await check_business_document(bad(SigningKey.generate()), SERVER, "profile",
                                      dns.nameserver)


def test_a_pin_kept_by_an_older_sdk_is_upgraded_not_refused(tmp_path: Any) -> None:
    """Stores written before X25519 keys were pinned hold the Ed25519 key alone."""
    import os

    import nacl.pwhash

    from crypto.encoding import b64encode
    from crypto.verify import DeviceKeys
    from node.client.devices import Devices
    from node.client.store import Store

    store = Store.open(tmp_path / "old.store", "pw", opslimit=nacl.pwhash.argon2id.OPSLIMIT_MIN,
                       memlimit=nacl.pwhash.argon2id.MEMLIMIT_MIN)
    signing, identity = os.urandom(32), os.urandom(32)
    store.remember_device("bob@b.test", "D1", b64encode(signing))  # the old form
    devices = object.__new__(Devices)
    devices.store = store
    assert devices.pinned("bob@b.test", "D1") is None, "old pins are looked up again"
    devices.trust_on_first_use("bob@b.test", "D1",
                               DeviceKeys("bob@b.test", "D1", signing, identity))
    assert devices.pinned("bob@b.test", "D1") == (signing, identity)
    store.remember_device("eve@b.test", "D2", b64encode(os.urandom(32)))
    with pytest.raises(VerificationError, match="changed"):
        devices.trust_on_first_use("eve@b.test", "D2",
                                   DeviceKeys("eve@b.test", "D2", signing, identity))
    store.close()
