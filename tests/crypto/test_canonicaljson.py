"""Canonical JSON encoding and the strict parser."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.canonicaljson import (
    MAX_SAFE_INT,
    encode_canonical,
    json_depth,
    loads_json,
    loads_strict,
)
from crypto.errors import CanonicalJsonError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INT, MAX_SAFE_INT)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(alphabet=st.characters(blacklist_categories=("Cs",)),
                              max_size=6), inner, max_size=4),
    max_leaves=20,
)


def test_sorted_compact_utf8() -> None:
    assert encode_canonical({"b": 1, "a": [True, None, "é"]}) == (
        '{"a":[true,null,"é"],"b":1}'.encode())
    assert encode_canonical({"\u65e5": 1, "z": 2, "A": 3}) == '{"A":3,"z":2,"日":1}'.encode()


@given(json_values)
@settings(max_examples=100, deadline=None)
def test_parse_of_canonical_is_identity(value: object) -> None:
    encoded = encode_canonical(value)
    assert loads_strict(encoded) == value
    assert encode_canonical(loads_strict(encoded.decode())) == encoded


@pytest.mark.parametrize("value", [
    1.0, float("nan"), float("inf"), {"a": 0.5}, {1: "x"}, {(1,): 2}, b"bytes", {1, 2},
    2**53, -(2**53), "\ud800", {"\udfff": 1}, object(),
])
def test_encode_refuses(value: object) -> None:
    with pytest.raises(CanonicalJsonError):
        encode_canonical(value)


@pytest.mark.parametrize("text", [
    '{"a":1.0}', '{"a":1e2}', '{"a":-0.0}', '{"a":1,"a":1}', '{"x":{"b":1,"b":2}}', "NaN",
    "[Infinity]", "-Infinity", "9007199254740992", "-9007199254740992",
    "1" * 5000, '"\\ud800"', "[1,]", "{'a':1}", "", " ", '"\x01"', "\ufeff{}",
])
def test_loads_refuses(text: str) -> None:
    with pytest.raises(CanonicalJsonError):
        loads_strict(text)


def test_loads_refuses_bad_utf8_and_types() -> None:
    with pytest.raises(CanonicalJsonError):
        loads_strict(b'"\xff"')
    with pytest.raises(CanonicalJsonError):
        loads_strict(b'"\xed\xa0\x80"')  # an encoded surrogate
    with pytest.raises(CanonicalJsonError):
        loads_strict(42)  # type: ignore[arg-type]


def test_depth_limit() -> None:
    assert loads_strict("[" * 32 + "]" * 32) is not None
    with pytest.raises(CanonicalJsonError):
        loads_strict("[" * 33 + "]" * 33)
    assert loads_strict('{"a":{"b":1}}', max_depth=2) == {"a": {"b": 1}}
    with pytest.raises(CanonicalJsonError):
        loads_strict('{"a":{"b":{}}}', max_depth=2)
    with pytest.raises(CanonicalJsonError):
        loads_strict("[" * 100_000 + "]" * 100_000)


def _nesting(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_nesting, value), default=0)
    return 0


tricky_text = st.text(alphabet='[]{}"\\ab', max_size=6)
tricky_values = st.recursive(
    st.none() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=12)


@given(tricky_values)
@settings(max_examples=200, deadline=None)
def test_json_depth_is_the_nesting_whatever_the_strings_hold(value: object) -> None:
    assert json_depth(json.dumps(value)) == _nesting(value)


def test_loads_json_takes_any_number_and_refuses_what_loads_strict_refuses_in_syntax() -> None:
    assert loads_json(b'{"a": 1.5, "b": 123456789012345678901234}') == {
        "a": 1.5, "b": 123456789012345678901234}
    assert loads_json('"\\ud800"') == "\ud800"  # strings as written: callers check text
    for bad in (b'{"a": 1, "a": 2}', b"NaN", b"[-Infinity]", b"[" * 33 + b"]" * 33,
                b"\xff", b"\xef\xbb\xbf{}", b"{", b"[1,]"):
        with pytest.raises(CanonicalJsonError):
            loads_json(bad)
        with pytest.raises(CanonicalJsonError):
            loads_strict(bad)
    assert loads_json(b"[" * 32 + b"]" * 32, 32) is not None
