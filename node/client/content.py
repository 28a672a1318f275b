"""Message content for the SDK: the shared checks (``node.protocol.content``), raising
the SDK's ``ContentError``."""

from __future__ import annotations

from typing import Any

from node.client.errors import ContentError
from node.protocol import content as _content
from node.protocol.content import MAX_TEXT, PAD_BLOCK, TYPES, pad
from node.protocol.errors import InvalidContent

__all__ = ["MAX_TEXT", "PAD_BLOCK", "TYPES", "decode", "encode", "pad"]


def encode(content: dict[str, Any]) -> bytes:
    """Check and serialise a content object into the padded plaintext."""
    try:
        return _content.encode(content)
    except InvalidContent as exc:
        raise ContentError(str(exc)) from None


def decode(plaintext: bytes) -> dict[str, Any]:
    """Parse and check a padded plaintext; ContentError when it is not valid content."""
    try:
        return _content.decode(plaintext)
    except InvalidContent as exc:
        raise ContentError(str(exc)) from None
