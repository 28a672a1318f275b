"""Write the known-answer vectors in tests/vectors/*.json from fixed seeds.

    python -m tests.vectors.generate            # (re)write the files
    python -m tests.vectors.generate --check    # exit 1 if any file would change

Every secret is SHA-256("kontor test vector " + label), so the files are reproducible.
Byte strings are lowercase hex. media.json is the exception: libsodium picks the
secretstream header at random, so an existing media.json that still decrypts is kept.
tests/crypto/test_vectors.py replays each file through the public API.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from nacl import bindings  # noqa: E402

from crypto.canonicaljson import encode_canonical, loads_strict  # noqa: E402
from crypto.encoding import b64encode  # noqa: E402
from crypto.errors import CryptoError  # noqa: E402
from crypto.fingerprint import key_fingerprint, safety_number  # noqa: E402
from crypto.history import associated_data, pad, seal  # noqa: E402
from crypto.identity import (  # noqa: E402
    DeviceIdentity,
    device_keys_document,
    make_one_time_prekey,
    make_signed_prekey,
    verify_bundle,
)
from crypto.keys import SigningKey, X25519Key, key_id  # noqa: E402
from crypto.media import MediaKey, decrypt_media, encrypt_media  # noqa: E402
from crypto.ratchet import kdf_ck, kdf_rk, message_keys  # noqa: E402
from crypto.session import Session  # noqa: E402
from crypto.signing import sign_json  # noqa: E402
from crypto.x3dh import initiate, respond  # noqa: E402


def secret(label: str) -> bytes:
    """The fixed 32-byte secret for a label."""
    return hashlib.sha256(b"kontor test vector " + label.encode()).digest()


def identity(name: str) -> DeviceIdentity:
    """A device identity from the labels '<name> ed25519' and '<name> x25519'."""
    return DeviceIdentity(SigningKey.from_seed(secret(f"{name} ed25519")),
                          X25519Key.from_private(secret(f"{name} x25519")))


def bundle_for(bob: DeviceIdentity, with_otk: bool) -> tuple[dict[str, Any], X25519Key,
                                                              X25519Key | None]:
    """Bob's published bundle (device b@example.org / BOBDEVICE) and its private prekeys."""
    spk, spk_doc = make_signed_prekey(bob, "spk-1", X25519Key.from_private(secret("bob spk")))
    otk, otk_doc = (make_one_time_prekey(bob, "otk-1", X25519Key.from_private(secret("bob otk")))
                    if with_otk else (None, None))
    bundle = {"device_id": "BOBDEVICE",
              "device_keys": device_keys_document(bob, "bob@example.org", "BOBDEVICE"),
              "signed_prekey": spk_doc, "one_time_prekey": otk_doc}
    return bundle, spk, otk


def x3dh_vectors() -> dict[str, Any]:
    cases = []
    alice, bob = identity("alice"), identity("bob")
    for with_otk in (True, False):
        bundle, spk, otk = bundle_for(bob, with_otk)
        verified = verify_bundle(bundle, "bob@example.org")
        ephemeral = X25519Key.from_private(secret("alice ephemeral"))
        ours = initiate(alice, verified, ephemeral)
        theirs = respond(bob, spk, otk, alice.signing.public_key, alice.dh.public_key,
                         ours.ephemeral_public)
        assert ours == theirs
        cases.append({
            "alice_ed25519_seed": alice.signing.seed.hex(),
            "alice_x25519_private": alice.dh.private.hex(),
            "alice_ephemeral_private": ephemeral.private.hex(),
            "bob_ed25519_seed": bob.signing.seed.hex(),
            "bob_x25519_private": bob.dh.private.hex(),
            "bob_signed_prekey_private": spk.private.hex(),
            "bob_one_time_prekey_private": otk.private.hex() if otk else None,
            "secret": ours.secret.hex(),
            "associated_data": ours.associated_data.hex(),
        })
    return {"info": "Kontor X3DH v1", "cases": cases}


