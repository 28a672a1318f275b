"""Proof-of-work challenges for guest accounts: stateless, bound to this node by an HMAC.

A challenge is 42 bytes: version ``0x01``, the difficulty (1 byte), the expiry (8 bytes,
ms, big-endian), 16 random bytes, and the first 16 bytes of HMAC-SHA256 keyed by the
node's secret over ``"kontor-guest-challenge-v1" 0x00 <server name> 0x00`` and the 26
bytes before. Handing one out stores nothing; a proof is a nonce such that
SHA-256(challenge || nonce) starts with ``difficulty`` zero bits. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from node.errors import InvalidParameter

VERSION = 1
TTL_MS = 10 * 60 * 1000
LENGTH = 42
MAX_NONCE_BYTES = 32
_DOMAIN = b"kontor-guest-challenge-v1\x00"


def _mac(secret: bytes, server_name: str, body: bytes) -> bytes:
    message = _DOMAIN + server_name.encode() + b"\x00" + body
    return hmac.new(secret, message, hashlib.sha256).digest()[:16]


def make(secret: bytes, server_name: str, difficulty: int, now_ms: int) -> tuple[bytes, int]:
    """A fresh challenge and its expiry (ms)."""
    expires = now_ms + TTL_MS
    body = bytes([VERSION, difficulty]) + expires.to_bytes(8, "big") + secrets.token_bytes(16)
    return body + _mac(secret, server_name, body), expires


def check(secret: bytes, server_name: str, challenge: bytes, now_ms: int) -> tuple[int, int]:
    """The difficulty and expiry of a challenge this node made and that has not expired.

    Raises InvalidParameter: ``INVALID_CHALLENGE`` (malformed, or not made by this node
    with this secret), ``CHALLENGE_EXPIRED``."""
    if len(challenge) != LENGTH or challenge[0] != VERSION:
        raise InvalidParameter("this is not a guest challenge of this node; get a new one "
                               "with POST /guest/challenge", code="INVALID_CHALLENGE")
    body, mac = challenge[:26], challenge[26:]
    if not hmac.compare_digest(mac, _mac(secret, server_name, body)):
        raise InvalidParameter("this is not a guest challenge of this node; get a new one "
                               "with POST /guest/challenge", code="INVALID_CHALLENGE")
    expires = int.from_bytes(body[2:10], "big")
    if now_ms > expires:
        raise InvalidParameter("the challenge has expired; get a new one with POST "
                               "/guest/challenge", code="CHALLENGE_EXPIRED")
    return body[1], expires


def leading_zero_bits(digest: bytes) -> int:
    """Zero bits at the start of ``digest``, most significant bit of byte 0 first."""
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def proof_ok(challenge: bytes, nonce: bytes, difficulty: int) -> bool:
    """Whether SHA-256(challenge || nonce) starts with ``difficulty`` zero bits."""
    return leading_zero_bits(hashlib.sha256(challenge + nonce).digest()) >= difficulty


def solve(challenge: bytes, difficulty: int, max_tries: int = 1 << 30) -> bytes:
    """A nonce (8 bytes, a big-endian counter) proving ``difficulty``; for the Python
    SDK and tests. Raises ValueError after ``max_tries``."""
    for counter in range(max_tries):
        nonce = counter.to_bytes(8, "big")
        if proof_ok(challenge, nonce, difficulty):
            return nonce
    raise ValueError("no proof found")


def challenge_hash(challenge: bytes) -> str:
    """What the node records of a used challenge."""
    return hashlib.sha256(challenge).hexdigest()
