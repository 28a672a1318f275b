"""Matrix-style signed JSON: signatures live inside the object they sign.

A signature covers `encode_canonical(obj)` with the "signatures" and "unsigned" members
removed, and is stored as `obj["signatures"][signer][key_id] = b64(signature)`, so one
object can carry signatures from several signers and keys.
"""

from __future__ import annotations

from typing import Any

from crypto.canonicaljson import encode_canonical
from crypto.encoding import b64decode, b64encode
from crypto.errors import CanonicalJsonError, EncodingError, SignatureError
from crypto.keys import SIGNATURE_SIZE, SigningKey, verify_signature

_EXCLUDED = ("signatures", "unsigned")


def signed_bytes(obj: dict[str, Any]) -> bytes:
    """The bytes a signature of `obj` covers; raises CanonicalJsonError."""
    if not isinstance(obj, dict):
        raise CanonicalJsonError("only JSON objects can be signed")
    return encode_canonical({k: v for k, v in obj.items() if k not in _EXCLUDED})


def _signatures(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The object's signatures member, checked to be {signer: {key_id: ...}}."""
    signatures = obj.get("signatures", {})
    if not isinstance(signatures, dict) or not all(
        isinstance(s, str) and isinstance(v, dict) for s, v in signatures.items()
    ):
        raise SignatureError("signatures must be an object of objects")
    return signatures


def sign_json(obj: dict[str, Any], signer: str, key_id: str, key: SigningKey) -> dict[str, Any]:
    """A copy of `obj` with one more signature; other signatures are kept.

    Raises CanonicalJsonError if `obj` is not canonical-JSON-able, SignatureError if
    its existing "signatures" member is malformed.
    """
    signature = key.sign(signed_bytes(obj))
    signatures = {s: dict(v) for s, v in _signatures(obj).items()}
    signatures.setdefault(signer, {})[key_id] = b64encode(signature)
    return {**obj, "signatures": signatures}


def verify_json(obj: dict[str, Any], signer: str, key_id: str, public_key: bytes) -> None:
    """Check `obj["signatures"][signer][key_id]` with an Ed25519 public key.

    Raises SignatureError when the object or signature is missing, malformed or wrong.
    """
    if not isinstance(obj, dict):
        raise SignatureError("only JSON objects carry signatures")
    encoded = _signatures(obj).get(signer, {}).get(key_id)
    if not isinstance(encoded, str):
        raise SignatureError(f"no signature by {signer} with {key_id}")
    try:
        signature = b64decode(encoded, SIGNATURE_SIZE)
        message = signed_bytes(obj)
    except (EncodingError, CanonicalJsonError) as exc:
        raise SignatureError(f"malformed signed object: {exc}") from exc
    verify_signature(public_key, message, signature)


def signature_key_ids(obj: dict[str, Any], signer: str) -> list[str]:
    """The key ids `signer` has signatures under in `obj`, sorted (none: [])."""
    try:
        return sorted(_signatures(obj).get(signer, {}))
    except (SignatureError, AttributeError):
        return []
