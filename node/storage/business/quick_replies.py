"""Quick reply templates (``biz_quick_replies``).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

from typing import Any

from node.storage.business._sql import Db, _one


def list_quick_replies(db: Db) -> list[dict[str, Any]]:
    return list(db.query("SELECT shortcut, text, created_ms, updated_ms FROM biz_quick_replies "
                         "ORDER BY shortcut"))


def get_quick_reply(db: Db, shortcut: str) -> dict[str, Any] | None:
    return _one(db, "SELECT shortcut, text, created_ms, updated_ms FROM biz_quick_replies "
                    "WHERE shortcut = ?", [shortcut])


def count_quick_replies(db: Db) -> int:
    return db.execute("SELECT COUNT(*) FROM biz_quick_replies").fetchone()[0]


def create_quick_reply_txn(db: Db, shortcut: str, text: str, now_ms: int) -> bool:
    return db.execute("INSERT OR IGNORE INTO biz_quick_replies VALUES (?, ?, ?, ?)",
                      [shortcut, text, now_ms, now_ms]).rowcount == 1


def update_quick_reply_txn(db: Db, shortcut: str, text: str, now_ms: int) -> bool:
    return db.execute("UPDATE biz_quick_replies SET text = ?, updated_ms = ? WHERE shortcut = ?",
                      [text, now_ms, shortcut]).rowcount == 1


def delete_quick_reply_txn(db: Db, shortcut: str) -> bool:
    return db.execute("DELETE FROM biz_quick_replies WHERE shortcut = ?",
                      [shortcut]).rowcount == 1
