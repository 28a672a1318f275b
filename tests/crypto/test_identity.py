"""Device identities, key documents and bundle verification."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from crypto.encoding import b64encode
from crypto.errors import BundleError, CryptoError, InvalidKey, SessionStateError
from crypto.identity import (
    DeviceIdentity,
    device_keys_document,
    make_one_time_prekey,
    make_signed_prekey,
    verify_bundle,
    verify_device_keys,
    verify_one_time_prekey,
    verify_signed_prekey,
)
from crypto.keys import X25519Key
from crypto.signing import sign_json
from tests.crypto.factories import BOB, BOB_DEVICE, responder


def test_identity_round_trip_and_refusals() -> None:
    identity = DeviceIdentity.generate()
    data = identity.to_bytes()
    assert len(data) == 65 and data[0] == 1
    again = DeviceIdentity.from_bytes(data)
    assert again.signing.public_key == identity.signing.public_key
    assert again.dh.public_key == identity.dh.public_key
    for bad in (data[:-1], data + b"\x00", b"\x02" + data[1:], b""):
        with pytest.raises(SessionStateError):
            DeviceIdentity.from_bytes(bad)
    assert "private" not in repr(identity.dh) and identity.dh.private.hex() not in repr(identity)


def test_device_keys_document_shape() -> None:
    identity = DeviceIdentity.generate()
    doc = device_keys_document(identity, "anna@shop.example", "DEV")
    assert set(doc) == {"address", "device_id", "algorithms", "keys", "signatures"}
    assert doc["keys"] == {"ed25519:DEV": b64encode(identity.signing.public_key),
                           "x25519:DEV": b64encode(identity.dh.public_key)}
    assert list(doc["signatures"]) == ["anna@shop.example"]
    device = verify_device_keys(doc, "anna@shop.example", "DEV")
    assert device.signing_key == identity.signing.public_key
    assert device.identity_key == identity.dh.public_key
    with pytest.raises(CryptoError):
        device_keys_document(identity, "", "DEV")


def test_prekey_documents() -> None:
    identity = DeviceIdentity.generate()
    device = verify_device_keys(device_keys_document(identity, "a@b", "D"), "a@b", "D")
    fixed = X25519Key.generate()
    key, doc = make_signed_prekey(identity, "spk:1", fixed)
    assert key is fixed and doc["type"] == "signed_prekey"
    assert verify_signed_prekey(doc, device) == ("spk:1", fixed.public_key)
    otk, otk_doc = make_one_time_prekey(identity, "AAAAAQ")
    assert verify_one_time_prekey(otk_doc, device) == ("AAAAAQ", otk.public_key)
    with pytest.raises(BundleError):  # a signed prekey is not a one-time prekey
        verify_one_time_prekey(doc, device)
    with pytest.raises(BundleError):
        verify_signed_prekey(otk_doc, device)
    for bad_id in ("", "x" * 65, "with space", "é"):
        with pytest.raises(InvalidKey):
            make_one_time_prekey(identity, bad_id)


def test_bundle_verifies() -> None:
    bob = responder()
    verified = bob.verified()
    assert verified.device.device_id == BOB_DEVICE and verified.one_time_prekey_id == "otk-1"
    assert verified.signed_prekey == bob.signed_prekey.public_key
    assert bob.one_time_prekey is not None
    assert verified.one_time_prekey == bob.one_time_prekey.public_key
    no_otk = responder(with_otk=False).verified()
    assert no_otk.one_time_prekey is None and no_otk.one_time_prekey_id is None


def _swap_key(doc: dict[str, Any], name: str) -> None:
    doc["keys"][name] = b64encode(X25519Key.generate().public_key)


Tamper = Callable[[dict[str, Any]], None]
TAMPERINGS: dict[str, Tamper] = {
    "device ed25519 key": lambda b: _swap_key(b["device_keys"], f"ed25519:{BOB_DEVICE}"),
    "device x25519 key": lambda b: _swap_key(b["device_keys"], f"x25519:{BOB_DEVICE}"),
    "device signature": lambda b: b["device_keys"]["signatures"][BOB].update(
        {f"ed25519:{BOB_DEVICE}": b64encode(bytes(64))}),
    "device address": lambda b: b["device_keys"].update(address="eve@other.example"),
    "device id": lambda b: b.update(device_id="OTHER"),
    "algorithms": lambda b: b["device_keys"].update(algorithms=["olm"]),
    "extra key": lambda b: b["device_keys"]["keys"].update({"ed25519:X": "AAAA"}),
    "extra member": lambda b: b["device_keys"].update(extra=1),
    "spk key": lambda b: b["signed_prekey"].update(
        key=b64encode(X25519Key.generate().public_key)),
    "spk id": lambda b: b["signed_prekey"].update(key_id="spk-2"),
    "spk signature removed": lambda b: b["signed_prekey"].pop("signatures"),
    "spk small order": lambda b: b["signed_prekey"].update(key=b64encode(bytes(32))),
    "otk key": lambda b: b["one_time_prekey"].update(
        key=b64encode(X25519Key.generate().public_key)),
    "otk type": lambda b: b["one_time_prekey"].update(type="signed_prekey"),
    "otk not a dict": lambda b: b.update(one_time_prekey="x"),
    "missing spk": lambda b: b.pop("signed_prekey"),
    "bundle extra": lambda b: b.update(more=1),
    "device keys not a dict": lambda b: b.update(device_keys=[]),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_bundle_refuses_tampering(name: str) -> None:
    bundle = copy.deepcopy(responder().bundle)
    TAMPERINGS[name](bundle)
    with pytest.raises(BundleError):
        verify_bundle(bundle, BOB)


def test_bundle_refuses_wrong_address_and_foreign_prekeys() -> None:
    bob = responder()
    with pytest.raises(BundleError):
        verify_bundle(bob.bundle, "eve@other.example")
    eve = DeviceIdentity.generate()
    forged = copy.deepcopy(bob.bundle)
    forged["one_time_prekey"] = make_one_time_prekey(eve, "otk-9")[1]
    with pytest.raises(BundleError):
        verify_bundle(forged, BOB)
    # A self-consistent document for another key, signed by that key, is still refused.
    forged = copy.deepcopy(bob.bundle)
    forged["device_keys"] = device_keys_document(eve, BOB, BOB_DEVICE)
    with pytest.raises(BundleError):
        verify_bundle(forged, BOB)
    # Re-signing a modified device document with a different key does not help.
    doc = {k: v for k, v in bob.bundle["device_keys"].items() if k != "signatures"}
    forged["device_keys"] = sign_json(doc, BOB, f"ed25519:{BOB_DEVICE}", eve.signing)
    with pytest.raises(BundleError):
        verify_bundle(forged, BOB)
    with pytest.raises(BundleError):
        verify_bundle("not a bundle", BOB)
