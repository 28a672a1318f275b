"""X3DH key agreement (Signal's specification), over X25519 and HKDF-SHA256.

    DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)
    DH4 = DH(EK_A, OPK_B)   (only when a one-time prekey was used)
    SK  = HKDF(ikm = 0xFF*32 || DH1 || DH2 || DH3 [|| DH4], salt = 0x00*32,
               info = "Kontor X3DH v1", 32 bytes)
    AD  = Ed25519_A || X25519_A || Ed25519_B || X25519_B   (128 bytes)

IK are the devices' X25519 identity keys; AD also binds both Ed25519 signing keys, so a
session is tied to both full device identities.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto.errors import InvalidKey
from crypto.identity import DeviceIdentity
from crypto.kdf import hkdf
from crypto.keys import KEY_SIZE, X25519Key
from crypto.verify import VerifiedBundle

INFO = b"Kontor X3DH v1"
_F = b"\xff" * KEY_SIZE
_SALT = bytes(KEY_SIZE)


@dataclass(frozen=True)
class X3DHResult:
    """The agreed secret, the associated data both sides bind, and EK_A's public key."""

    secret: bytes
    associated_data: bytes
    ephemeral_public: bytes


def associated_data(initiator_signing: bytes, initiator_identity: bytes,
                    responder_signing: bytes, responder_identity: bytes) -> bytes:
    """AD = both identities, Ed25519 then X25519, initiator first (128 bytes)."""
    return initiator_signing + initiator_identity + responder_signing + responder_identity


def _secret(dh_outputs: list[bytes]) -> bytes:
    return hkdf(_F + b"".join(dh_outputs), _SALT, INFO, KEY_SIZE)


def initiate(identity: DeviceIdentity, bundle: VerifiedBundle,
             ephemeral: X25519Key | None = None) -> X3DHResult:
    """The initiator's half, from a verified bundle; raises InvalidKey on a zero DH."""
    ephemeral = ephemeral or X25519Key.generate()
    outputs = [
        identity.dh.exchange(bundle.signed_prekey),
        ephemeral.exchange(bundle.device.identity_key),
        ephemeral.exchange(bundle.signed_prekey),
    ]
    if bundle.one_time_prekey is not None:
        outputs.append(ephemeral.exchange(bundle.one_time_prekey))
    ad = associated_data(identity.signing.public_key, identity.dh.public_key,
                         bundle.device.signing_key, bundle.device.identity_key)
    return X3DHResult(_secret(outputs), ad, ephemeral.public_key)


def respond(identity: DeviceIdentity, signed_prekey: X25519Key,
            one_time_prekey: X25519Key | None, initiator_signing_key: bytes,
            initiator_identity_key: bytes, ephemeral_public: bytes) -> X3DHResult:
    """The responder's half; raises InvalidKey for a bad size or a zero DH."""
    outputs = [
        signed_prekey.exchange(initiator_identity_key),
        identity.dh.exchange(ephemeral_public),
        signed_prekey.exchange(ephemeral_public),
    ]
    if one_time_prekey is not None:
        outputs.append(one_time_prekey.exchange(ephemeral_public))
    if len(initiator_signing_key) != KEY_SIZE:
        raise InvalidKey("initiator Ed25519 key must be 32 bytes")
    ad = associated_data(initiator_signing_key, initiator_identity_key,
                         identity.signing.public_key, identity.dh.public_key)
    return X3DHResult(_secret(outputs), ad, ephemeral_public)
