"""Daily counters and first-response times (``biz_stats_daily``, ``biz_response_times``).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

from node.storage.business._sql import Db


def bump_stat_txn(db: Db, day: str, metric: str, amount: int = 1) -> None:
    if amount:
        db.execute("INSERT INTO biz_stats_daily (day, metric, value) VALUES (?, ?, ?) "
                   "ON CONFLICT (day, metric) DO UPDATE SET value = value + excluded.value",
                   [day, metric, amount])


def add_response_time_txn(db: Db, day: str, customer: str, response_ms: int) -> None:
    db.execute("INSERT INTO biz_response_times (day, customer, response_ms) VALUES (?, ?, ?)",
               [day, customer, response_ms])


def stats_between(db: Db, first: str, last: str) -> tuple[dict[str, dict[str, int]],
                                                          dict[str, list[int]]]:
    """Counters per day and response times per day, for days ``first``..``last``."""
    counters: dict[str, dict[str, int]] = {}
    for day, metric, value in db.execute("SELECT day, metric, value FROM biz_stats_daily "
                                         "WHERE day BETWEEN ? AND ?", [first, last]):
        counters.setdefault(day, {})[metric] = value
    times: dict[str, list[int]] = {}
    for day, ms in db.execute("SELECT day, response_ms FROM biz_response_times WHERE day "
                              "BETWEEN ? AND ? ORDER BY response_ms", [first, last]):
        times.setdefault(day, []).append(ms)
    return counters, times
