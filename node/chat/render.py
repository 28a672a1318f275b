"""How ``kontor chat`` shows messages, profiles and catalogs: pure text functions."""

from __future__ import annotations

import time
from typing import Any

from node.client import ArchiveEvent, File, Message, Order, OrderStatus, Product, Text
from node.protocol.currencies import format_amount

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def stamp(ts: int) -> str:
    return time.strftime("%H:%M", time.localtime(ts / 1000))


def price(product: dict[str, Any]) -> str:
    return format_amount(int(product.get("price_minor", 0)), str(product.get("currency", "")))


def body(message: Message, products: dict[str, dict[str, Any]],
         recorded: dict[str, Any] | None = None) -> str:
    """The message's content as one line; ``products`` (sku -> catalog entry) names and
    prices what product and order messages refer to; ``recorded``: an order as the
    business node recorded and priced it (team devices)."""
    c = message.content
    if isinstance(c, Text):
        return c.body
    if isinstance(c, File):
        caption = f" {c.caption}" if c.caption else ""
        return f"[file {c.name or c.media_id[:8]}, {c.size} bytes]{caption}"
    if isinstance(c, Product):
        known = products.get(c.sku)
        if known is None:
            return f"[product {c.sku} of {c.catalog}]"
        return f"[product {known.get('name')} ({c.sku}), {price(known)}]"
    if isinstance(c, Order):
        return _recorded(c, recorded) if recorded else _order(c, products)
    if isinstance(c, OrderStatus):
        return f"[order {c.order_id} is now {c.status}]"
    return f"[{message.type}]"


def _recorded(c: Order, recorded: dict[str, Any]) -> str:
    """An order as the business node priced it."""
    if "error" in recorded:
        return f"[order {c.order_id}] (not recorded: {recorded['error']})"
    items = [f"{i['quantity']} x {i['name']} ({i['sku']}) at "
             f"{format_amount(i['unit_price_minor'], recorded['currency'])}"
             for i in recorded["items"]]
    total = format_amount(recorded["total_minor"], recorded["currency"])
    return f"[order {c.order_id}: {', '.join(items)}; total {total}]"


def _order(c: Order, products: dict[str, dict[str, Any]]) -> str:
    parts: list[str] = []
    sums: dict[str, int] = {}
    for item in c.items:
        known = products.get(item.sku)
        if known is None:
            parts.append(f"{item.quantity} x {item.sku}")
            continue
        parts.append(f"{item.quantity} x {known.get('name')} ({item.sku}) at {price(known)}")
        currency = str(known.get("currency"))
        sums[currency] = sums.get(currency, 0) + item.quantity * int(known["price_minor"])
    total = "; total " + " + ".join(format_amount(v, k) for k, v in sums.items()) \
        if sums else ""
    return f"[order {c.order_id}: {', '.join(parts)}{total}]"


def line(number: int, message: Message, who: str, products: dict[str, dict[str, Any]],
         recorded: dict[str, Any] | None = None) -> str:
    """``#3 [14:02] shop@shop.example | anna@shop.example for shop@...: text``."""
    text = body(message, products, recorded)
    return f"#{number} [{stamp(message.ts)}] {message.peer} | {who}: {text}"


def hours(profile: dict[str, Any]) -> str:
    """``mon-fri 09:00-17:00; sat 09:00-12:00, 13:00-16:00; sun closed``."""
    week = profile.get("hours") or {}
    if not week:
        return "no opening hours (always open)"
    days = [", ".join(f"{i['open']}-{i['close']}" for i in week.get(d) or []) or "closed"
            for d in DAYS]
    out, start = [], 0
    for index in range(1, len(DAYS) + 1):
        if index == len(DAYS) or days[index] != days[start]:
            name = DAYS[start] if index - 1 == start else f"{DAYS[start]}-{DAYS[index - 1]}"
            out.append(f"{name} {days[start]}")
            start = index
    return "; ".join(out)


def profile_lines(doc: Any) -> list[str]:
    """A business's profile, as ``/profile`` shows it (``doc``: a BusinessDocument)."""
    p = doc.document
    mark = "verified" if doc.verified else "NOT verified"
    out = [f"{p.get('name')} <{p.get('address')}> - {mark}: {doc.why}"]
    for key in ("description", "category", "postal_address", "phone", "email", "website"):
        if p.get(key):
            out.append(f"  {key.replace('_', ' ')}: {p[key]}")
    state = "open now" if p.get("open_now") else "closed now"
    out.append(f"  hours ({p.get('timezone', 'UTC')}, {state}): {hours(p)}")
    for day, intervals in sorted((p.get("exceptions") or {}).items()):
        spans = ", ".join(f"{i['open']}-{i['close']}" for i in intervals) or "closed"
        out.append(f"  {day}: {spans}")
    return out


def catalog_lines(doc: Any) -> list[str]:
    """A business's products, as ``/catalog`` shows them."""
    mark = "verified" if doc.verified else "NOT verified"
    products = doc.document.get("products") or []
    out = [f"catalog of {doc.server_name} ({len(products)} products) - {mark}"]
    for p in products:
        state = "" if p.get("availability", "in_stock") == "in_stock" \
            else f" ({p['availability'].replace('_', ' ')})"
        out.append(f"  {p['sku']:16} {p.get('name', '')}  {price(p)}{state}")
        if p.get("description"):
            out.append(f"  {'':16} {p['description']}")
    return out


def archive_event(event: ArchiveEvent) -> str:
    """What a person reads of a history event (``client.archive``)."""
    if event.kind == "device_added":
        name = f" ({event.name})" if event.name else ""
        return (f"  (a new device {event.device_id}{name} of {event.address} was added; "
                f"if it is yours or your team's, /approve {event.device_id} gives it the "
                "history)")
    if event.kind == "history_approved":
        return "  (another device gave this one the history; /history shows it)"
    if event.kind == "erased":
        return f"  (the business erased {event.address}: its messages are gone from here)"
    return f"  ({event.kind})"
