"""Strict unpadded base64url."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.encoding import b64decode, b64encode
from crypto.errors import EncodingError


@given(st.binary(max_size=100))
@settings(max_examples=100, deadline=None)
def test_round_trip(data: bytes) -> None:
    text = b64encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64decode(text) == data
    assert b64decode(text, len(data)) == data


def test_known_values() -> None:
    assert b64encode(b"") == ""
    assert b64encode(b"\xfb\xff") == "-_8"
    assert b64decode("-_8") == b"\xfb\xff"


@pytest.mark.parametrize("text", [
    "AA==", "AAA=", "+/8", "-_8=", "A", "AAAAA", "AB", "AAB", "A A", "AA\n", "ÄÄ", "AA.",
])
def test_refuses_non_canonical(text: str) -> None:
    with pytest.raises(EncodingError):
        b64decode(text)


def test_refuses_wrong_length_and_type() -> None:
    with pytest.raises(EncodingError):
        b64decode(b64encode(bytes(31)), 32)
    with pytest.raises(EncodingError):
        b64decode(b"AAAA")  # type: ignore[arg-type]
