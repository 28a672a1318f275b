"""Canonical JSON (Matrix style) for signing, and a strict parser for what peers send.

Canonical form: UTF-8, object keys sorted by code point, no insignificant whitespace
(separators "," and ":"), non-ASCII characters written as themselves, only integers in
±(2**53 - 1), no floats. The same value always gives the same bytes, which is what a
signature covers.
"""

from __future__ import annotations

import json
import re
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
            raise CanonicalJsonError(f"duplicate key {key!r} in JSON object")
        result[key] = value
    return result


def _refuse_float(text: str) -> Any:
    raise CanonicalJsonError(f"floats are not allowed: {text[:20]}")


def _refuse_constant(text: str) -> Any:
    raise CanonicalJsonError(f"{text} is not valid JSON")


def _parse_int(text: str) -> int:
    if len(text) > 17:
        raise CanonicalJsonError("integer outside ±(2**53 - 1)")
    value = int(text)
    if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
        raise CanonicalJsonError("integer outside ±(2**53 - 1)")
    return value


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest (found without parsing,
    so that a deep document is refused before the parser recurses into it)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _text(data: bytes | bytearray | str) -> str:
    if isinstance(data, bytes | bytearray):
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CanonicalJsonError("JSON is not UTF-8") from exc
    if isinstance(data, str):
        return data
    raise CanonicalJsonError("JSON input must be bytes or str")


def loads_json(data: bytes | bytearray | str, max_depth: int = 32, *,
               canonical_numbers: bool = False) -> Any:
    """Parse JSON strictly in syntax; raises CanonicalJsonError.

    Refused: invalid UTF-8, a byte-order mark, duplicate object keys, NaN/Infinity,
    nesting deeper than `max_depth`; with `canonical_numbers`, also floats and integers
    outside ±(2**53 - 1). Strings are taken as written (lone surrogates included).
    """
    text = _text(data)
    # (no deeper than it has opening brackets: most documents need no scan)
    if text.count("{") + text.count("[") > max_depth and json_depth(text) > max_depth:
        raise CanonicalJsonError(f"JSON nested deeper than {max_depth} levels")
    numbers: dict[str, Any] = ({"parse_float": _refuse_float, "parse_int": _parse_int}
                               if canonical_numbers else {})
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates,
                          parse_constant=_refuse_constant, **numbers)
    except CanonicalJsonError:
        raise
    except json.JSONDecodeError as exc:
        raise CanonicalJsonError(f"malformed JSON: {exc.msg} at line {exc.lineno} "
                                 f"column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # an integer beyond Python's digit limit
        raise CanonicalJsonError(f"malformed JSON: {exc}"[:200]) from None


def loads_strict(data: bytes | str, max_depth: int = 32) -> Any:
    """Parse JSON that must be canonical in its values; raises CanonicalJsonError.

    Refused: what ``loads_json`` refuses, floats (any number with '.', 'e' or 'E'),
    integers outside ±(2**53 - 1) and lone surrogates. The input need not be canonical.
    """
    value = loads_json(data, max_depth, canonical_numbers=True)
    _check_value(value, 0, max_depth)
    return value
