"""Daily statistics in the business's time zone.

Counted as they happen (by the inbox's and the delivery's transaction hooks, inside the
write that stores the message or the receipt, and by customer-read reports):
conversations started, messages sent to customers, messages received from them, business
messages delivered (first device to acknowledge), business messages read (reported by
the agents' apps, which learn it end to end), customer messages the team read
(``read_by_team``: marked read by a team device), and each first response time (the
first business reply, not an automatic one, after a customer message that opened or
reopened a conversation), whose median is reported per day. Orders are read from the
orders themselves: those recorded that day, and their revenue per currency (cancelled
orders count as orders, not as revenue).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from node.errors import InvalidParameter
from node.services.accounts import Requester, now_ms
from node.services.business import profile as profile_mod
from node.services.business.context import Business, local_day, require_reader, zone
from node.services.business.hours import check_date
from node.storage import business as store

METRICS = ("conversations_started", "messages_sent", "messages_received", "delivered",
           "read", "read_by_team")
MAX_DAYS = 366


def receipt_delivered_txn(db: Any, biz: Business, *, message_id: str, ts: int,
                          **_: Any) -> None:
    """Transaction hook for ``receipt.delivered`` (runs in the core's write transaction):
    count the first delivery of a business message; a receipt for any other message
    changes nothing."""
    if isinstance(message_id, str) and len(message_id) <= 128 and \
            store.mark_delivered_txn(db, message_id, ts):
        tz = zone(profile_mod.current(db, biz.config).get("timezone"))
        store.bump_stat_txn(db, local_day(ts, tz), "delivered")


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _orders_by_day(db: Any, first: date, last: date, tz: ZoneInfo) -> dict[str, dict[str, Any]]:
    """Day -> {"orders": n, "revenue": {currency: minor}} in the zone ``tz``."""
    def edge(day: date) -> int:
        return int(datetime.combine(day, time(), tz).timestamp() * 1000)
    out: dict[str, dict[str, Any]] = {}
    for created, total, currency, status in store.orders_created_between(
            db, edge(first), edge(last + timedelta(days=1))):
        day = out.setdefault(local_day(created, tz), {"orders": 0, "revenue": {}})
        day["orders"] += 1
        if status != "cancelled":
            day["revenue"][currency] = day["revenue"].get(currency, 0) + total
    return out


def report_txn(db: Any, first: date, last: date, tz: ZoneInfo) -> list[dict[str, Any]]:
    counters, times = store.stats_between(db, first.isoformat(), last.isoformat())
    orders = _orders_by_day(db, first, last, tz)
    rows = []
    for day in _days(first, last):
        row: dict[str, Any] = {"date": day}
        row |= {m: counters.get(day, {}).get(m, 0) for m in METRICS}
        samples = times.get(day, [])
        row["responses"] = len(samples)
        row["median_first_response_ms"] = int(median(samples)) if samples else None
        row |= orders.get(day, {"orders": 0, "revenue": {}})
        rows.append(row)
    return rows


def _totals(rows: list[dict[str, Any]], samples: list[int]) -> dict[str, Any]:
    totals: dict[str, Any] = {m: sum(r[m] for r in rows) for m in (*METRICS, "orders")}
    revenue: dict[str, int] = {}
    for row in rows:
        for currency, minor in row["revenue"].items():
            revenue[currency] = revenue.get(currency, 0) + minor
    totals["revenue"] = revenue
    totals["responses"] = len(samples)
    totals["median_first_response_ms"] = int(median(samples)) if samples else None
    return totals


def _window(db: Any, biz: Business, first: str | None, last: str | None,
            days: int | None) -> tuple[date, date, str]:
    tz_name = profile_mod.current(db, biz.config).get("timezone") or "UTC"
    today = date.fromisoformat(local_day(now_ms(), zone(tz_name)))
    end = check_date(last, "to") if last else today
    start = check_date(first, "from") if first else end - timedelta(days=(days or 7) - 1)
    if start > end or (end - start).days >= MAX_DAYS:
        raise InvalidParameter(f"from must not be after to, and at most {MAX_DAYS} days apart",
                               code="INVALID_DATE_RANGE")
    return start, end, tz_name


async def report(biz: Business, who: Requester | None, first: str | None = None,
                 last: str | None = None, days: int | None = None) -> dict[str, Any]:
    """Per-day rows and totals for ``first``..``last`` (default: the last 7 days).
    ``who`` None is the operator's CLI."""
    if who is not None:
        require_reader(who)

    def read(db: Any) -> dict[str, Any]:
        start, end, tz_name = _window(db, biz, first, last, days)
        rows = report_txn(db, start, end, zone(tz_name))
        _, times = store.stats_between(db, start.isoformat(), end.isoformat())
        samples = [ms for day in times.values() for ms in day]
        return {"timezone": tz_name, "from": start.isoformat(), "to": end.isoformat(),
                "days": rows, "totals": _totals(rows, samples)}
    return await biz.db.read_heavy(read)
