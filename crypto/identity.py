"""Device identities and the signed public documents that announce them.

A device has an Ed25519 signing key and an X25519 identity key. It publishes:

- a device keys document, signed by its own Ed25519 key under
  `signatures[address]["ed25519:<device_id>"]`;
- a signed prekey and one-time prekeys, each signed by the same Ed25519 key under
  `signatures["device"]["ed25519:<key_id(signing public key)>"]`, with a "type" member
  ("signed_prekey" / "one_time_prekey") so one kind cannot be passed off as the other.

`verify_bundle` is what an initiator runs on a claimed bundle before X3DH; it refuses
anything whose shape or signatures do not check (BundleError). The exact JSON shapes are
in docs/crypto.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crypto.encoding import b64encode
from crypto.errors import CryptoError, InvalidKey, SessionStateError
from crypto.keys import KEY_SIZE, SigningKey, X25519Key
from crypto.signing import sign_json
from crypto.verify import (
    ALGORITHM,
    KEY_ID_RE,
    PREKEY_SIGNER,
    DeviceKeys,
    VerifiedBundle,
    prekey_signature_key_id,
    verify_bundle,
    verify_device_keys,
    verify_one_time_prekey,
    verify_signed_prekey,
)

__all__ = [
    "ALGORITHM",
    "DeviceIdentity",
    "DeviceKeys",
    "VerifiedBundle",
    "device_keys_document",
    "make_one_time_prekey",
    "make_signed_prekey",
    "verify_bundle",
    "verify_device_keys",
    "verify_one_time_prekey",
    "verify_signed_prekey",
]

IDENTITY_VERSION = 1
IDENTITY_SIZE = 1 + 2 * KEY_SIZE


@dataclass(frozen=True)
class DeviceIdentity:
    """A device's long-term secret keys: Ed25519 for signing, X25519 for X3DH."""

    signing: SigningKey
    dh: X25519Key

    @classmethod
    def generate(cls) -> DeviceIdentity:
        """Fresh random keys (inject your own through the constructor)."""
        return cls(SigningKey.generate(), X25519Key.generate())

    def to_bytes(self) -> bytes:
        """Secret serialisation: version (1) || Ed25519 seed (32) || X25519 private (32)."""
        return bytes((IDENTITY_VERSION,)) + self.signing.seed + self.dh.private

    @classmethod
    def from_bytes(cls, data: bytes) -> DeviceIdentity:
        """Inverse of to_bytes; raises SessionStateError for a bad size or version."""
        if not isinstance(data, bytes) or len(data) != IDENTITY_SIZE:
            raise SessionStateError(f"device identity must be {IDENTITY_SIZE} bytes")
        if data[0] != IDENTITY_VERSION:
            raise SessionStateError(f"unknown device identity version {data[0]}")
        return cls(SigningKey.from_seed(data[1:33]), X25519Key.from_private(data[33:65]))


def _check_name(value: str, what: str) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise CryptoError(f"{what} must be a string of 1..255 characters")


def _check_key_id(value: str) -> None:
    if not isinstance(value, str) or KEY_ID_RE.fullmatch(value) is None:
        raise InvalidKey("prekey key_id must be 1..64 characters of [A-Za-z0-9_:.-]")


def device_keys_document(identity: DeviceIdentity, address: str, device_id: str) -> dict[str, Any]:
    """The device's public keys, self-signed; raises CryptoError for bad names."""
    _check_name(address, "address")
    _check_name(device_id, "device_id")
    doc = {
        "address": address,
        "device_id": device_id,
        "algorithms": [ALGORITHM],
        "keys": {
            f"ed25519:{device_id}": b64encode(identity.signing.public_key),
            f"x25519:{device_id}": b64encode(identity.dh.public_key),
        },
    }
    return sign_json(doc, address, f"ed25519:{device_id}", identity.signing)


def _prekey_document(identity: DeviceIdentity, kind: str, prekey_id: str,
                     key: X25519Key | None) -> tuple[X25519Key, dict[str, Any]]:
    _check_key_id(prekey_id)
    key = key or X25519Key.generate()
    doc = {"key_id": prekey_id, "key": b64encode(key.public_key), "type": kind}
    signer_key_id = prekey_signature_key_id(identity.signing.public_key)
    return key, sign_json(doc, PREKEY_SIGNER, signer_key_id, identity.signing)


def make_signed_prekey(identity: DeviceIdentity, key_id: str,
                       key: X25519Key | None = None) -> tuple[X25519Key, dict[str, Any]]:
    """A signed prekey (fresh unless `key` is given) and its signed document.

    Raises InvalidKey if `key_id` is not 1..64 characters of [A-Za-z0-9_:.-].
    """
    return _prekey_document(identity, "signed_prekey", key_id, key)


def make_one_time_prekey(identity: DeviceIdentity, key_id: str,
                         key: X25519Key | None = None) -> tuple[X25519Key, dict[str, Any]]:
    """A one-time prekey and its signed document (signed so a node cannot inject one)."""
    return _prekey_document(identity, "one_time_prekey", key_id, key)

