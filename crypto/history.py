"""Sealed history copies: a message record encrypted to a history key of its owner.

An owner (an account, or a business for its team's devices) has a numbered series of
32-byte random history keys, one per *epoch*; a new epoch begins when a device that
held the key is removed. Every device of the owner seals each message it sends or
receives to the current key and stores the sealed copy on its node, which sees only
the owner, an item id, the conversation, the time and the epoch. A device approved
later receives every epoch's key over a pairwise session and opens the copies.

    sealed = 0x01 || epoch (u32) || nonce (24) || XChaCha20-Poly1305(key, nonce,
             pad(record), aad)
    aad    = "Kontor history v1" || str16(owner) || str16(item_id)
             || str16(conversation) || ts (u64) || epoch (u32)

``str16`` is a u16 length then UTF-8. ``pad`` is ISO/IEC 7816-4 to a multiple of 64
bytes (as message content). So a node that moves a copy to another owner, item,
conversation, time or epoch makes it fail to open. Pure functions; no I/O.
"""

from __future__ import annotations

import struct

from nacl import bindings
from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.utils import random

from crypto.errors import DecryptionError, HistoryError

VERSION = 0x01
KEY_SIZE = 32
NONCE_SIZE = 24
HEADER_SIZE = 1 + 4 + NONCE_SIZE
OVERHEAD = HEADER_SIZE + 16
PAD_BLOCK = 64
MAX_RECORD = 64 * 1024
_LABEL = b"Kontor history v1"


def new_key() -> bytes:
    """A fresh history key (32 random bytes)."""
    return random(KEY_SIZE)


def _str16(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > 0xFFFF:
        raise HistoryError("a field of the associated data is too long")
    return struct.pack(">H", len(data)) + data


def associated_data(owner: str, item_id: str, conversation: str, ts: int,
                    epoch: int) -> bytes:
    """What a sealed copy is bound to (see the module docstring)."""
    if not 0 <= ts < 2**64 or not 0 < epoch < 2**32:
        raise HistoryError("ts or epoch out of range")
    return (_LABEL + _str16(owner) + _str16(item_id) + _str16(conversation)
            + struct.pack(">QI", ts, epoch))


def pad(data: bytes) -> bytes:
    """ISO/IEC 7816-4 padding to a multiple of 64 bytes."""
    padded = data + b"\x80"
    return padded + b"\x00" * (-len(padded) % PAD_BLOCK)


def unpad(data: bytes) -> bytes:
    """Undo ``pad``; HistoryError when the padding is wrong."""
    if len(data) % PAD_BLOCK:
        raise HistoryError("a sealed record is not a multiple of 64 bytes")
    stripped = data.rstrip(b"\x00")
    if not stripped.endswith(b"\x80"):
        raise HistoryError("bad padding")
    return stripped[:-1]


def seal(key: bytes, epoch: int, owner: str, item_id: str, conversation: str, ts: int,
         record: bytes, nonce: bytes | None = None) -> bytes:
    """Seal ``record`` (the canonical JSON of a message) to the epoch's key. ``nonce``
    is random unless given (only known-answer vectors give one: never reuse a nonce)."""
    if len(key) != KEY_SIZE:
        raise HistoryError("a history key is 32 bytes")
    if nonce is not None and len(nonce) != NONCE_SIZE:
        raise HistoryError("a history nonce is 24 bytes")
    if len(record) > MAX_RECORD:
        raise HistoryError("a history record is at most 64 KiB")
    aad = associated_data(owner, item_id, conversation, ts, epoch)
    nonce = random(NONCE_SIZE) if nonce is None else nonce
    header = struct.pack(">BI", VERSION, epoch) + nonce
    return header + bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        pad(record), aad, nonce, key)


def epoch_of(sealed: bytes) -> int:
    """The epoch a sealed copy names (to pick its key); HistoryError when malformed."""
    if len(sealed) < OVERHEAD or sealed[0] != VERSION:
        raise HistoryError("not a sealed history copy of version 1")
    epoch: int = struct.unpack(">I", sealed[1:5])[0]
    return epoch


def open_sealed(key: bytes, owner: str, item_id: str, conversation: str, ts: int,
                sealed: bytes) -> bytes:
    """The record inside ``sealed``; DecryptionError when it was altered or moved."""
    epoch = epoch_of(sealed)
    if len(key) != KEY_SIZE:
        raise HistoryError("a history key is 32 bytes")
    aad = associated_data(owner, item_id, conversation, ts, epoch)
    try:
        padded = bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            sealed[HEADER_SIZE:], aad, sealed[5:HEADER_SIZE], key)
    except NaclCryptoError:
        raise DecryptionError("the sealed history copy does not open with this key "
                              "(altered, moved or another key)") from None
    return unpad(padded)