# ("send", sender, plaintext, label of the ratchet key should the message start a chain)
# ("receive", receiver, index of the message sent)
SCRIPT: list[tuple[Any, ...]] = [
    ("send", "alice", "Hello Bob", None),
    ("send", "alice", "Second, sent before any reply", None),
    ("receive", "bob", 1),
    ("receive", "bob", 0),
    ("send", "bob", "Hi Alice", "bob ratchet 1"),
    ("send", "bob", "Are you there?", "bob ratchet 1"),
    ("receive", "alice", 3),
    ("send", "alice", "Yes, on a new chain", "alice ratchet 1"),
    ("receive", "bob", 4),
    ("receive", "alice", 2),
    ("send", "bob", "\u00e9t\u00e9 \u2603 \U0001f600", "bob ratchet 2"),
    ("receive", "alice", 5),
    ("send", "alice", "", "alice ratchet 2"),
    ("receive", "bob", 6),
]


def session_vectors() -> dict[str, Any]:
    alice, bob = identity("alice"), identity("bob")
    bundle, spk, otk = bundle_for(bob, True)
    sessions: dict[str, Session] = {"alice": Session.initiate(
        alice, verify_bundle(bundle, "bob@example.org"),
        X25519Key.from_private(secret("alice ephemeral")),
        X25519Key.from_private(secret("alice ratchet 0")))}
    wires: list[bytes] = []
    plaintexts: list[str] = []
    events: list[dict[str, Any]] = []
    for op, who, *rest in SCRIPT:
        if op == "send":
            text, label = rest
            key = X25519Key.from_private(secret(label)) if label else None
            wires.append(sessions[who].encrypt(text.encode(), key))
            plaintexts.append(text)
            events.append({"op": "send", "from": who, "id": len(wires) - 1, "plaintext": text,
                           "ratchet_private": key.private.hex() if key else None,
                           "wire": wires[-1].hex()})
        else:
            (index,) = rest
            if who not in sessions:
                sessions[who], plaintext = Session.accept(bob, spk, otk, wires[index])
            else:
                plaintext = sessions[who].decrypt(wires[index])
            assert plaintext.decode() == plaintexts[index]
            events.append({"op": "receive", "by": who, "id": index, "plaintext": plaintexts[index]})
    assert otk is not None
    return {
        "alice_address": "alice@example.org", "bob_address": "bob@example.org",
        "alice_ed25519_seed": alice.signing.seed.hex(),
        "alice_x25519_private": alice.dh.private.hex(),
        "alice_ephemeral_private": secret("alice ephemeral").hex(),
        "alice_first_ratchet_private": secret("alice ratchet 0").hex(),
        "bob_ed25519_seed": bob.signing.seed.hex(), "bob_x25519_private": bob.dh.private.hex(),
        "bob_signed_prekey_private": spk.private.hex(),
        "bob_one_time_prekey_private": otk.private.hex(),
        "bundle": bundle, "events": events,
        "final_state": {who: s.to_bytes().hex() for who, s in sessions.items()},
        "kdf": kdf_vectors(),
    }


def kdf_vectors() -> dict[str, Any]:
    rk, dh, ck, mk = (secret(x) for x in ("root key", "dh output", "chain key", "message key"))
    new_rk, new_ck = kdf_rk(rk, dh)
    out_mk, next_ck = kdf_ck(ck)
    key, nonce = message_keys(mk)
    return {
        "kdf_rk": {"root_key": rk.hex(), "dh_output": dh.hex(), "new_root_key": new_rk.hex(),
                   "chain_key": new_ck.hex()},
        "kdf_ck": {"chain_key": ck.hex(), "message_key": out_mk.hex(),
                   "next_chain_key": next_ck.hex()},
        "message_keys": {"message_key": mk.hex(), "aead_key": key.hex(), "nonce": nonce.hex()},
    }


