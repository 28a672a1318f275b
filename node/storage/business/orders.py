"""Customers' orders (``biz_orders``).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

import json
from typing import Any

from node.storage.business._sql import Db, _dumps, _one


def _order(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is not None:
        row["lines"] = json.loads(row["lines"])
    return row


def insert_order_txn(db: Db, order: dict[str, Any], now_ms: int) -> bool:
    """False when the order id exists."""
    return db.execute(
        "INSERT OR IGNORE INTO biz_orders (order_id, customer, lines, total_minor, currency, "
        "status, created_by, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?)",
        [order["order_id"], order["customer"], _dumps(order["lines"]), order["total_minor"],
         order["currency"], order["created_by"], now_ms, now_ms]).rowcount == 1


def get_order(db: Db, order_id: str) -> dict[str, Any] | None:
    return _order(_one(db, "SELECT * FROM biz_orders WHERE order_id = ?", [order_id]))


def set_order_status_txn(db: Db, order_id: str, status: str, now_ms: int) -> bool:
    return db.execute("UPDATE biz_orders SET status = ?, updated_ms = ? WHERE order_id = ?",
                      [status, now_ms, order_id]).rowcount == 1


def list_orders(db: Db, customer: str) -> list[dict[str, Any]]:
    return [o for o in (_order(r) for r in db.query(
        "SELECT * FROM biz_orders WHERE customer = ? ORDER BY created_ms, order_id",
        [customer])) if o]


def orders_created_between(db: Db, first_ms: int, end_ms: int) -> list[tuple[int, int, str, str]]:
    """(created_ms, total_minor, currency, status) of the orders recorded in the window."""
    return [tuple(r) for r in db.execute(
        "SELECT created_ms, total_minor, currency, status FROM biz_orders "
        "WHERE created_ms >= ? AND created_ms < ? ORDER BY created_ms", [first_ms, end_ms])]
