"""Moved to ``node.protocol.currencies`` (the SDK needs it too); kept as an alias."""

from node.protocol.currencies import MINOR_UNITS, format_amount

__all__ = ["MINOR_UNITS", "format_amount"]
