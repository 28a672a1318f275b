"""Errors of the shared protocol definitions; the SDK and the node translate them."""

from __future__ import annotations


class ProtocolError(ValueError):
    """Root: something does not follow the protocol."""


class InvalidContent(ProtocolError):
    """Message content that is not valid (unknown type, missing or malformed field)."""


class DocumentError(ProtocolError):
    """A business document whose signature, kind, server or lifetime does not check."""
