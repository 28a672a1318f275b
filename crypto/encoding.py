"""Unpadded base64url, strictly: one text for each byte string, nothing else accepted."""

from __future__ import annotations

import base64
import binascii
import re

from crypto.errors import EncodingError

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64encode(data: bytes) -> str:
    """Encode bytes as base64url without '=' padding (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str, length: int | None = None) -> bytes:
    """Decode unpadded base64url, refusing anything but its one canonical form.

    Refused (EncodingError): a non-str, '=' padding, characters outside
    [A-Za-z0-9_-], an impossible length, non-zero unused trailing bits, and, when
    `length` is given, a result of any other size.
    """
    if not isinstance(text, str):
        raise EncodingError("base64url text must be a string")
    if _ALPHABET.fullmatch(text) is None:
        raise EncodingError("base64url text has padding or characters outside [A-Za-z0-9_-]")
    if len(text) % 4 == 1:
        raise EncodingError("base64url text has an impossible length")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - alphabet checked above
        raise EncodingError("invalid base64url") from exc
    if b64encode(data) != text:
        raise EncodingError("base64url text has non-zero trailing bits")
    if length is not None and len(data) != length:
        raise EncodingError(f"expected {length} bytes, got {len(data)}")
    return data
