"""The Double Ratchet (Signal's specification), with XChaCha20-Poly1305.

    KDF_RK(rk, dh)  = HKDF-SHA256(ikm = dh, salt = rk, info = "Kontor Ratchet v1 root", 64)
                      -> (new root key, chain key)
    KDF_CK(ck)      = HMAC-SHA256(ck, 0x01) -> message key, HMAC-SHA256(ck, 0x02) -> next ck
    message key mk  -> HKDF-SHA256(ikm = mk, salt = 0x00*32,
                                   info = "Kontor Ratchet v1 message", 56)
                      = AEAD key (32) || XChaCha20 nonce (24)
    ciphertext      = XChaCha20-Poly1305(key, nonce, plaintext, AD = X3DH AD || header)
    header (41)     = version 0x01 || ratchet public key (32) || PN (u32 BE) || N (u32 BE)

Two departures in shape only, not in result: the next sending ratchet key is made when
the first message of a new sending chain is encrypted (not during decryption), so
decryption needs no randomness and `encrypt` can take an injected key; and decryption
is transactional: every derived value is kept in locals and the state is changed only
after the AEAD accepted the message, so a forged, altered, replayed or truncated
message leaves the state exactly as it was.

Limits: at most MAX_SKIP message keys are skipped per chain per message
(TooManySkipped beyond), at most MAX_SKIPPED_KEYS are stored (oldest evicted), and the
lengths of the last MAX_PREVIOUS_CHAINS receiving chains are kept to tell a replay
(DuplicateMessage) from a forgery.
"""

from __future__ import annotations

import hmac
import struct

from nacl import bindings
from nacl.exceptions import CryptoError as NaclCryptoError

from crypto.errors import (
    DecryptionError,
    DuplicateMessage,
    InvalidKey,
    SessionStateError,
    TooManySkipped,
)
from crypto.keys import KEY_SIZE, X25519Key, x25519

VERSION = 1
HEADER = struct.Struct(">B32sII")
HEADER_SIZE = HEADER.size
TAG_SIZE = 16
MAX_SKIP = 1000
MAX_SKIPPED_KEYS = 2000
MAX_PREVIOUS_CHAINS = 64
MAX_COUNTER = 2**32 - 1
MAX_AD_SIZE = 1024
ROOT_INFO = b"Kontor Ratchet v1 root"
MESSAGE_INFO = b"Kontor Ratchet v1 message"

_ZERO_SALT = bytes(32)
_INFO_1 = MESSAGE_INFO + b"\x01"
_INFO_2 = MESSAGE_INFO + b"\x02"
_ROOT_1 = ROOT_INFO + b"\x01"
_ROOT_2 = ROOT_INFO + b"\x02"
_digest = hmac.digest
_seal = bindings.crypto_aead_xchacha20poly1305_ietf_encrypt
_open_aead = bindings.crypto_aead_xchacha20poly1305_ietf_decrypt


def kdf_rk(root_key: bytes, dh_output: bytes) -> tuple[bytes, bytes]:
    """KDF_RK: HKDF-SHA256(salt=root key, ikm=DH output) -> (root key, chain key)."""
    prk = _digest(root_key, dh_output, "sha256")
    first = _digest(prk, _ROOT_1, "sha256")
    return first, _digest(prk, first + _ROOT_2, "sha256")


def kdf_ck(chain_key: bytes) -> tuple[bytes, bytes]:
    """KDF_CK: (message key, next chain key) = HMAC(ck, 0x01), HMAC(ck, 0x02)."""
    return _digest(chain_key, b"\x01", "sha256"), _digest(chain_key, b"\x02", "sha256")


def message_keys(message_key: bytes) -> tuple[bytes, bytes]:
    """HKDF-SHA256(mk, zero salt, MESSAGE_INFO, 56) -> (AEAD key (32), nonce (24))."""
    prk = _digest(_ZERO_SALT, message_key, "sha256")
    first = _digest(prk, _INFO_1, "sha256")
    return first, _digest(prk, first + _INFO_2, "sha256")[:24]


def _open(message_key: bytes, ciphertext: bytes, ad: bytes) -> bytes:
    key, nonce = message_keys(message_key)
    try:
        return _open_aead(ciphertext, ad, nonce, key)
    except NaclCryptoError as exc:
        raise DecryptionError("message altered, truncated or not for this session") from exc


def _skip(chain_key: bytes, start: int, until: int) -> tuple[list[bytes], bytes]:
    """Message keys start..until-1 of a chain and the chain key after them."""
    if until - start > MAX_SKIP:
        raise TooManySkipped(f"message would skip {until - start} keys (limit {MAX_SKIP})")
    keys = []
    for _ in range(start, until):
        keys.append(_digest(chain_key, b"\x01", "sha256"))
        chain_key = _digest(chain_key, b"\x02", "sha256")
    return keys, chain_key


