"""Labels and the labels attached to conversations (``biz_labels``, ``biz_conversation_labels``).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from node.storage.business._sql import Db, _one


def list_labels(db: Db) -> list[dict[str, Any]]:
    return list(db.query("SELECT l.label_id, l.name, l.color, COUNT(cl.customer) AS "
                         "conversations FROM biz_labels l LEFT JOIN biz_conversation_labels cl "
                         "ON cl.label_id = l.label_id GROUP BY l.label_id ORDER BY l.label_id"))


def count_labels(db: Db) -> int:
    return db.execute("SELECT COUNT(*) FROM biz_labels").fetchone()[0]


def get_label(db: Db, label_id: int) -> dict[str, Any] | None:
    return _one(db, "SELECT label_id, name, color FROM biz_labels WHERE label_id = ?",
                [label_id])


def label_by_name(db: Db, name: str) -> dict[str, Any] | None:
    return _one(db, "SELECT label_id, name, color FROM biz_labels WHERE name = ?", [name])


def create_label_txn(db: Db, name: str, color: str, now_ms: int) -> int | None:
    """The new label's id; None when the name is taken (case-insensitively)."""
    try:
        cur = db.execute("INSERT INTO biz_labels (name, color, created_ms) VALUES (?, ?, ?)",
                         [name, color, now_ms])
    except sqlite3.IntegrityError:
        return None
    return int(cur.lastrowid or 0)


def update_label_txn(db: Db, label_id: int, name: str, color: str) -> bool | None:
    """True when updated, False when unknown, None when the new name is taken."""
    try:
        return db.execute("UPDATE biz_labels SET name = ?, color = ? WHERE label_id = ?",
                          [name, color, label_id]).rowcount == 1
    except sqlite3.IntegrityError:
        return None


def label_customers(db: Db, label_id: int) -> list[str]:
    return [r[0] for r in db.execute("SELECT customer FROM biz_conversation_labels WHERE "
                                     "label_id = ? ORDER BY customer", [label_id])]


def delete_label_txn(db: Db, label_id: int) -> bool:
    return db.execute("DELETE FROM biz_labels WHERE label_id = ?", [label_id]).rowcount == 1


def attach_label_txn(db: Db, customer: str, label_id: int, now_ms: int) -> bool:
    """Attach; False when it already was."""
    return db.execute("INSERT OR IGNORE INTO biz_conversation_labels (customer, label_id, "
                      "attached_ms) VALUES (?, ?, ?)",
                      [customer, label_id, now_ms]).rowcount == 1


def detach_label_txn(db: Db, customer: str, label_id: int) -> bool:
    return db.execute("DELETE FROM biz_conversation_labels WHERE customer = ? AND label_id = ?",
                      [customer, label_id]).rowcount == 1


def labels_of(db: Db, customers: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each customer's labels, in the order they were attached (one query per 500)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(customers), 500):
        chunk = customers[i:i + 500]
        for row in db.query(
                f"SELECT cl.customer, l.label_id, l.name, l.color FROM biz_conversation_labels "
                f"cl JOIN biz_labels l ON l.label_id = cl.label_id WHERE cl.customer IN "
                f"({','.join('?' * len(chunk))}) ORDER BY cl.attached_ms, l.label_id", chunk):
            found.setdefault(row.pop("customer"), []).append(row)
    return found
