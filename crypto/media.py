"""Streaming media encryption with libsodium's secretstream (XChaCha20-Poly1305).

Ciphertext = header (24) || c_1 || ... || c_k with k = max(1, ceil(size / CHUNK_SIZE)).
Every plaintext chunk is exactly CHUNK_SIZE bytes except the last (0..CHUNK_SIZE bytes),
which alone carries the FINAL tag; each c_i is its chunk plus 17 bytes. So a reader can
cut the ciphertext into 24 + (CHUNK_SIZE + 17)-byte pieces without any framing, and a
stream cut short (no FINAL), reordered, altered or extended is refused (MediaError).

The message that refers to a media carries a MediaKey: the 32-byte key, the SHA-256 of
the whole ciphertext (header included; its base64url form is the node's media id) and
the plaintext size. libsodium draws the 24-byte header at random inside init_push; it
cannot be injected, so vectors are checked by decrypting stored ciphertext.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from nacl import bindings
from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.utils import random

from crypto.encoding import b64decode, b64encode
from crypto.errors import CryptoError, MediaError

ALGORITHM = "secretstream-xchacha20poly1305-64k-v1"
CHUNK_SIZE = 65536
ABYTES = bindings.crypto_secretstream_xchacha20poly1305_ABYTES
HEADER_SIZE = bindings.crypto_secretstream_xchacha20poly1305_HEADERBYTES
KEY_SIZE = bindings.crypto_secretstream_xchacha20poly1305_KEYBYTES
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + ABYTES
MAX_SIZE = 2**53 - 1
_TAG_MESSAGE = bindings.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = bindings.crypto_secretstream_xchacha20poly1305_TAG_FINAL


def ciphertext_size(size: int) -> int:
    """Ciphertext bytes for `size` plaintext bytes: 24 + size + 17 * chunk count."""
    return HEADER_SIZE + size + ABYTES * max(1, -(-size // CHUNK_SIZE))


@dataclass(frozen=True)
class MediaKey:
    """What a message carries to let its recipient fetch, check and decrypt a media."""

    key: bytes
    sha256: bytes
    size: int

    @property
    def ciphertext_size(self) -> int:
        """The exact size of the ciphertext to download."""
        return ciphertext_size(self.size)

    @property
    def media_id(self) -> str:
        """Unpadded base64url of the ciphertext's SHA-256 (the node's media id)."""
        return b64encode(self.sha256)

    def to_json(self) -> dict[str, Any]:
        """{"alg", "key", "sha256", "size"} with base64url strings."""
        return {"alg": ALGORITHM, "key": b64encode(self.key), "sha256": b64encode(self.sha256),
                "size": self.size}

    @classmethod
    def from_json(cls, obj: Any) -> MediaKey:
        """Inverse of to_json; raises MediaError for anything else."""
        if not isinstance(obj, dict) or set(obj) != {"alg", "key", "sha256", "size"}:
            raise MediaError("media key must be {alg, key, sha256, size}")
        if obj["alg"] != ALGORITHM:
            raise MediaError(f"unknown media algorithm {obj['alg']!r}")
        size = obj["size"]
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_SIZE:
            raise MediaError("media size must be a non-negative integer")
        try:
            return cls(b64decode(obj["key"], KEY_SIZE), b64decode(obj["sha256"], 32), size)
        except CryptoError as exc:
            raise MediaError(f"bad media key: {exc}") from exc


class MediaEncryptor:
    """Low-level push side: full CHUNK_SIZE chunks, then one final chunk."""

    def __init__(self, key: bytes | None = None) -> None:
        self.key = random(KEY_SIZE) if key is None else key
        if not isinstance(self.key, bytes) or len(self.key) != KEY_SIZE:
            raise MediaError(f"media key must be {KEY_SIZE} bytes")
        self._state = bindings.crypto_secretstream_xchacha20poly1305_state()
        self.header: bytes = bindings.crypto_secretstream_xchacha20poly1305_init_push(
            self._state, self.key)
        self.finished = False

    def push(self, chunk: bytes, final: bool = False) -> bytes:
        """Encrypt one chunk (exactly CHUNK_SIZE bytes unless final); raises MediaError."""
        if self.finished:
            raise MediaError("stream already finished")
        if len(chunk) > CHUNK_SIZE or (not final and len(chunk) != CHUNK_SIZE):
            raise MediaError(f"only the final chunk may be shorter than {CHUNK_SIZE} bytes")
        self.finished = final
        return bindings.crypto_secretstream_xchacha20poly1305_push(
            self._state, bytes(chunk), None, _TAG_FINAL if final else _TAG_MESSAGE)


class MediaDecryptor:
    """Low-level pull side: one encrypted chunk at a time; `finished` after FINAL."""

    def __init__(self, key: bytes, header: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_SIZE or len(header) != HEADER_SIZE:
            raise MediaError("bad media key or header size")
        self._state = bindings.crypto_secretstream_xchacha20poly1305_state()
        bindings.crypto_secretstream_xchacha20poly1305_init_pull(self._state, bytes(header), key)
        self.finished = False

    def pull(self, chunk: bytes) -> bytes:
        """Decrypt one chunk; raises MediaError if altered, misplaced or after FINAL."""
        if self.finished:
            raise MediaError("data after the final chunk")
        if not ABYTES <= len(chunk) <= ENCRYPTED_CHUNK_SIZE:
            raise MediaError("encrypted chunk has an impossible size")
        try:
            plaintext, tag = bindings.crypto_secretstream_xchacha20poly1305_pull(
                self._state, bytes(chunk), None)
        except NaclCryptoError as exc:
            raise MediaError("media chunk altered or out of order") from exc
        if tag == _TAG_FINAL:
            self.finished = True
        elif tag != _TAG_MESSAGE or len(plaintext) != CHUNK_SIZE:
            raise MediaError("media stream truncated or malformed")
        return plaintext


class EncryptedStream(Iterator[bytes]):
    """Yields the header, then each encrypted chunk; `media_key()` once exhausted."""

    def __init__(self, chunks: Iterable[bytes], key: bytes | None = None) -> None:
        self._encryptor = MediaEncryptor(key)
        self._hash = hashlib.sha256()
        self._size = 0
        self._parts = self._generate(chunks)

    def __next__(self) -> bytes:
        part = next(self._parts)
        self._hash.update(part)
        return part

    def _generate(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        yield self._encryptor.header
        buffer = bytearray()
        for piece in chunks:
            view, pos = memoryview(piece), 0
            self._size += len(view)
            while len(buffer) + len(view) - pos > CHUNK_SIZE:
                need = CHUNK_SIZE - len(buffer)
                buffer += view[pos:pos + need]
                pos += need
                yield self._encryptor.push(bytes(buffer))
                buffer = bytearray()
            buffer += view[pos:]
        yield self._encryptor.push(bytes(buffer), final=True)

    def media_key(self) -> MediaKey:
        """The key, ciphertext hash and size; MediaError before the stream is exhausted."""
        if not self._encryptor.finished:
            raise MediaError("media key is known only after the whole stream is read")
        return MediaKey(self._encryptor.key, self._hash.digest(), self._size)


def encrypt_chunks(chunks: Iterable[bytes], key: bytes | None = None) -> EncryptedStream:
    """Encrypt pieces of any sizes in O(CHUNK_SIZE) memory; see EncryptedStream."""
    return EncryptedStream(chunks, key)


def _pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Cut a byte stream into the header and then ENCRYPTED_CHUNK_SIZE pieces."""
    size, buffer = HEADER_SIZE, bytearray()
    for piece in chunks:
        view, pos = memoryview(piece), 0
        while len(buffer) + len(view) - pos >= size:
            need = size - len(buffer)
            buffer += view[pos:pos + need]
            pos += need
            yield bytes(buffer)
            buffer, size = bytearray(), ENCRYPTED_CHUNK_SIZE
        buffer += view[pos:]
    if buffer or size == HEADER_SIZE:
        yield bytes(buffer)


