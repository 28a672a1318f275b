"""HKDF with SHA-256 (RFC 5869), on the standard library's one-shot HMAC."""

from __future__ import annotations

import hmac

from crypto.errors import CryptoError

HASH_LEN = 32
MAX_OUTPUT = 255 * HASH_LEN


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract: PRK = HMAC-SHA256(salt, IKM); an empty salt means 32 zero bytes."""
    return hmac.digest(salt or bytes(HASH_LEN), ikm, "sha256")


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand: `length` bytes of T(1) || T(2) || ...; raises CryptoError past 8160."""
    if not 0 <= length <= MAX_OUTPUT:
        raise CryptoError(f"HKDF-SHA256 output must be 0..{MAX_OUTPUT} bytes")
    blocks: list[bytes] = []
    block = b""
    for counter in range(1, -(-length // HASH_LEN) + 1):
        block = hmac.digest(prk, block + info + bytes((counter,)), "sha256")
        blocks.append(block)
    return b"".join(blocks)[:length]


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256(IKM, salt, info) -> `length` bytes (RFC 5869 §2)."""
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)
