"""Safety numbers people compare, and key fingerprints for DNS pins.

The safety number follows Signal's NumericFingerprintGenerator (version 0, 5200
iterations of SHA-512), with two choices of ours: the key hashed is the raw 32-byte
Ed25519 identity key (Signal prefixes a 0x05 type byte), and the stable identifier is
the UTF-8 address.
"""

from __future__ import annotations

import hashlib

from crypto.encoding import b64encode
from crypto.errors import InvalidKey

ITERATIONS = 5200
VERSION = b"\x00\x00"
_CHUNKS = 6


def _half(address: str, identity: bytes) -> str:
    """30 digits for one side: six 5-byte big-endian chunks of the hash, each mod 100000."""
    if not isinstance(identity, bytes) or len(identity) != 32:
        raise InvalidKey("identity key must be 32 bytes")
    digest = VERSION + identity + address.encode("utf-8")
    for _ in range(ITERATIONS):
        digest = hashlib.sha512(digest + identity).digest()
    return "".join(
        f"{int.from_bytes(digest[i * 5:i * 5 + 5], 'big') % 100000:05d}" for i in range(_CHUNKS)
    )


def safety_number(address_a: str, identity_a: bytes, address_b: str, identity_b: bytes) -> str:
    """60 digits in 12 space-separated groups of 5, the same whichever side computes it.

    Raises InvalidKey if an identity key is not 32 bytes.
    """
    digits = "".join(sorted((_half(address_a, identity_a), _half(address_b, identity_b))))
    return " ".join(digits[i:i + 5] for i in range(0, 60, 5))


def key_fingerprint(public_key: bytes) -> str:
    """Unpadded base64url SHA-256 of a public key (the form pinned in DNS TXT records)."""
    return b64encode(hashlib.sha256(public_key).digest())