CANONICAL_INPUTS = [
    '{"b": 2, "a": 1}',
    '{"one": 1, "two": "Two"}',
    '{"a": {"z": [3, 2, {"y": null, "x": true}], "b": false}}',
    '{"\\u00e9": "caf\\u00e9", "\\u65e5": "\\u65e5\\u672c", "e": "\\ud83d\\ude00"}',
    '{"quote": "\\"", "slash": "/\\\\", "ctl": "\\u0001\\n\\t", "del": "\\u007f"}',
    '{"max": 9007199254740991, "min": -9007199254740991, "zero": 0}',
    '[]', '{}', '"text"', '-7',
]
REJECTED_INPUTS = [
    '{"a": 1.5}', '{"a": 1e3}', '{"a": 1, "a": 2}', '[NaN]', '[Infinity]', '[-Infinity]',
    '[9007199254740992]', '[-9007199254740992]', '"\\ud800"', '{"a": 1', "[01]",
    "[" * 33 + "]" * 33,
]


def json_vectors() -> dict[str, Any]:
    for text in REJECTED_INPUTS:
        try:
            loads_strict(text)
        except CryptoError:
            continue
        raise AssertionError(f"accepted {text}")
    signer = SigningKey.from_seed(secret("json signer"))
    signer_key_id = "ed25519:" + key_id(signer.public_key)
    obj = {"name": "Kontor", "list": [1, "two", None], "unsigned": {"age": 5},
           "signatures": {"other.example": {"ed25519:x": "kept as is"}}}
    alice = identity("alice")
    spk = X25519Key.from_private(secret("alice spk"))
    otk = X25519Key.from_private(secret("alice otk"))
    return {
        "canonical": [{"input": text, "canonical": encode_canonical(loads_strict(text)).decode()}
                      for text in CANONICAL_INPUTS],
        "rejected": REJECTED_INPUTS,
        "sign_json": {"seed": signer.seed.hex(), "signer": "shop.example",
                      "key_id": signer_key_id, "input": obj,
                      "signed": sign_json(obj, "shop.example", signer_key_id, signer)},
        "documents": {
            "ed25519_seed": alice.signing.seed.hex(), "x25519_private": alice.dh.private.hex(),
            "address": "alice@example.org", "device_id": "ALICEDEV",
            "device_keys": device_keys_document(alice, "alice@example.org", "ALICEDEV"),
            "signed_prekey_private": spk.private.hex(),
            "signed_prekey": make_signed_prekey(alice, "spk-7", spk)[1],
            "one_time_prekey_private": otk.private.hex(),
            "one_time_prekey": make_one_time_prekey(alice, "otk-42", otk)[1],
        },
    }


def fingerprint_vectors() -> dict[str, Any]:
    alice, bob = identity("alice"), identity("bob")
    return {
        "alice_address": "alice@example.org", "alice_ed25519": alice.signing.public_key.hex(),
        "bob_address": "bob@example.org", "bob_ed25519": bob.signing.public_key.hex(),
        "safety_number": safety_number("alice@example.org", alice.signing.public_key,
                                       "bob@example.org", bob.signing.public_key),
        "key_fingerprint": key_fingerprint(alice.signing.public_key),
        "key_id": key_id(alice.signing.public_key),
    }


def media_pattern(size: int) -> bytes:
    """The media vectors' plaintext: byte i is i mod 251."""
    return bytes(i % 251 for i in range(size))


MEDIA_SIZES = [0, 1000, 65536 + 100]


def media_file_ok(content: dict[str, Any]) -> bool:
    """True when every stored case decrypts to its pattern with its stored key."""
    try:
        return [case["size"] for case in content["cases"]] == MEDIA_SIZES and all(
            decrypt_media(bytes.fromhex(case["ciphertext"]),
                          MediaKey.from_json(case["media_key"])) == media_pattern(case["size"])
            for case in content["cases"])
    except (CryptoError, KeyError, TypeError, ValueError):
        return False


