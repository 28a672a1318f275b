"""Pairwise device sessions (X3DH then the Double Ratchet) and their wire format.

Wire message (all integers big-endian; byte layouts in docs/crypto.md):

    normal:  0x01 | 0x02 | ratchet header (41) | ciphertext
    prekey:  0x01 | 0x01 | initiator Ed25519 (32) | initiator X25519 (32) | ephemeral (32)
             | len (1) | signed prekey id | len (1, 0 = none) | one-time prekey id
             | ratchet header (41) | ciphertext

The initiator sends prekey messages until it has decrypted a first reply, so the
responder can build the session from whichever of them arrives first.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from crypto.errors import DecryptionError, InvalidKey, MessageTooLarge, SessionStateError
from crypto.identity import DeviceIdentity
from crypto.keys import KEY_SIZE, X25519Key
from crypto.ratchet import HEADER_SIZE, TAG_SIZE, Ratchet
from crypto.verify import KEY_ID_RE, VerifiedBundle
from crypto.x3dh import initiate as x3dh_initiate
from crypto.x3dh import respond as x3dh_respond

WIRE_VERSION = 1
TYPE_PREKEY = 1
TYPE_NORMAL = 2
MAX_MESSAGE_SIZE = 49152  # 64 KiB once base64url-encoded, the node's envelope limit
MAX_PLAINTEXT_SIZE = MAX_MESSAGE_SIZE - 512
STATE_VERSION = 1
_NORMAL_PREFIX = bytes((WIRE_VERSION, TYPE_NORMAL))
_PREKEY_PREFIX = bytes((WIRE_VERSION, TYPE_PREKEY))
_STATE_HEAD = struct.Struct(">BB32s32sH")
_FLAG_INITIATOR, _FLAG_PENDING = 1, 2

__all__ = ["MAX_MESSAGE_SIZE", "MAX_PLAINTEXT_SIZE", "MessageTooLarge", "PrekeyInfo", "Session",
           "peek_prekey"]


@dataclass(frozen=True)
class PrekeyInfo:
    """What a prekey message tells the responder before anything is decrypted."""

    signed_prekey_id: str
    one_time_prekey_id: str | None
    initiator_signing_key: bytes
    initiator_identity_key: bytes
    ephemeral_key: bytes

    def to_bytes(self) -> bytes:
        """The prekey fields as they appear on the wire after the two leading bytes."""
        spk = self.signed_prekey_id.encode("ascii")
        otk = (self.one_time_prekey_id or "").encode("ascii")
        return (self.initiator_signing_key + self.initiator_identity_key + self.ephemeral_key
                + bytes((len(spk),)) + spk + bytes((len(otk),)) + otk)


def _prekey_id(data: bytes, pos: int, optional: bool) -> tuple[str | None, int]:
    size = data[pos]
    if size == 0 and optional:
        return None, pos + 1
    text = data[pos + 1:pos + 1 + size].decode("ascii", "replace")
    if len(text) != size or KEY_ID_RE.fullmatch(text) is None:
        raise DecryptionError("malformed prekey id")
    return text, pos + 1 + size


def _parse(message: bytes) -> tuple[PrekeyInfo | None, bytes]:
    """Split a wire message into its prekey fields (or None) and the ratchet message."""
    if not isinstance(message, bytes):
        raise DecryptionError("message must be bytes")
    if len(message) > MAX_MESSAGE_SIZE:
        raise DecryptionError(f"message larger than {MAX_MESSAGE_SIZE} bytes")
    if len(message) < 2 or message[0] != WIRE_VERSION:
        raise DecryptionError("unknown message version")
    info = None
    if message[1] == TYPE_NORMAL:
        body = message[2:]
    elif message[1] == TYPE_PREKEY:
        try:
            keys = [message[2 + i * KEY_SIZE:2 + (i + 1) * KEY_SIZE] for i in range(3)]
            spk_id, pos = _prekey_id(message, 2 + 3 * KEY_SIZE, optional=False)
            otk_id, pos = _prekey_id(message, pos, optional=True)
        except IndexError as exc:
            raise DecryptionError("prekey message truncated") from exc
        info = PrekeyInfo(str(spk_id), otk_id, keys[0], keys[1], keys[2])
        body = message[pos:]
    else:
        raise DecryptionError(f"unknown message type {message[1]}")
    if len(body) < HEADER_SIZE + TAG_SIZE:
        raise DecryptionError("message truncated")
    return info, body


def peek_prekey(message: bytes) -> PrekeyInfo | None:
    """The prekey fields of a prekey message, None for a normal one (DecryptionError if bad)."""
    return _parse(message)[0]


class Session:
    """A Double Ratchet session with one remote device."""

    __slots__ = ("_ratchet", "_remote_signing", "_remote_identity", "_prekey", "_flags")

    def __init__(self, ratchet: Ratchet, remote_signing: bytes, remote_identity: bytes,
                 prekey: PrekeyInfo, flags: int) -> None:
        self._ratchet = ratchet
        self._remote_signing, self._remote_identity = remote_signing, remote_identity
        self._prekey, self._flags = prekey, flags

    @classmethod
    def initiate(cls, identity: DeviceIdentity, bundle: VerifiedBundle,
                 ephemeral: X25519Key | None = None,
                 ratchet_key: X25519Key | None = None) -> Session:
        """Start a session from a verified bundle (keys injectable for tests)."""
        agreed = x3dh_initiate(identity, bundle, ephemeral)
        ratchet = Ratchet.initiator(agreed.secret, agreed.associated_data,
                                    bundle.signed_prekey, ratchet_key)
        prekey = PrekeyInfo(bundle.signed_prekey_id, bundle.one_time_prekey_id,
                            identity.signing.public_key, identity.dh.public_key,
                            agreed.ephemeral_public)
        return cls(ratchet, bundle.device.signing_key, bundle.device.identity_key, prekey,
                   _FLAG_INITIATOR | _FLAG_PENDING)

    @classmethod
    def accept(cls, identity: DeviceIdentity, signed_prekey: X25519Key,
               one_time_prekey: X25519Key | None, message: bytes) -> tuple[Session, bytes]:
        """Build the responder's session from a prekey message; returns it and the plaintext.

        The caller looks the prekeys up with `peek_prekey`, checks the initiator's keys
        against its published device keys, and deletes the one-time prekey after success.
        Raises DecryptionError (and subclasses) when the message does not decrypt.
        """
        info, body = _parse(message)
        if info is None:
            raise DecryptionError("not a prekey message")
        if (info.one_time_prekey_id is None) != (one_time_prekey is None):
            raise DecryptionError("one-time prekey given and named in the message differ")
        try:
            agreed = x3dh_respond(identity, signed_prekey, one_time_prekey,
                                  info.initiator_signing_key, info.initiator_identity_key,
                                  info.ephemeral_key)
        except InvalidKey as exc:
            raise DecryptionError(f"bad key in prekey message: {exc}") from exc
        ratchet = Ratchet.responder(agreed.secret, agreed.associated_data, signed_prekey)
        plaintext = ratchet.decrypt(body)
        session = cls(ratchet, info.initiator_signing_key, info.initiator_identity_key, info, 0)
        return session, plaintext

    @property
    def remote_signing_key(self) -> bytes:
        """The remote device's Ed25519 key."""
        return self._remote_signing

    @property
    def remote_identity_key(self) -> bytes:
        """The remote device's X25519 identity key."""
        return self._remote_identity

    @property
    def is_initiator(self) -> bool:
        """True on the side that ran X3DH from a bundle."""
        return bool(self._flags & _FLAG_INITIATOR)

    @property
    def prekey_info(self) -> PrekeyInfo:
        """The prekey fields this session was started with."""
        return self._prekey

    def matches_prekey(self, info: PrekeyInfo) -> bool:
        """True if a peeked prekey message belongs to this (responder's) session."""
        return not self.is_initiator and info == self._prekey

    def encrypt(self, plaintext: bytes, ratchet_key: X25519Key | None = None) -> bytes:
        """A wire message; prekey type while the initiator has had no reply.

        Raises MessageTooLarge past MAX_PLAINTEXT_SIZE, SessionStateError if the
        session cannot send.
        """
        if not isinstance(plaintext, bytes):
            raise TypeError("plaintext must be bytes")
        if len(plaintext) > MAX_PLAINTEXT_SIZE:
            raise MessageTooLarge(f"plaintext larger than {MAX_PLAINTEXT_SIZE} bytes")
        body = self._ratchet.encrypt(plaintext, ratchet_key)
        if self._flags & _FLAG_PENDING:
            return _PREKEY_PREFIX + self._prekey.to_bytes() + body
        return _NORMAL_PREFIX + body

    def decrypt(self, message: bytes) -> bytes:
        """The plaintext of a wire message; the session changes only on success.

        Raises DecryptionError, DuplicateMessage or TooManySkipped.
        """
        info, body = _parse(message)
        if info is not None and not self.matches_prekey(info):
            raise DecryptionError("prekey message of another session")
        plaintext = self._ratchet.decrypt(body)
        self._flags &= ~_FLAG_PENDING
        return plaintext

    def to_bytes(self) -> bytes:
        """version (1) | flags (1) | remote Ed25519 (32) | remote X25519 (32) |
        prekey length (u16) | prekey fields | ratchet state."""
        prekey = self._prekey.to_bytes()
        return (_STATE_HEAD.pack(STATE_VERSION, self._flags, self._remote_signing,
                                 self._remote_identity, len(prekey))
                + prekey + self._ratchet.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> Session:
        """Inverse of to_bytes; raises SessionStateError for anything malformed."""
        if not isinstance(data, bytes) or len(data) < _STATE_HEAD.size:
            raise SessionStateError("session state truncated")
        version, flags, signing, identity, size = _STATE_HEAD.unpack_from(data)
        if version != STATE_VERSION or flags > 3 or flags == _FLAG_PENDING:
            raise SessionStateError("unknown session state version or flags")
        start = _STATE_HEAD.size
        fake = _PREKEY_PREFIX + data[start:start + size] + bytes(HEADER_SIZE + TAG_SIZE)
        try:
            info = _parse(fake)[0]
        except DecryptionError as exc:
            raise SessionStateError("bad prekey fields in session state") from exc
        if info is None or info.to_bytes() != data[start:start + size]:
            raise SessionStateError("bad prekey fields in session state")
        ratchet = Ratchet.from_bytes(data[start + size:])
        return cls(ratchet, signing, identity, info, flags)
