"""When a greeting or away message last went to whom (``biz_automation_marks``).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

from node.storage.business._sql import Db


def record_automation_sent_txn(db: Db, customer: str, kind: str, sent_ms: int) -> None:
    """Remember that the greeting or away message went to ``customer`` at ``sent_ms``
    (only while the conversation exists: a customer erased meanwhile stays erased)."""
    db.execute("INSERT INTO biz_automation_marks (customer, kind, sent_ms) "
               "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM biz_conversations "
               "WHERE customer = ?) "
               "ON CONFLICT (customer, kind) DO UPDATE SET sent_ms = excluded.sent_ms",
               [customer, kind, sent_ms, customer])


def automation_marks(db: Db, customer: str) -> dict[str, int]:
    return {k: ms for k, ms in db.execute(
        "SELECT kind, sent_ms FROM biz_automation_marks WHERE customer = ?", [customer])}
