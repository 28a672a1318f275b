"""The team's private notes on conversations (``biz_notes``).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

from typing import Any

from node.storage.business._sql import Db


def add_note_txn(db: Db, customer: str, author: str, text: str, now_ms: int) -> int:
    cur = db.execute("INSERT INTO biz_notes (customer, author, text, created_ms) "
                     "VALUES (?, ?, ?, ?)", [customer, author, text, now_ms])
    return int(cur.lastrowid or 0)


def list_notes(db: Db, customer: str) -> list[dict[str, Any]]:
    return list(db.query("SELECT note_id, author, text, created_ms FROM biz_notes WHERE "
                         "customer = ? ORDER BY note_id", [customer]))


def count_notes(db: Db, customer: str) -> int:
    return db.execute("SELECT COUNT(*) FROM biz_notes WHERE customer = ?",
                      [customer]).fetchone()[0]
