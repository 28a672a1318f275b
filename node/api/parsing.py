"""Request parsing shared by every handler: JSON bodies, paths and query values."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from crypto.canonicaljson import loads_json
from crypto.errors import CanonicalJsonError
from node.appkeys import CONFIG
from node.errors import (
    InvalidJson,
    InvalidParameter,
    InvalidText,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from node.text import bad_text_path, unreadable

MAX_JSON_DEPTH = 32


def parse_json_bytes(raw: bytes, *, check_text: bool = True) -> Any:
    """Parse a JSON document strictly (UTF-8, no duplicate keys, no NaN, bounded depth,
    and, unless ``check_text`` is False, every string valid Unicode text: 400
    ``INVALID_TEXT`` naming the field otherwise)."""
    doc = _parse(raw)
    # A lone surrogate can only come from a \u escape: the bytes were decoded as strict
    # UTF-8, which refuses an encoded one. Without any \u, nothing needs a look.
    if check_text and b"\\u" in raw:
        path = bad_text_path(doc)
        if path is not None:
            raise InvalidText(f"{path} is not valid Unicode text (it holds a lone UTF-16 "
                              "surrogate)", details={"field": path})
    return doc


def _parse(raw: bytes) -> Any:
    try:
        return loads_json(raw, MAX_JSON_DEPTH)
    except CanonicalJsonError as exc:
        raise InvalidJson(str(exc)) from None


async def read_json_object(request: web.Request, limit: int | None = None) -> dict[str, Any]:
    """The request body as a JSON object; 415, 413 or 400 with a code otherwise."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType(
            f"expected Content-Type application/json, got {request.content_type or 'none'}")
    limit = limit or request.app[CONFIG].limits.max_body_bytes
    raw = await read_limited(request, limit)
    body = parse_json_bytes(raw)
    if not isinstance(body, dict):
        raise InvalidJson("the body must be a JSON object")
    return body


async def read_limited(request: web.Request, limit: int) -> bytes:
    """Read the whole body, refusing more than ``limit`` bytes (chunked bodies too)."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes",
                                  details={"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


def field(body: dict[str, Any], name: str, typ: type | tuple[type, ...], *,
          required: bool = True, max_len: int | None = None, default: Any = None) -> Any:
    """One member of a JSON object, type- and size-checked."""
    if name not in body:
        if required:
            raise InvalidParameter(f"missing field {name!r}", code="MISSING_FIELD")
        return default
    value = body[name]
    if isinstance(value, bool) and typ in (int, (int,)):
        raise InvalidParameter(f"field {name!r} must be a whole number")
    if not isinstance(value, typ):
        names = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise InvalidParameter(f"field {name!r} must be of type {names}")
    if max_len is not None and hasattr(value, "__len__") and len(value) > max_len:
        raise InvalidParameter(f"field {name!r} is longer than {max_len}")
    return value


def name_field(body: dict[str, Any], name: str, max_len: int, default: str = "") -> str:
    """An optional one-line name people read: no control or bidi characters."""
    value = field(body, name, str, required=False, max_len=max_len, default=default)
    if unreadable(value):
        raise InvalidText(f"field {name!r} holds control or bidirectional-override "
                          "characters", details={"field": name})
    return value
