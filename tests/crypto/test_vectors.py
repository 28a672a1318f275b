"""Replay tests/vectors/*.json through the public API: any change of construction fails.

Regenerate with `python -m tests.vectors.generate` only for a deliberate, documented
change of the wire format or key schedule.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from crypto import history
from crypto.canonicaljson import encode_canonical, loads_strict
from crypto.encoding import b64decode, b64encode
from crypto.errors import CanonicalJsonError, DecryptionError, HistoryError
from crypto.fingerprint import key_fingerprint, safety_number
from crypto.identity import (
    DeviceIdentity,
    device_keys_document,
    make_one_time_prekey,
    make_signed_prekey,
    verify_bundle,
)
from crypto.keys import SigningKey, X25519Key, key_id
from crypto.media import MediaKey, decrypt_chunks, decrypt_media
from crypto.ratchet import kdf_ck, kdf_rk, message_keys
from crypto.session import Session
from crypto.signing import sign_json, verify_json
from crypto.verify import DeviceKeys, VerifiedBundle
from crypto.x3dh import initiate, respond
from node.client import content as contents
from tests.vectors import generate

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def identity(seed: str, private: str) -> DeviceIdentity:
    return DeviceIdentity(SigningKey.from_seed(h(seed)), X25519Key.from_private(h(private)))


@pytest.mark.parametrize("case", load("x3dh.json")["cases"])
def test_x3dh_vectors(case: dict[str, Any]) -> None:
    alice = identity(case["alice_ed25519_seed"], case["alice_x25519_private"])
    bob = identity(case["bob_ed25519_seed"], case["bob_x25519_private"])
    spk = X25519Key.from_private(h(case["bob_signed_prekey_private"]))
    otk_private = case["bob_one_time_prekey_private"]
    otk = X25519Key.from_private(h(otk_private)) if otk_private else None
    bundle = VerifiedBundle(
        DeviceKeys("bob@example.org", "BOBDEVICE", bob.signing.public_key, bob.dh.public_key),
        "spk-1", spk.public_key, "otk-1" if otk else None, otk.public_key if otk else None)
    ours = initiate(alice, bundle, X25519Key.from_private(h(case["alice_ephemeral_private"])))
    theirs = respond(bob, spk, otk, alice.signing.public_key, alice.dh.public_key,
                     ours.ephemeral_public)
    for result in (ours, theirs):
        assert result.secret.hex() == case["secret"]
        assert result.associated_data.hex() == case["associated_data"]


def test_session_conversation_vector() -> None:
    vector = load("session.json")
    alice = identity(vector["alice_ed25519_seed"], vector["alice_x25519_private"])
    bob = identity(vector["bob_ed25519_seed"], vector["bob_x25519_private"])
    bundle = verify_bundle(vector["bundle"], vector["bob_address"])
    sessions = {"alice": Session.initiate(
        alice, bundle, X25519Key.from_private(h(vector["alice_ephemeral_private"])),
        X25519Key.from_private(h(vector["alice_first_ratchet_private"])))}
    wires: dict[int, bytes] = {}
    for event in vector["events"]:
        if event["op"] == "send":
            private = event["ratchet_private"]
            key = X25519Key.from_private(h(private)) if private else None
            wire = sessions[event["from"]].encrypt(event["plaintext"].encode(), key)
            assert wire.hex() == event["wire"], f"message {event['id']}"
            wires[event["id"]] = wire
        elif event["by"] in sessions:
            assert sessions[event["by"]].decrypt(wires[event["id"]]) == event["plaintext"].encode()
        else:
            sessions["bob"], plaintext = Session.accept(
                bob, X25519Key.from_private(h(vector["bob_signed_prekey_private"])),
                X25519Key.from_private(h(vector["bob_one_time_prekey_private"])),
                wires[event["id"]])
            assert plaintext == event["plaintext"].encode()
    for who, state in vector["final_state"].items():
        assert sessions[who].to_bytes().hex() == state
        assert Session.from_bytes(h(state)).to_bytes().hex() == state


def test_ratchet_kdf_vectors() -> None:
    kdf = load("session.json")["kdf"]
    rk, ck = kdf_rk(h(kdf["kdf_rk"]["root_key"]), h(kdf["kdf_rk"]["dh_output"]))
    assert (rk.hex(), ck.hex()) == (kdf["kdf_rk"]["new_root_key"], kdf["kdf_rk"]["chain_key"])
    mk, next_ck = kdf_ck(h(kdf["kdf_ck"]["chain_key"]))
    assert (mk.hex(), next_ck.hex()) == (kdf["kdf_ck"]["message_key"],
                                         kdf["kdf_ck"]["next_chain_key"])
    key, nonce = message_keys(h(kdf["message_keys"]["message_key"]))
    assert (key.hex(), nonce.hex()) == (kdf["message_keys"]["aead_key"],
                                        kdf["message_keys"]["nonce"])


def test_canonical_json_vectors() -> None:
    vector = load("json.json")
    for case in vector["canonical"]:
        assert encode_canonical(loads_strict(case["input"])).decode() == case["canonical"]
    for text in vector["rejected"]:
        with pytest.raises(CanonicalJsonError):
            loads_strict(text)


def test_signature_and_document_vectors() -> None:
    vector = load("json.json")
    case = vector["sign_json"]
    key = SigningKey.from_seed(h(case["seed"]))
    assert sign_json(case["input"], case["signer"], case["key_id"], key) == case["signed"]
    verify_json(case["signed"], case["signer"], case["key_id"], key.public_key)
    docs = vector["documents"]
    alice = identity(docs["ed25519_seed"], docs["x25519_private"])
    assert device_keys_document(alice, docs["address"], docs["device_id"]) == docs["device_keys"]
    spk = X25519Key.from_private(h(docs["signed_prekey_private"]))
    assert make_signed_prekey(alice, "spk-7", spk)[1] == docs["signed_prekey"]
    otk = X25519Key.from_private(h(docs["one_time_prekey_private"]))
    assert make_one_time_prekey(alice, "otk-42", otk)[1] == docs["one_time_prekey"]
    bundle = {"device_id": docs["device_id"], "device_keys": docs["device_keys"],
              "signed_prekey": docs["signed_prekey"], "one_time_prekey": docs["one_time_prekey"]}
    assert verify_bundle(bundle, docs["address"]).one_time_prekey == otk.public_key


def test_fingerprint_vectors() -> None:
    vector = load("fingerprint.json")
    alice, bob = h(vector["alice_ed25519"]), h(vector["bob_ed25519"])
    assert safety_number(vector["alice_address"], alice, vector["bob_address"],
                         bob) == vector["safety_number"]
    assert key_fingerprint(alice) == vector["key_fingerprint"]
    assert key_id(alice) == vector["key_id"]


@pytest.mark.parametrize("case", load("media.json")["cases"], ids=lambda c: str(c["size"]))
def test_media_vectors(case: dict[str, Any]) -> None:
    ciphertext = h(case["ciphertext"])
    media_key = MediaKey.from_json(case["media_key"])
    assert media_key.to_json() == case["media_key"]
    assert hashlib.sha256(ciphertext).digest() == media_key.sha256
    expected = bytes(i % 251 for i in range(case["size"]))
    assert decrypt_media(ciphertext, media_key) == expected
    pieces = [ciphertext[i:i + 1000] for i in range(0, len(ciphertext), 1000)]
    assert b"".join(decrypt_chunks(pieces, media_key)) == expected


def test_vector_files_are_up_to_date() -> None:
    assert generate.main(["--check"]) == 0


HISTORY = load("history.json")
HISTORY_ERRORS = {"DecryptionError": DecryptionError, "HistoryError": HistoryError}


@pytest.mark.parametrize("copy", HISTORY["copies"], ids=lambda c: c["item_id"])
def test_history_copy_vectors(copy: dict[str, Any]) -> None:
    owner, key = HISTORY["owner"], h(HISTORY["keys"][str(copy["epoch"])])
    where = (owner, copy["item_id"], copy["conversation"], copy["ts"])
    canonical = encode_canonical(copy["record"])
    assert canonical.decode() == copy["canonical"]
    assert history.associated_data(*where, copy["epoch"]).hex() == copy["aad"]
    assert history.pad(canonical).hex() == copy["padded"]
    sealed = history.seal(key, copy["epoch"], *where, canonical, h(copy["nonce"]))
    assert sealed.hex() == copy["sealed"]
    assert b64encode(sealed) == copy["sealed_base64url"]
    assert history.open_sealed(key, *where, sealed) == canonical
    content = copy["record"]["content"]  # a valid message content, as the SDK checks it
    _, sender, to = contents.decode(contents.pad(encode_canonical(content)))
    assert (sender, to) == (copy["record"]["sender"], copy["record"]["to"])


def test_an_image_in_the_history_opens_with_the_key_its_copy_carries() -> None:
    image = next(c for c in HISTORY["copies"] if c["record"]["content"]["type"] == "media")
    media = next(c for c in load("media.json")["cases"]
                 if c["size"] == HISTORY["image_media_size"])
    key = MediaKey.from_json({k: image["record"]["content"][k]
                              for k in ("alg", "key", "sha256", "size")})
    assert decrypt_media(h(media["ciphertext"]), key) == bytes(i % 251 for i in range(1000))


@pytest.mark.parametrize("case", HISTORY["refused"], ids=lambda c: c["why"])
def test_history_copies_that_must_not_open(case: dict[str, Any]) -> None:
    with pytest.raises(HISTORY_ERRORS[case["error"]]):
        history.open_sealed(h(HISTORY["keys"]["1"]), case["owner"], case["item_id"],
                            case["conversation"], case["ts"], h(case["sealed"]))


def test_history_key_delivery_vector() -> None:
    """Anna's device gives Ben's device the keys; the keys open the copies."""
    vector = HISTORY["delivery"]
    anna = identity(vector["anna_ed25519_seed"], vector["anna_x25519_private"])
    ben = identity(vector["ben_ed25519_seed"], vector["ben_x25519_private"])
    sender = Session.initiate(
        anna, verify_bundle(vector["bundle"], vector["ben_address"]),
        X25519Key.from_private(h(vector["anna_ephemeral_private"])),
        X25519Key.from_private(h(vector["anna_first_ratchet_private"])))
    receiver: Session | None = None
    keys: dict[int, bytes] = {}
    for message in vector["messages"]:
        body = encode_canonical(message["body"])
        assert body.decode() == message["canonical"]
        wire = sender.encrypt(history.pad(body))
        assert (wire.hex(), b64encode(wire)) == (message["wire"], message["ciphertext"])
        if receiver is None:
            receiver, padded = Session.accept(
                ben, X25519Key.from_private(h(vector["ben_signed_prekey_private"])),
                X25519Key.from_private(h(vector["ben_one_time_prekey_private"])), wire)
        else:
            padded = receiver.decrypt(wire)
        received = loads_strict(history.unpad(padded))
        assert received["type"] == "history_keys" and sorted(map(int, received["keys"])) \
            == message["epochs"]
        keys.update({int(e): b64decode(k, 32) for e, k in received["keys"].items()})
    for copy in HISTORY["copies"]:
        history.open_sealed(keys[copy["epoch"]], HISTORY["owner"], copy["item_id"],
                            copy["conversation"], copy["ts"], h(copy["sealed"]))
