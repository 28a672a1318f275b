"""Placeholders in quick replies and automated texts: ``{customer_name}`` and the like.

``{{`` and ``}}`` write literal braces; a placeholder without a value stays as written.
Pure (no I/O): the node checks texts when they are saved (only ``PLACEHOLDERS`` are
allowed) and the SDK fills in values on the agent's device, where the plaintext lives.
"""

from __future__ import annotations

import re

PLACEHOLDERS = frozenset({
    "customer_name", "customer_address", "business_name", "business_address",
    "business_phone", "business_website", "agent_name", "order_id", "order_total", "date",
})
_TOKEN_RE = re.compile(r"\{\{|\}\}|\{([A-Za-z0-9_]*)\}")


def expand(text: str, values: dict[str, str]) -> str:
    """``text`` with each ``{name}`` replaced by ``values[name]``; placeholders without a
    value stay as they are; ``{{`` and ``}}`` become ``{`` and ``}``."""
    def substitute(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = m.group(1)
        value = values.get(name)
        return str(value) if value is not None else token
    return _TOKEN_RE.sub(substitute, text)


def placeholders_in(text: str) -> set[str]:
    """The placeholder names ``text`` uses."""
    return {m.group(1) for m in _TOKEN_RE.finditer(text) if m.group(1) is not None}