def media_vectors(existing: dict[str, Any] | None) -> dict[str, Any]:
    """Reuse an existing file when it still decrypts (its headers are random)."""
    if existing is not None and media_file_ok(existing):
        return existing
    cases = []
    for size in MEDIA_SIZES:
        ciphertext, media_key = encrypt_media(media_pattern(size), secret(f"media {size}"))
        assert decrypt_media(ciphertext, media_key) == media_pattern(size)
        cases.append({"plaintext": f"byte i = i mod 251, {size} bytes", "size": size,
                      "media_key": media_key.to_json(), "ciphertext": ciphertext.hex()})
    return {"chunk_size": 65536, "cases": cases}


HISTORY_OWNER = "business@shop.example"
CARL = "carl@customer.example"


def history_records(media_key: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(epoch, record) of the sealed copies: the team's conversation with Carl."""
    def record(n: int, outgoing: bool, content: dict[str, Any]) -> dict[str, Any]:
        sender, to = (HISTORY_OWNER, CARL) if outgoing else (CARL, HISTORY_OWNER)
        return {"message_id": f"m_vector{n}", "sender": sender,
                "sender_device": "ANNADEVICE1" if outgoing else "CARLDEVICE1", "to": to,
                "peer": CARL, "ts": 1764000000000 + n * 1000, "outgoing": outgoing,
                "content": {**content, "from": sender, "to": to}}
    image = {"type": "media", "media_id": media_key["sha256"], "server": "customer.example",
             **media_key, "name": "tea.png", "mime": "image/png", "caption": "This one?"}
    return [
        (1, record(1, False, {"type": "text", "body": "Do you have green tea?"})),
        (1, record(2, True, {"type": "text", "body": "Welcome to Tea Shop! Yes: Sencha "
                             "and Gyokuro \u00e0 12 \u20ac \U0001f375"})),
        (2, record(3, False, image)),
    ]


def history_copies(media_key: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step of sealing each record (docs/crypto.md §11)."""
    copies = []
    for n, (epoch, record) in enumerate(history_records(media_key), 1):
        key, nonce = secret(f"history key {epoch}"), secret(f"history nonce {n}")[:24]
        canonical = encode_canonical(record)
        where = (HISTORY_OWNER, record["message_id"], record["peer"], record["ts"])
        sealed = seal(key, epoch, *where, canonical, nonce)
        copies.append({"epoch": epoch, "item_id": where[1], "conversation": where[2],
                       "ts": where[3], "record": record, "canonical": canonical.decode(),
                       "aad": associated_data(*where, epoch).hex(), "nonce": nonce.hex(),
                       "padded": pad(canonical).hex(), "sealed": sealed.hex(),
                       "sealed_base64url": b64encode(sealed)})
    return copies


def history_refused(copy: dict[str, Any]) -> list[dict[str, Any]]:
    """Copies that must not open with epoch 1's key, and the error class for each."""
    sealed = bytes.fromhex(copy["sealed"])
    where = (copy["item_id"], copy["conversation"], copy["ts"])
    aad = associated_data(HISTORY_OWNER, *where, 1)
    unpadded = sealed[:29] + bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        b"\x00" * 64, aad, bytes.fromhex(copy["nonce"]), secret("history key 1"))
    cases = [
        ("moved to another conversation", sealed, {"conversation": "mallory@x.example"},
         "DecryptionError"),
        ("moved to another time", sealed, {"ts": copy["ts"] + 1}, "DecryptionError"),
        ("moved to another owner", sealed, {"owner": "other@shop.example"},
         "DecryptionError"),
        ("last byte altered", sealed[:-1] + bytes([sealed[-1] ^ 1]), {}, "DecryptionError"),
        ("version 2", b"\x02" + sealed[1:], {}, "HistoryError"),
        ("shorter than 45 bytes", sealed[:44], {}, "HistoryError"),
        ("opens, but the padding has no 0x80", unpadded, {}, "HistoryError"),
    ]
    base = {"owner": HISTORY_OWNER, "item_id": where[0], "conversation": where[1],
            "ts": where[2]}
    return [{"why": why, **base, **change, "sealed": bad.hex(), "error": error}
            for why, bad, change, error in cases]


def history_delivery() -> dict[str, Any]:
    """Anna's device gives Ben's new device the keys: two ratchet messages."""
    anna, ben = identity("anna"), identity("ben")
    spk, spk_doc = make_signed_prekey(ben, "spk-1", X25519Key.from_private(secret("ben spk")))
    otk, otk_doc = make_one_time_prekey(ben, "otk-1",
                                        X25519Key.from_private(secret("ben otk")))
    bundle = {"device_id": "BENDEVICE01", "signed_prekey": spk_doc, "one_time_prekey": otk_doc,
              "device_keys": device_keys_document(ben, "ben@shop.example", "BENDEVICE01")}
    session = Session.initiate(anna, verify_bundle(bundle, "ben@shop.example"),
                               X25519Key.from_private(secret("anna ephemeral")),
                               X25519Key.from_private(secret("anna ratchet 0")))
    messages = []
    for epochs in ([1], [2]):
        body = {"type": "history_keys", "from": HISTORY_OWNER, "to": HISTORY_OWNER,
                "owner": HISTORY_OWNER,
                "keys": {str(e): b64encode(secret(f"history key {e}")) for e in epochs}}
        wire = session.encrypt(pad(encode_canonical(body)))
        messages.append({"epochs": epochs, "body": body,
                         "canonical": encode_canonical(body).decode(),
                         "wire": wire.hex(), "ciphertext": b64encode(wire)})
    return {"sender_address": "anna@shop.example", "sender_device": "ANNADEVICE1",
            "anna_ed25519_seed": anna.signing.seed.hex(),
            "anna_x25519_private": anna.dh.private.hex(),
            "anna_ephemeral_private": secret("anna ephemeral").hex(),
            "anna_first_ratchet_private": secret("anna ratchet 0").hex(),
            "ben_address": "ben@shop.example", "ben_ed25519_seed": ben.signing.seed.hex(),
            "ben_x25519_private": ben.dh.private.hex(),
            "ben_signed_prekey_private": spk.private.hex(),
            "ben_one_time_prekey_private": otk.private.hex(), "bundle": bundle,
            "messages": messages}


def history_vectors(media: dict[str, Any]) -> dict[str, Any]:
    """tests/vectors/history.json; the image's key is media.json's 1000-byte case."""
    media_key = next(c["media_key"] for c in media["cases"] if c["size"] == 1000)
    copies = history_copies(media_key)
    return {"owner": HISTORY_OWNER, "label": "Kontor history v1",
            "keys": {str(e): secret(f"history key {e}").hex() for e in (1, 2)},
            "copies": copies, "refused": history_refused(copies[0]),
            "delivery": history_delivery(), "image_media_size": 1000}


def build(existing_media: dict[str, Any] | None) -> dict[str, Any]:
    """Every vector file's content, by file name."""
    media = media_vectors(existing_media)
    return {
        "x3dh.json": x3dh_vectors(),
        "session.json": session_vectors(),
        "json.json": json_vectors(),
        "fingerprint.json": fingerprint_vectors(),
        "media.json": media,
        "history.json": history_vectors(media),
    }


def render(content: dict[str, Any]) -> str:
    """The stable text of a vector file."""
    return json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write tests/vectors/*.json")
    parser.add_argument("--check", action="store_true", help="only report changed files")
    args = parser.parse_args(argv)
    media_path = HERE / "media.json"
    existing = json.loads(media_path.read_text()) if media_path.exists() else None
    changed = []
    for name, content in build(existing).items():
        path, text = HERE / name, render(content)
        if not path.exists() or path.read_text() != text:
            changed.append(name)
            if not args.check:
                path.write_text(text)
    print(("changed: " if changed else "unchanged") + ", ".join(changed))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
