"""Per business message: customer, direction, delivery and read times (``biz_message_log``).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

from node.storage.business._sql import Db


def log_message_txn(db: Db, message_id: str, customer: str, direction: str, ts: int) -> bool:
    """Record one business message's metadata; False when already recorded."""
    return db.execute("INSERT OR IGNORE INTO biz_message_log (message_id, customer, direction, "
                      "ts) VALUES (?, ?, ?, ?)",
                      [message_id, customer, direction, ts]).rowcount == 1


def mark_delivered_txn(db: Db, message_id: str, ts: int) -> bool:
    """First delivery of an outgoing business message; False otherwise."""
    return db.execute("UPDATE biz_message_log SET delivered_ms = ? WHERE message_id = ? AND "
                      "direction = 'out' AND delivered_ms IS NULL",
                      [ts, message_id]).rowcount == 1


def mark_read_txn(db: Db, customer: str, up_to_ms: int, now_ms: int) -> int:
    """Mark outgoing messages to ``customer`` up to ``up_to_ms`` read; return how many."""
    return db.execute("UPDATE biz_message_log SET read_ms = ? WHERE customer = ? AND "
                      "direction = 'out' AND ts <= ? AND read_ms IS NULL",
                      [now_ms, customer, up_to_ms]).rowcount


def incoming_ts(db: Db, customer: str, message_id: str) -> int | None:
    """When the customer's message ``message_id`` was stored, if it is in the log."""
    row = db.execute("SELECT ts FROM biz_message_log WHERE message_id = ? AND customer = ? "
                     "AND direction = 'in'", [message_id, customer]).fetchone()
    return None if row is None else row[0]


def mark_team_read_txn(db: Db, customer: str, up_to_ms: int | None, now_ms: int
                       ) -> tuple[int, int]:
    """Mark the customer's messages up to ``up_to_ms`` (None: all) read by the team;
    return (how many were newly marked, how many stay unread)."""
    marked = db.execute(
        "UPDATE biz_message_log SET read_ms = ? WHERE customer = ? AND direction = 'in' "
        "AND read_ms IS NULL AND (? IS NULL OR ts <= ?)",
        [now_ms, customer, up_to_ms, up_to_ms]).rowcount
    left = db.execute("SELECT COUNT(*) FROM biz_message_log WHERE customer = ? AND "
                      "direction = 'in' AND read_ms IS NULL", [customer]).fetchone()[0]
    return marked, left


def expire_message_log_txn(db: Db, before_ms: int) -> int:
    return db.execute("DELETE FROM biz_message_log WHERE ts < ?", [before_ms]).rowcount
