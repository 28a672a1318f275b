"""Canonical JSON (Matrix style) for signing, and a strict parser for what peers send.

Canonical form: UTF-8, object keys sorted by code point, no insignificant whitespace
(separators "," and ":"), non-ASCII characters written as themselves, only integers in
±(2**53 - 1), no floats. The same value always gives the same bytes, which is what a
signature covers.
"""

from __future__ import annotations

import json
from typing import Any

from crypto.errors import CanonicalJsonError

MAX_SAFE_INT = 2**53 - 1
MAX_ENCODE_DEPTH = 64


def _check_str(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalJsonError("string is not valid Unicode (lone surrogate)") from exc


def _check_value(value: Any, depth: int, max_depth: int) -> None:
    """Walk a value, refusing anything canonical JSON cannot hold.

    `depth` counts the arrays and objects around `value`; at most `max_depth` may nest.
    """
    if isinstance(value, dict | list | tuple) and depth >= max_depth:
        raise CanonicalJsonError(f"JSON nested deeper than {max_depth}")
    if value is None or value is True or value is False:
        return
    if isinstance(value, str):
        _check_str(value)
    elif isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise CanonicalJsonError("integer outside ±(2**53 - 1)")
    elif isinstance(value, float):
        raise CanonicalJsonError("floats are not allowed in canonical JSON")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJsonError("object keys must be strings")
            _check_str(key)
            _check_value(item, depth + 1, max_depth)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_value(item, depth + 1, max_depth)
    else:
        raise CanonicalJsonError(f"{type(value).__name__} is not a JSON type")


def encode_canonical(obj: Any) -> bytes:
    """The canonical JSON bytes of `obj`; raises CanonicalJsonError for what JSON cannot hold."""
    _check_value(obj, 0, MAX_ENCODE_DEPTH)
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)
    return text.encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalJsonError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _refuse_float(text: str) -> Any:
    raise CanonicalJsonError(f"floats are not allowed: {text[:20]}")


def _refuse_constant(text: str) -> Any:
    raise CanonicalJsonError(f"{text} is not allowed")


def _parse_int(text: str) -> int:
    if len(text) > 17:
        raise CanonicalJsonError("integer outside ±(2**53 - 1)")
    value = int(text)
    if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
        raise CanonicalJsonError("integer outside ±(2**53 - 1)")
    return value


def loads_strict(data: bytes | str, max_depth: int = 32) -> Any:
    """Parse JSON strictly; raises CanonicalJsonError.

    Refused: invalid UTF-8, a byte-order mark, duplicate object keys, NaN/Infinity,
    floats (any number with '.', 'e' or 'E'), integers outside ±(2**53 - 1), lone
    surrogates, and nesting deeper than `max_depth`. The input need not be canonical.
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CanonicalJsonError("JSON is not valid UTF-8") from exc
    elif isinstance(data, str):
        text = data
    else:
        raise CanonicalJsonError("JSON input must be bytes or str")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_refuse_float,
                           parse_int=_parse_int, parse_constant=_refuse_constant)
    except CanonicalJsonError:
        raise
    except RecursionError as exc:
        raise CanonicalJsonError(f"JSON nested deeper than {max_depth}") from exc
    except ValueError as exc:
        raise CanonicalJsonError(f"invalid JSON: {exc}") from exc
    _check_value(value, 0, max_depth)
    return value
