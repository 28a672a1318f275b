"""Node key documents, the pure part: building our own and checking a peer's.

A key document is self-signed with the node's current key (docs/protocol.md, "Key
document")::

    {"server_name": "shop.example",
     "keys": {"ed25519:AbCdEfGh": {"key": "<b64url public key>"}},
     "old_keys": {"ed25519:XyZ01234": {"key": "...", "expired_ms": 1764000000000}},
     "valid_until_ms": 1764086400000,
     "signatures": {"shop.example": {"ed25519:AbCdEfGh": "<b64url signature>"}}}

No I/O and no storage here, so the client SDK checks business documents with the
same code (``node.protocol.documents``); ``federation.keys`` fetches and caches.
"""

from __future__ import annotations

from typing import Any

from crypto.encoding import b64decode, b64encode
from crypto.errors import CryptoError
from crypto.keys import SigningKey
from crypto.signing import sign_json, verify_json
from federation.errors import FederationError

KEY_ID_PREFIX = "ed25519:"
DOCUMENT_LIFETIME_MS = 24 * 3600 * 1000
MAX_CACHE_MS = 24 * 3600 * 1000
MAX_KEYS = 32


class KeyLookupError(FederationError):
    """A key cannot be found or trusted; ``code`` says why."""

    status = 401

    def __init__(self, message: str, code: str = "UNKNOWN_KEY") -> None:
        super().__init__(message, code=code)


def own_document(server_name: str, key_id: str, key: SigningKey,
                 old_keys: list[dict[str, Any]], now_ms: int) -> dict[str, Any]:
    """Our key document: the current key, old keys with their expiry, self-signed."""
    doc = {
        "server_name": server_name,
        "keys": {key_id: {"key": b64encode(key.public_key)}},
        "old_keys": {k["key_id"]: {"key": k["public_key"], "expired_ms": k["expired_ms"]}
                     for k in old_keys if k["key_id"] != key_id and k["expired_ms"]},
        "valid_until_ms": now_ms + DOCUMENT_LIFETIME_MS,
    }
    return sign_json(doc, server_name, key_id, key)


def check_document(doc: Any, server_name: str, now_ms: int
                   ) -> tuple[list[tuple[str, str, int | None]], int, bytes]:
    """Verify a fetched key document of ``server_name``.

    Returns ([(key id, b64 key, expired_ms or None)], valid_until_ms, current key) or
    raises KeyLookupError naming what is wrong.
    """
    if not isinstance(doc, dict) or doc.get("server_name") != server_name:
        raise KeyLookupError(f"the key document of {server_name} names another server",
                        "BAD_KEY_DOCUMENT")
    current, old = doc.get("keys"), doc.get("old_keys", {})
    valid_until = doc.get("valid_until_ms")
    if (not isinstance(current, dict) or len(current) != 1 or not isinstance(old, dict)
            or len(old) > MAX_KEYS or not isinstance(valid_until, int)
            or isinstance(valid_until, bool)):
        raise KeyLookupError(f"the key document of {server_name} is malformed", "BAD_KEY_DOCUMENT")
    if valid_until < now_ms:
        raise KeyLookupError(f"the key document of {server_name} has expired", "BAD_KEY_DOCUMENT")
    out: list[tuple[str, str, int | None]] = []
    [(current_id, entry)] = current.items()
    public = _key_of(entry, server_name)
    try:
        verify_json(doc, server_name, current_id, public)
    except CryptoError as exc:
        raise KeyLookupError(f"the key document of {server_name} is not signed by its key "
                        f"({exc})", "BAD_KEY_DOCUMENT") from None
    out.append((current_id, b64encode(public), None))
    for key_id, entry in old.items():
        expired = entry.get("expired_ms") if isinstance(entry, dict) else None
        if not isinstance(expired, int) or isinstance(expired, bool):
            raise KeyLookupError(f"old key {key_id} of {server_name} has no expiry",
                            "BAD_KEY_DOCUMENT")
        out.append((key_id, b64encode(_key_of(entry, server_name)), expired))
    return out, min(valid_until, now_ms + MAX_CACHE_MS), public


def _key_of(entry: Any, server_name: str) -> bytes:
    try:
        return b64decode(entry["key"], 32)
    except (CryptoError, KeyError, TypeError):
        raise KeyLookupError(f"a key in the document of {server_name} is malformed",
                        "BAD_KEY_DOCUMENT") from None
