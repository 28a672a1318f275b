"""Placeholders in quick replies and automated texts: ``{customer_name}`` and the like.

``{{`` and ``}}`` write literal braces. Anything else between braces must be one of
``PLACEHOLDERS``: the node refuses other texts when they are saved (``problems``), so a
stored text never reaches a customer with a raw placeholder. Values come from one place,
``values_for``, which gives every placeholder a value (empty when nothing is known, as
``{order_id}`` before any order): the node's automation device calls it for greeting and
away messages, the SDK for the quick replies an agent sends, where the plaintext lives.

Pure (no I/O, nothing of the server): the SDK imports it as it is.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

from node.protocol.currencies import format_amount
from node.protocol.names import local_of

PLACEHOLDERS = frozenset({
    "customer_name", "customer_address", "business_name", "business_address",
    "business_phone", "business_website", "agent_name", "order_id", "order_total", "date",
})
#: Placeholders whose value comes from the conversation's latest order.
ORDER_PLACEHOLDERS = frozenset({"order_id", "order_total"})
_TOKEN_RE = re.compile(r"\{\{|\}\}|\{([^{}\n]{0,64})\}|[{}]")


def expand(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``{name}`` replaced by ``values[name]``; placeholders without a
    value stay as they are; ``{{`` and ``}}`` become ``{`` and ``}``."""
    def substitute(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = m.group(1)
        value = values.get(name) if name is not None else None
        return str(value) if value is not None else token
    return _TOKEN_RE.sub(substitute, text)


def placeholders_in(text: str) -> set[str]:
    """The placeholder names ``text`` uses."""
    return {m.group(1) for m in _TOKEN_RE.finditer(text) if m.group(1) is not None}


def problems(text: str) -> list[str]:
    """What in ``text`` is not a known placeholder: ``{unknown}`` tokens and lone
    braces, as written, in order of appearance (empty when the text is fine)."""
    out: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        token = m.group(0)
        if token in ("{{", "}}") or m.group(1) in PLACEHOLDERS:
            continue
        if token not in out:
            out.append(token)
    return out


def display_name(address: str) -> str:
    """A name to greet someone by when nothing better is known: ``anna.berg@x`` ->
    ``Anna Berg``."""
    local = local_of(address)
    words = [w for w in re.split(r"[._\-+]+", local) if w]
    return " ".join(w[:1].upper() + w[1:] for w in words) or local


def local_date(now_ms: int, timezone: str | None) -> str:
    """``YYYY-MM-DD`` at ``now_ms`` in the IANA zone ``timezone`` (UTC if unknown)."""
    try:
        tz = zoneinfo.ZoneInfo(timezone) if timezone else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    return dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).astimezone(tz).date().isoformat()


def values_for(*, profile: Mapping[str, Any], business_address: str, customer: str,
               agent_name: str | None = None, customer_name: str | None = None,
               order: Mapping[str, Any] | None = None, now_ms: int) -> dict[str, str]:
    """A value for every placeholder: the business's from its ``profile`` (the profile
    document's fields), the customer's from their address (or ``customer_name``), the
    agent's name (the business's name when none is given: automatic messages), the
    order's from ``order`` (an order as the node records it), the date in the business's
    time zone."""
    business_name = str(profile.get("name") or display_name(business_address))
    values = {
        "business_name": business_name, "business_address": business_address,
        "business_phone": str(profile.get("phone") or ""),
        "business_website": str(profile.get("website") or ""),
        "customer_address": customer,
        "customer_name": customer_name or display_name(customer),
        "agent_name": agent_name or business_name,
        "order_id": "", "order_total": "",
        "date": local_date(now_ms, profile.get("timezone")),
    }
    if order:
        values["order_id"] = str(order.get("order_id", ""))
        total, currency = order.get("total_minor"), order.get("currency")
        if isinstance(total, int) and isinstance(currency, str):
            values["order_total"] = format_amount(total, currency)
    return values
