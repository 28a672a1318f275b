"""Value checks shared by the business services (API and CLI alike)."""

from __future__ import annotations

import re
from typing import Any

from node.errors import InvalidParameter, InvalidText
from node.protocol.names import is_server_name
from node.services.accounts import split_address
from node.text import unreadable

_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*\Z", re.IGNORECASE)
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}\Z")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,31}\Z")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}\Z")
MEDIA_ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}\Z")


def text(value: Any, name: str, max_len: int, *, min_len: int = 0,
         single_line: bool = False) -> str:
    """A string of ``min_len``..``max_len`` characters without control characters
    (newlines and tabs allowed unless ``single_line``)."""
    if not isinstance(value, str):
        raise InvalidParameter(f"{name} must be a string")
    if not min_len <= len(value) <= max_len:
        raise InvalidParameter(f"{name} must have {min_len} to {max_len} characters")
    if unreadable(value, single_line=single_line):
        raise InvalidText(f"{name} contains control, bidirectional-override or invalid "
                          "characters", details={"field": name})
    if min_len and not value.strip():
        raise InvalidParameter(f"{name} must not be blank")
    return value


def url(value: Any, name: str) -> str:
    value = text(value, name, 300, single_line=True)
    if value and not _URL_RE.match(value):
        raise InvalidParameter(f"{name} must be an http(s) URL")
    return value


def email(value: Any, name: str) -> str:
    value = text(value, name, 254, single_line=True)
    if value and not _EMAIL_RE.match(value):
        raise InvalidParameter(f"{name} must be an e-mail address")
    return value


def phone(value: Any, name: str) -> str:
    value = text(value, name, 32, single_line=True)
    if value and not _PHONE_RE.match(value):
        raise InvalidParameter(f"{name} must be a phone number (digits, spaces, + ( ) . / -)")
    return value


def color(value: Any) -> str:
    if not isinstance(value, str) or not _COLOR_RE.match(value):
        raise InvalidParameter('color must be "#rrggbb"', code="INVALID_COLOR")
    return value.lower()


def media_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not MEDIA_ID_RE.match(value):
        raise InvalidParameter(f"{name} must be a media id from POST /media",
                               code="INVALID_MEDIA_ID")
    return value


def address(value: Any, name: str = "address") -> str:
    """An account address, lower-cased."""
    if not isinstance(value, str):
        raise InvalidParameter(f"{name} must be an account address (local@server)",
                               code="INVALID_ADDRESS")
    value = value.strip().lower()
    split_address(value)
    return value


def server_name(value: Any) -> str:
    if not isinstance(value, str) or not is_server_name(value.lower()):
        raise InvalidParameter("not a server name", code="INVALID_SERVER_NAME")
    return value.lower()


def whole(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidParameter(f"{name} must be a whole number from {lo} to {hi}")
    return value


def flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameter(f"{name} must be true or false")
    return value


def no_unknown(body: dict[str, Any], allowed: set[str] | frozenset[str], what: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidParameter(f"unknown {what} field(s): {', '.join(k[:40] for k in unknown)}",
                               code="UNKNOWN_FIELD")
