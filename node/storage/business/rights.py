"""What the business tables hold about one address: its export, its erasure, and the
addresses they name (for re-applying erasures). The one place where a single address's
rows are gathered from every ``biz_*`` table (all of them this package's).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

from typing import Any

from node.storage.business._sql import Db
from node.storage.business.conversations import get_conversation
from node.storage.business.notes import list_notes
from node.storage.business.orders import list_orders


def customer_records(db: Db, customer: str) -> dict[str, Any]:
    """Every business-layer row about ``customer``."""
    q = lambda sql: list(db.query(sql, [customer]))  # noqa: E731
    return {
        "conversation": get_conversation(db, customer),
        "notes": list_notes(db, customer),
        "orders": list_orders(db, customer),
        "automation_marks": q("SELECT kind, sent_ms FROM biz_automation_marks "
                              "WHERE customer = ?"),
        "message_log": q("SELECT message_id, direction, ts, delivered_ms, read_ms FROM "
                         "biz_message_log WHERE customer = ? ORDER BY ts"),
        "response_times": q("SELECT day, response_ms FROM biz_response_times "
                            "WHERE customer = ? ORDER BY id"),
        "blocks": q("SELECT target, kind, reason, created_by, created_ms FROM biz_blocks "
                    "WHERE target = ?"),
    }


def erase_customer_txn(db: Db, customer: str) -> tuple[set[str], dict[str, int]]:
    """Remove every business-layer row about ``customer`` (its conversation, labels,
    notes, orders, automation marks, message log, response times, a block on exactly
    this address); return the ids of the messages the log named (their rows elsewhere
    go too) and a count per table."""
    ids = {r[0] for r in db.execute("SELECT message_id FROM biz_message_log WHERE "
                                    "customer = ?", [customer])}
    removed = {}
    for table in ("biz_message_log", "biz_response_times", "biz_automation_marks",
                  "biz_orders", "biz_notes", "biz_conversation_labels"):
        removed[table] = db.execute(f"DELETE FROM {table} WHERE customer = ?",
                                    [customer]).rowcount
    removed["biz_blocks"] = db.execute("DELETE FROM biz_blocks WHERE target = ?",
                                       [customer]).rowcount
    removed["biz_conversations"] = db.execute("DELETE FROM biz_conversations WHERE "
                                              "customer = ?", [customer]).rowcount
    return ids, removed


def customer_addresses(db: Db) -> set[str]:
    """Every address the business tables name (for re-applying erasures)."""
    return {r[0] for r in db.execute(
        "SELECT customer FROM biz_conversations UNION SELECT customer FROM biz_message_log "
        "UNION SELECT customer FROM biz_orders UNION "
        "SELECT target FROM biz_blocks WHERE kind = 'address'")}
