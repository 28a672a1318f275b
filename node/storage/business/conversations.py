"""The team inbox's conversations (``biz_conversations``): one row per customer, listed
with their labels (from ``labels``) and how many notes they have (``biz_notes``, of
``notes``) in two queries whatever the length of the list.

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

from typing import Any

from node.storage.business._sql import Db, _one
from node.storage.business.labels import labels_of
from node.storage.business.notes import count_notes


def get_conversation(db: Db, customer: str) -> dict[str, Any] | None:
    row = _one(db, "SELECT * FROM biz_conversations WHERE customer = ?", [customer])
    if row is not None:
        row["labels"] = conversation_labels(db, customer)
        row["notes"] = count_notes(db, customer)
    return row


def insert_conversation_txn(db: Db, customer: str, kind: str, ts: int, now_ms: int) -> None:
    db.execute("INSERT INTO biz_conversations (customer, kind, status, created_ms, "
               "last_activity_ms, updated_ms) VALUES (?, ?, 'open', ?, ?, ?)",
               [customer, kind, ts, ts, now_ms])


CONVERSATION_FIELDS = frozenset({
    "kind", "status", "assignee", "unread", "last_activity_ms", "last_incoming_ms",
    "last_outgoing_ms", "read_ms", "customer_read_ms", "awaiting_since_ms",
    "first_response_ms", "session_started_ms", "waiting_since_ms", "updated_ms"})


def update_conversation_txn(db: Db, customer: str, changes: dict[str, Any]) -> bool:
    """Set the given columns (names from ``CONVERSATION_FIELDS``)."""
    if not changes:
        return True
    unknown = set(changes) - CONVERSATION_FIELDS
    if unknown:
        raise ValueError(f"not conversation columns: {sorted(unknown)}")
    cols = ", ".join(f"{name} = ?" for name in changes)
    return db.execute(f"UPDATE biz_conversations SET {cols} WHERE customer = ?",
                      [*changes.values(), customer]).rowcount == 1


def list_conversations(db: Db, *, status: str | None, label_id: int | None,
                       assignee: str | None, kind: str | None, limit: int,
                       after: tuple[int, str] | None,
                       waiting: bool | None = None) -> list[dict[str, Any]]:
    """Conversations by last activity, newest first, after the keyset ``after``."""
    where: list[str] = []
    params: list[object] = []
    if waiting is not None:
        where.append(f"c.waiting_since_ms IS {'NOT ' if waiting else ''}NULL")
    if status is not None:
        where.append("c.status = ?")
        params.append(status)
    if kind is not None:
        where.append("c.kind = ?")
        params.append(kind)
    if assignee == "":
        where.append("c.assignee IS NULL")
    elif assignee is not None:
        where.append("c.assignee = ?")
        params.append(assignee)
    if label_id is not None:
        where.append("EXISTS (SELECT 1 FROM biz_conversation_labels l WHERE "
                     "l.customer = c.customer AND l.label_id = ?)")
        params.append(label_id)
    if after is not None:
        where.append("(c.last_activity_ms < ? OR (c.last_activity_ms = ? AND c.customer < ?))")
        params += [after[0], after[0], after[1]]
    sql = ("SELECT c.*, (SELECT COUNT(*) FROM biz_notes n WHERE n.customer = c.customer) "
           "AS notes FROM biz_conversations c")
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY c.last_activity_ms DESC, c.customer DESC LIMIT ?"
    rows = list(db.query(sql, [*params, limit]))
    labels = labels_of(db, [row["customer"] for row in rows])
    for row in rows:
        row["labels"] = labels.get(row["customer"], [])
    return rows


def conversation_labels(db: Db, customer: str) -> list[dict[str, Any]]:
    return labels_of(db, [customer]).get(customer, [])
