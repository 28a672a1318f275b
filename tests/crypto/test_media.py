"""Streaming media encryption: round trips, streaming pieces, and every refusal."""

from __future__ import annotations

import os

import pytest

from crypto.errors import MediaError
from crypto.media import (
    ABYTES,
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    HEADER_SIZE,
    MediaDecryptor,
    MediaEncryptor,
    MediaKey,
    decrypt_chunks,
    decrypt_media,
    encrypt_chunks,
    encrypt_media,
)

SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 1_000_003]


@pytest.mark.parametrize("size", SIZES)
def test_round_trip(size: int) -> None:
    data = os.urandom(size)
    ciphertext, media_key = encrypt_media(data)
    chunks = max(1, -(-size // CHUNK_SIZE))
    assert len(ciphertext) == HEADER_SIZE + size + ABYTES * chunks == media_key.ciphertext_size
    assert media_key.size == size and len(media_key.key) == 32
    assert decrypt_media(ciphertext, media_key) == data
    pieces = [ciphertext[i:i + 4099] for i in range(0, len(ciphertext), 4099)]
    assert b"".join(decrypt_chunks(pieces, media_key)) == data


@pytest.mark.parametrize("piece", [1, 1000, CHUNK_SIZE, CHUNK_SIZE + 7])
def test_streaming_any_piece_size_gives_the_same_layout(piece: int) -> None:
    data, key = os.urandom(3 * CHUNK_SIZE + 5), os.urandom(32)
    stream = encrypt_chunks((data[i:i + piece] for i in range(0, len(data), piece)), key)
    with pytest.raises(MediaError):
        stream.media_key()
    parts = list(stream)
    assert [len(p) for p in parts] == [HEADER_SIZE] + [ENCRYPTED_CHUNK_SIZE] * 3 + [5 + ABYTES]
    media_key = stream.media_key()
    assert media_key.key == key and media_key.size == len(data)
    assert decrypt_media(b"".join(parts), media_key) == data


def test_media_key_json() -> None:
    _, media_key = encrypt_media(b"abc")
    obj = media_key.to_json()
    assert set(obj) == {"alg", "key", "sha256", "size"} and obj["size"] == 3
    assert MediaKey.from_json(obj) == media_key
    assert media_key.media_id == obj["sha256"]
    for bad in ({**obj, "alg": "other"}, {**obj, "size": -1}, {**obj, "size": True},
                {**obj, "key": obj["key"][:-2]}, {**obj, "sha256": "!"}, {**obj, "x": 1},
                [], {k: v for k, v in obj.items() if k != "size"}):
        with pytest.raises(MediaError):
            MediaKey.from_json(bad)


def _refused(ciphertext: bytes, media_key: MediaKey) -> None:
    with pytest.raises(MediaError):
        decrypt_media(ciphertext, media_key)
    with pytest.raises(MediaError):
        b"".join(decrypt_chunks([ciphertext], media_key))


def test_truncation_alteration_and_reordering_are_refused() -> None:
    data = os.urandom(2 * CHUNK_SIZE + 10)
    ciphertext, media_key = encrypt_media(data)
    first_end = HEADER_SIZE + ENCRYPTED_CHUNK_SIZE
    chunk1 = ciphertext[HEADER_SIZE:first_end]
    chunk2 = ciphertext[first_end:first_end + ENCRYPTED_CHUNK_SIZE]
    rest = ciphertext[first_end + ENCRYPTED_CHUNK_SIZE:]
    for position in (0, HEADER_SIZE, first_end - 1, len(ciphertext) - 1):
        altered = bytearray(ciphertext)
        altered[position] ^= 0x01
        _refused(bytes(altered), media_key)
    _refused(ciphertext[:-1], media_key)
    _refused(ciphertext[:first_end], media_key)
    _refused(ciphertext[:HEADER_SIZE - 1], media_key)
    _refused(ciphertext + b"\x00", media_key)
    _refused(ciphertext[:HEADER_SIZE] + chunk2 + chunk1 + rest, media_key)
    _refused(b"", media_key)
    # The same stream authenticated under a key whose hash was forged still fails.
    wrong_key = MediaKey(os.urandom(32), media_key.sha256, media_key.size)
    _refused(ciphertext, wrong_key)
    _refused(ciphertext, MediaKey(media_key.key, bytes(32), media_key.size))
    _refused(ciphertext, MediaKey(media_key.key, media_key.sha256, media_key.size - 1))


def test_truncation_at_a_chunk_boundary_without_hash_is_caught_by_tags() -> None:
    ciphertext, media_key = encrypt_media(os.urandom(2 * CHUNK_SIZE + 10))
    decryptor = MediaDecryptor(media_key.key, ciphertext[:HEADER_SIZE])
    decryptor.pull(ciphertext[HEADER_SIZE:HEADER_SIZE + ENCRYPTED_CHUNK_SIZE])
    assert not decryptor.finished  # the caller knows the stream is not complete


def test_low_level_misuse() -> None:
    encryptor = MediaEncryptor(os.urandom(32))
    with pytest.raises(MediaError):
        encryptor.push(b"short but not final")
    with pytest.raises(MediaError):
        encryptor.push(bytes(CHUNK_SIZE + 1), final=True)
    last = encryptor.push(b"end", final=True)
    with pytest.raises(MediaError):
        encryptor.push(b"", final=True)
    decryptor = MediaDecryptor(encryptor.key, encryptor.header)
    assert decryptor.pull(last) == b"end" and decryptor.finished
    with pytest.raises(MediaError):
        decryptor.pull(last)
    with pytest.raises(MediaError):
        MediaEncryptor(bytes(31))
    with pytest.raises(MediaError):
        MediaDecryptor(bytes(32), bytes(23))
    with pytest.raises(MediaError):
        MediaDecryptor(encryptor.key, encryptor.header).pull(bytes(ABYTES - 1))