class Ratchet:
    """One side of a Double Ratchet conversation; see the module docstring."""

    __slots__ = ("_ad", "_dhs", "_dhr", "_rk", "_cks", "_ckr", "_ns", "_nr", "_pn",
                 "_skipped", "_previous")

    def __init__(self, ad: bytes, dhs: X25519Key, dhr: bytes | None, rk: bytes,
                 cks: bytes | None, ckr: bytes | None, ns: int = 0, nr: int = 0,
                 pn: int = 0) -> None:
        self._ad, self._dhs, self._dhr, self._rk = ad, dhs, dhr, rk
        self._cks, self._ckr, self._ns, self._nr, self._pn = cks, ckr, ns, nr, pn
        self._skipped: dict[tuple[bytes, int], bytes] = {}
        self._previous: dict[bytes, int] = {}

    @classmethod
    def initiator(cls, secret: bytes, ad: bytes, remote_ratchet_key: bytes,
                  ratchet_key: X25519Key | None = None) -> Ratchet:
        """RatchetInitAlice: the remote key is the responder's signed prekey."""
        dhs = ratchet_key or X25519Key.generate()
        rk, cks = kdf_rk(secret, dhs.exchange(remote_ratchet_key))
        return cls(ad, dhs, remote_ratchet_key, rk, cks, None)

    @classmethod
    def responder(cls, secret: bytes, ad: bytes, ratchet_key: X25519Key) -> Ratchet:
        """RatchetInitBob: the first ratchet key pair is the signed prekey."""
        return cls(ad, ratchet_key, None, secret, None, None)

    @property
    def associated_data(self) -> bytes:
        """The X3DH associated data every message of this session binds."""
        return self._ad

    def encrypt(self, plaintext: bytes, ratchet_key: X25519Key | None = None) -> bytes:
        """header || ciphertext. `ratchet_key` is used only when a new sending chain starts.

        Raises SessionStateError before the first message has been received (responder)
        or when the message counter is exhausted.
        """
        if self._cks is None:
            if self._dhr is None:
                raise SessionStateError("cannot send before the first message is received")
            new = ratchet_key or X25519Key.generate()
            self._rk, self._cks = kdf_rk(self._rk, new.exchange(self._dhr))
            self._dhs = new
        if self._ns >= MAX_COUNTER:
            raise SessionStateError("sending chain exhausted")
        chain_key = self._cks
        mk = _digest(chain_key, b"\x01", "sha256")
        self._cks = _digest(chain_key, b"\x02", "sha256")
        header = HEADER.pack(VERSION, self._dhs.public_key, self._pn, self._ns)
        self._ns += 1
        key, nonce = message_keys(mk)
        return header + _seal(plaintext, self._ad + header, nonce, key)

    def decrypt(self, message: bytes) -> bytes:
        """The plaintext of header || ciphertext; the state changes only on success.

        Raises DecryptionError (altered, truncated, wrong session), DuplicateMessage
        (key already used), TooManySkipped (too far ahead).
        """
        if not isinstance(message, bytes) or len(message) < HEADER_SIZE + TAG_SIZE:
            raise DecryptionError("message too short")
        version, dh, pn, n = HEADER.unpack_from(message)
        if version != VERSION:
            raise DecryptionError(f"unknown ratchet header version {version}")
        ad = self._ad + message[:HEADER_SIZE]
        ciphertext = message[HEADER_SIZE:]
        mk = self._skipped.get((dh, n))
        if mk is not None:
            plaintext = _open(mk, ciphertext, ad)
            del self._skipped[(dh, n)]
            return plaintext
        if dh == self._dhr:
            return self._decrypt_current(dh, n, ciphertext, ad)
        known = self._previous.get(dh)
        if known is not None:
            if n < known:
                raise DuplicateMessage("message key already used")
            raise DecryptionError("message beyond the end of a finished chain")
        return self._decrypt_new_chain(dh, pn, n, ciphertext, ad)

    def _decrypt_current(self, dh: bytes, n: int, ciphertext: bytes, ad: bytes) -> bytes:
        if self._ckr is None:
            raise DecryptionError("no receiving chain for this ratchet key")
        if n < self._nr:
            raise DuplicateMessage("message key already used")
        skipped, chain_key = _skip(self._ckr, self._nr, n)
        mk = _digest(chain_key, b"\x01", "sha256")
        plaintext = _open(mk, ciphertext, ad)
        self._ckr = _digest(chain_key, b"\x02", "sha256")
        self._store(dh, self._nr, skipped)
        self._nr = n + 1
        return plaintext

    def _decrypt_new_chain(self, dh: bytes, pn: int, n: int, ciphertext: bytes,
                           ad: bytes) -> bytes:
        old_skipped: list[bytes] = []
        if self._ckr is not None:
            old_skipped, _ = _skip(self._ckr, self._nr, pn)
        try:
            rk, chain_key = kdf_rk(self._rk, x25519(self._dhs.private, dh))
        except InvalidKey as exc:
            raise DecryptionError("bad ratchet key in header") from exc
        new_skipped, chain_key = _skip(chain_key, 0, n)
        plaintext = _open(_digest(chain_key, b"\x01", "sha256"), ciphertext, ad)
        if self._dhr is not None and self._ckr is not None:
            self._store(self._dhr, self._nr, old_skipped)
            self._remember(self._dhr, max(pn, self._nr))
        self._store(dh, 0, new_skipped)
        self._dhr, self._rk, self._ckr = dh, rk, _digest(chain_key, b"\x02", "sha256")
        self._nr = n + 1
        self._pn, self._ns, self._cks = self._ns, 0, None
        return plaintext

    def _store(self, dh: bytes, start: int, keys: list[bytes]) -> None:
        skipped = self._skipped
        for offset, mk in enumerate(keys):
            skipped[(dh, start + offset)] = mk
        while len(skipped) > MAX_SKIPPED_KEYS:
            del skipped[next(iter(skipped))]

    def _remember(self, dh: bytes, length: int) -> None:
        self._previous[dh] = length
        while len(self._previous) > MAX_PREVIOUS_CHAINS:
            del self._previous[next(iter(self._previous))]

    def to_bytes(self) -> bytes:
        """Versioned serialisation of the whole state, skipped keys included (secret).

        version (1) | flags (1: 1 = DHr, 2 = CKs, 4 = CKr) | Ns, Nr, PN (u32 each) |
        AD length (u16) | AD | DHs private (32) | RK (32) | [DHr] [CKs] [CKr] (32 each) |
        count (u16) of previous chains, each key (32) + length (u32) |
        count (u16) of skipped keys, each ratchet key (32) + N (u32) + message key (32)
        """
        flags = ((self._dhr is not None) | (self._cks is not None) << 1
                 | (self._ckr is not None) << 2)
        parts = [_STATE_HEAD.pack(STATE_VERSION, flags, self._ns, self._nr, self._pn,
                                  len(self._ad)),
                 self._ad, self._dhs.private, self._rk]
        parts += [value for value in (self._dhr, self._cks, self._ckr) if value is not None]
        parts.append(_COUNT.pack(len(self._previous)))
        parts += [dh + _U32.pack(length) for dh, length in self._previous.items()]
        parts.append(_COUNT.pack(len(self._skipped)))
        parts += [dh + _U32.pack(n) + mk for (dh, n), mk in self._skipped.items()]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> Ratchet:
        """Inverse of to_bytes; raises SessionStateError for anything malformed."""
        if not isinstance(data, bytes):
            raise SessionStateError("ratchet state must be bytes")
        try:
            return _load(data)
        except (struct.error, IndexError) as exc:
            raise SessionStateError("ratchet state truncated") from exc


