"""Sealed history copies: round trip, and every way a node could move or alter one."""

from __future__ import annotations

import pytest

from crypto.errors import DecryptionError, HistoryError
from crypto.history import (
    OVERHEAD,
    PAD_BLOCK,
    associated_data,
    epoch_of,
    new_key,
    open_sealed,
    pad,
    seal,
    unpad,
)

PLACE = ("business@shop.test", "m_abc", "carl@c.test", 1764000000000)


def test_round_trip_and_size() -> None:
    key = new_key()
    record = b'{"type":"text","body":"hello"}'
    sealed = seal(key, 3, *PLACE, record)
    assert epoch_of(sealed) == 3
    assert len(sealed) == OVERHEAD + PAD_BLOCK  # 29-byte header, one padded block, tag
    assert open_sealed(key, *PLACE, sealed) == record


@pytest.mark.parametrize("moved", [
    ("business@other.test", "m_abc", "carl@c.test", 1764000000000),
    ("business@shop.test", "m_abd", "carl@c.test", 1764000000000),
    ("business@shop.test", "m_abc", "mallory@c.test", 1764000000000),
    ("business@shop.test", "m_abc", "carl@c.test", 1764000000001),
])
def test_a_copy_moved_to_another_owner_item_conversation_or_time_does_not_open(
        moved: tuple[str, str, str, int]) -> None:
    key = new_key()
    sealed = seal(key, 1, *PLACE, b"x")
    with pytest.raises(DecryptionError):
        open_sealed(key, *moved, sealed)


def test_altered_epoch_byte_or_key_does_not_open() -> None:
    key = new_key()
    sealed = seal(key, 1, *PLACE, b"x")
    other_epoch = sealed[:4] + b"\x02" + sealed[5:]
    for bad, k in [(other_epoch, key), (sealed[:-1] + bytes([sealed[-1] ^ 1]), key),
                   (sealed, new_key())]:
        with pytest.raises(DecryptionError):
            open_sealed(k, *PLACE, bad)
    with pytest.raises(HistoryError):
        open_sealed(key, *PLACE, b"\x02" + sealed[1:])
    with pytest.raises(HistoryError):
        open_sealed(key, *PLACE, sealed[:OVERHEAD - 1])


def test_padding_and_limits() -> None:
    assert len(pad(b"")) == 64 and unpad(pad(b"ab")) == b"ab"
    assert len(pad(b"a" * 63)) == 64 and len(pad(b"a" * 64)) == 128
    for bad in (b"\x00" * 64, b"a" * 63):
        with pytest.raises(HistoryError):
            unpad(bad)
    with pytest.raises(HistoryError):
        associated_data("o", "i", "c", 1, 0)  # epochs start at 1
    with pytest.raises(HistoryError):
        seal(b"short", 1, *PLACE, b"x")
