"""Verification of device keys documents, prekeys and claimed bundles (BundleError)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from crypto.encoding import b64decode
from crypto.errors import BundleError, CryptoError
from crypto.keys import KEY_SIZE, check_x25519_public, key_id
from crypto.signing import verify_json

ALGORITHM = "x3dh-xchacha20poly1305-v1"
PREKEY_SIGNER = "device"
KEY_ID_RE = re.compile(r"[A-Za-z0-9_:.-]{1,64}")
_DEVICE_FIELDS = {"address", "device_id", "algorithms", "keys", "signatures", "unsigned"}
_PREKEY_FIELDS = {"key_id", "key", "type", "signatures", "unsigned"}
_BUNDLE_FIELDS = {"device_id", "device_keys", "signed_prekey", "one_time_prekey"}


@dataclass(frozen=True)
class DeviceKeys:
    """A device's verified public keys."""

    address: str
    device_id: str
    signing_key: bytes
    identity_key: bytes


@dataclass(frozen=True)
class VerifiedBundle:
    """A prekey bundle whose every signature checked: the input to X3DH."""

    device: DeviceKeys
    signed_prekey_id: str
    signed_prekey: bytes
    one_time_prekey_id: str | None
    one_time_prekey: bytes | None


def prekey_signature_key_id(signing_public_key: bytes) -> str:
    """The key id prekey documents are signed under: "ed25519:" + key_id(signing key)."""
    return f"ed25519:{key_id(signing_public_key)}"


def _key(value: Any, what: str) -> bytes:
    try:
        return b64decode(value, KEY_SIZE)
    except CryptoError as exc:
        raise BundleError(f"{what}: {exc}") from exc


def verify_device_keys(doc: Any, address: str, device_id: str) -> DeviceKeys:
    """Check a device keys document names `address`/`device_id` and is self-signed.

    Raises BundleError for a wrong shape, other names, a bad key or a bad signature.
    """
    if not isinstance(doc, dict) or not set(doc) <= _DEVICE_FIELDS:
        raise BundleError("device keys must be an object with the documented members")
    if doc.get("address") != address or doc.get("device_id") != device_id:
        raise BundleError("device keys name another account or device")
    algorithms = doc.get("algorithms")
    if not isinstance(algorithms, list) or ALGORITHM not in algorithms:
        raise BundleError(f"device does not support {ALGORITHM}")
    keys = doc.get("keys")
    if not isinstance(keys, dict) or set(keys) != {f"ed25519:{device_id}", f"x25519:{device_id}"}:
        raise BundleError("device keys need exactly the Ed25519 and X25519 keys of the device")
    signing_key = _key(keys.get(f"ed25519:{device_id}"), "Ed25519 key")
    identity_key = _key(keys.get(f"x25519:{device_id}"), "X25519 key")
    try:
        check_x25519_public(identity_key)
        verify_json(doc, address, f"ed25519:{device_id}", signing_key)
    except CryptoError as exc:
        raise BundleError(f"device keys: {exc}") from exc
    return DeviceKeys(address, device_id, signing_key, identity_key)


def _verify_prekey(doc: Any, device: DeviceKeys, kind: str) -> tuple[str, bytes]:
    if not isinstance(doc, dict) or not set(doc) <= _PREKEY_FIELDS:
        raise BundleError(f"{kind} must be an object with the documented members")
    if doc.get("type") != kind:
        raise BundleError(f"document is not a {kind}")
    prekey_id = doc.get("key_id")
    if not isinstance(prekey_id, str) or KEY_ID_RE.fullmatch(prekey_id) is None:
        raise BundleError(f"{kind} key_id must be 1..64 characters of [A-Za-z0-9_:.-]")
    public = _key(doc.get("key"), kind)
    try:
        check_x25519_public(public)
        verify_json(doc, PREKEY_SIGNER, prekey_signature_key_id(device.signing_key),
                    device.signing_key)
    except CryptoError as exc:
        raise BundleError(f"{kind}: {exc}") from exc
    return prekey_id, public


def verify_signed_prekey(doc: Any, device: DeviceKeys) -> tuple[str, bytes]:
    """(key_id, public key) of a signed prekey signed by `device`; raises BundleError."""
    return _verify_prekey(doc, device, "signed_prekey")


def verify_one_time_prekey(doc: Any, device: DeviceKeys) -> tuple[str, bytes]:
    """(key_id, public key) of a one-time prekey signed by `device`; raises BundleError."""
    return _verify_prekey(doc, device, "one_time_prekey")


def verify_bundle(bundle: Any, address: str) -> VerifiedBundle:
    """Verify a claimed bundle for a device of `address`; raises BundleError.

    `bundle` is {"device_id", "device_keys", "signed_prekey", "one_time_prekey"}, the
    last one a document or None.
    """
    if not isinstance(bundle, dict) or not set(bundle) <= _BUNDLE_FIELDS:
        raise BundleError("bundle must be an object with the documented members")
    device_id = bundle.get("device_id")
    if not isinstance(device_id, str):
        raise BundleError("bundle needs a device_id")
    device = verify_device_keys(bundle.get("device_keys"), address, device_id)
    spk_id, spk = verify_signed_prekey(bundle.get("signed_prekey"), device)
    otk_doc = bundle.get("one_time_prekey")
    otk_id, otk = (None, None) if otk_doc is None else verify_one_time_prekey(otk_doc, device)
    return VerifiedBundle(device, spk_id, spk, otk_id, otk)