STATE_VERSION = 1
_STATE_HEAD = struct.Struct(">BBIIIH")
_COUNT = struct.Struct(">H")
_U32 = struct.Struct(">I")


def _load(data: bytes) -> Ratchet:
    version, flags, ns, nr, pn, ad_len = _STATE_HEAD.unpack_from(data)
    if version != STATE_VERSION or flags > 7 or ad_len > MAX_AD_SIZE:
        raise SessionStateError("unknown ratchet state version or flags")
    pos = _STATE_HEAD.size

    def take(size: int) -> bytes:
        nonlocal pos
        if pos + size > len(data):
            raise SessionStateError("ratchet state truncated")
        pos += size
        return data[pos - size:pos]

    ad = take(ad_len)
    dhs, rk = X25519Key.from_private(take(KEY_SIZE)), take(KEY_SIZE)
    dhr, cks, ckr = (take(KEY_SIZE) if flags & bit else None for bit in (1, 2, 4))
    if ckr is not None and dhr is None:
        raise SessionStateError("receiving chain without a ratchet key")
    ratchet = Ratchet(ad, dhs, dhr, rk, cks, ckr, ns, nr, pn)
    (count,) = _COUNT.unpack(take(2))
    if count > MAX_PREVIOUS_CHAINS:
        raise SessionStateError("too many previous chains")
    for _ in range(count):
        dh = take(KEY_SIZE)
        ratchet._previous[dh] = _U32.unpack(take(4))[0]
    (count,) = _COUNT.unpack(take(2))
    if count > MAX_SKIPPED_KEYS:
        raise SessionStateError("too many skipped keys")
    for _ in range(count):
        dh, n = take(KEY_SIZE), _U32.unpack(take(4))[0]
        ratchet._skipped[(dh, n)] = take(KEY_SIZE)
    if pos != len(data):
        raise SessionStateError("trailing bytes after ratchet state")
    return ratchet
