"""Ed25519 signing keys, X25519 exchange keys, and short key ids.

Thin nouns over libsodium (PyNaCl bindings). Private material can always be injected
(`from_seed`, `from_private`) so known-answer tests and vectors are deterministic.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from nacl import bindings
from nacl.exceptions import BadSignatureError
from nacl.exceptions import CryptoError as NaclCryptoError

from crypto.encoding import b64encode
from crypto.errors import InvalidKey, SignatureError

KEY_SIZE = 32
SIGNATURE_SIZE = 64
_ZERO = bytes(KEY_SIZE)
# A clamped scalar is a multiple of 8, so it sends every small-order point to zero.
_SMALL_ORDER_PROBE = bytes([0x01] * KEY_SIZE)


def _check_size(value: bytes, name: str, size: int = KEY_SIZE) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != size:
        raise InvalidKey(f"{name} must be {size} bytes")
    return bytes(value)


class SigningKey:
    """An Ed25519 key pair made from a 32-byte seed (RFC 8032 §5.1.5)."""

    __slots__ = ("_seed", "_secret", "public_key")

    def __init__(self, seed: bytes) -> None:
        self._seed = _check_size(seed, "Ed25519 seed")
        self.public_key, self._secret = bindings.crypto_sign_seed_keypair(self._seed)

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from os.urandom."""
        return cls(os.urandom(KEY_SIZE))

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """The key for a given 32-byte seed; raises InvalidKey for another size."""
        return cls(seed)

    @property
    def seed(self) -> bytes:
        """The 32-byte secret seed."""
        return self._seed

    def sign(self, message: bytes) -> bytes:
        """A 64-byte detached Ed25519 signature of `message`."""
        return bindings.crypto_sign(message, self._secret)[:SIGNATURE_SIZE]

    def __repr__(self) -> str:
        return f"SigningKey(public={b64encode(self.public_key)})"


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Check an Ed25519 signature; raises SignatureError when it is malformed or wrong."""
    if not isinstance(public_key, bytes) or len(public_key) != KEY_SIZE:
        raise SignatureError("Ed25519 public key must be 32 bytes")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
        raise SignatureError("Ed25519 signature must be 64 bytes")
    try:
        bindings.crypto_sign_open(signature + message, public_key)
    except (BadSignatureError, NaclCryptoError, ValueError) as exc:
        raise SignatureError("bad signature") from exc


class X25519Key:
    """An X25519 key pair (RFC 7748); the private scalar is clamped by libsodium."""

    __slots__ = ("_private", "public_key")

    def __init__(self, private: bytes) -> None:
        self._private = _check_size(private, "X25519 private key")
        self.public_key: bytes = bindings.crypto_scalarmult_base(self._private)

    @classmethod
    def generate(cls) -> X25519Key:
        """A fresh key from os.urandom."""
        return cls(os.urandom(KEY_SIZE))

    @classmethod
    def from_private(cls, private: bytes) -> X25519Key:
        """The key for 32 given private bytes; raises InvalidKey for another size."""
        return cls(private)

    @property
    def private(self) -> bytes:
        """The 32 private bytes as given (before clamping)."""
        return self._private

    def exchange(self, peer_public: bytes) -> bytes:
        """X25519(private, peer_public); raises InvalidKey for a bad size or a zero result."""
        return x25519(self._private, peer_public)

    def __repr__(self) -> str:
        return f"X25519Key(public={b64encode(self.public_key)})"


def x25519(private: bytes, peer_public: bytes) -> bytes:
    """The raw X25519 function; raises InvalidKey on a bad size or the all-zero output."""
    if len(peer_public) != KEY_SIZE:
        raise InvalidKey("X25519 public key must be 32 bytes")
    try:
        shared = bindings.crypto_scalarmult(private, peer_public)
    except (RuntimeError, NaclCryptoError, TypeError) as exc:
        raise InvalidKey("X25519 exchange failed (small-order public key)") from exc
    if hmac.compare_digest(shared, _ZERO):
        raise InvalidKey("X25519 exchange gave the all-zero output")
    return shared


def check_x25519_public(public_key: bytes) -> bytes:
    """Refuse an X25519 public key of the wrong size or of small order (InvalidKey)."""
    _check_size(public_key, "X25519 public key")
    x25519(_SMALL_ORDER_PROBE, public_key)
    return bytes(public_key)


def key_id(public_key: bytes) -> str:
    """A short id for a public key: unpadded base64url of SHA-256(key)[:6] (8 characters)."""
    return b64encode(hashlib.sha256(public_key).digest()[:6])
