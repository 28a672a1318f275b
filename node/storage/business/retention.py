"""Retention: resolved conversations gone stale, and the records that go with them
(orders and statistics stay: they are the business's books).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

from node.storage.business._sql import Db


def stale_resolved_conversations(db: Db, before_ms: int, limit: int) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT customer FROM biz_conversations WHERE status = 'resolved' AND "
        "last_activity_ms < ? ORDER BY last_activity_ms LIMIT ?", [before_ms, limit])]


def delete_conversation_records_txn(db: Db, customer: str) -> None:
    """A conversation with its notes, labels, automation marks and message log; orders
    and statistics stay (they are the business's books)."""
    for table in ("biz_message_log", "biz_automation_marks", "biz_notes",
                  "biz_conversation_labels"):
        db.execute(f"DELETE FROM {table} WHERE customer = ?", [customer])
    db.execute("DELETE FROM biz_conversations WHERE customer = ?", [customer])