def decrypt_chunks(chunks: Iterable[bytes], media_key: MediaKey) -> Iterator[bytes]:
    """Decrypt ciphertext pieces of any sizes, checking size, tags and hash (MediaError).

    Plaintext is yielded as it is authenticated chunk by chunk; the hash and size are
    confirmed only when the iterator ends without error.
    """
    digest, total, decryptor = hashlib.sha256(), 0, None
    for piece in _pieces(chunks):
        digest.update(piece)
        total += len(piece)
        if total > media_key.ciphertext_size:
            raise MediaError("media longer than its key says")
        if decryptor is None:
            if len(piece) != HEADER_SIZE:
                raise MediaError("media truncated before its header ended")
            decryptor = MediaDecryptor(media_key.key, piece)
        else:
            yield decryptor.pull(piece)
    if decryptor is None or not decryptor.finished:
        raise MediaError("media stream truncated (no final chunk)")
    if total != media_key.ciphertext_size or not hmac.compare_digest(digest.digest(),
                                                                     media_key.sha256):
        raise MediaError("media hash or size mismatch")


def encrypt_media(data: bytes, key: bytes | None = None) -> tuple[bytes, MediaKey]:
    """Encrypt a whole media in memory; returns (ciphertext, MediaKey)."""
    stream = encrypt_chunks([data], key)
    ciphertext = b"".join(stream)
    return ciphertext, stream.media_key()


def decrypt_media(data: bytes, media_key: MediaKey) -> bytes:
    """Check size and SHA-256 of the whole ciphertext, then decrypt it (MediaError)."""
    if len(data) != media_key.ciphertext_size:
        raise MediaError("media size mismatch")
    if not hmac.compare_digest(hashlib.sha256(data).digest(), media_key.sha256):
        raise MediaError("media hash mismatch")
    return b"".join(decrypt_chunks([data], media_key))
