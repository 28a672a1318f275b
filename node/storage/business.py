"""SQL of the business layer: documents, conversations, labels, notes, quick replies,
automation marks, catalog, orders, blocks, the message log, statistics, data rights and
retention.

Owns every ``biz_*`` table (schema in ``node.storage.business_migrations``) and touches
no other. Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import sqlite_utils

Db = sqlite_utils.Database


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _one(db: Db, sql: str, params: list[Any]) -> dict[str, Any] | None:
    rows = list(db.query(sql, params))
    return rows[0] if rows else None


# --- documents (profile, automation settings, catalog version) ----------------------------

def get_document(db: Db, name: str) -> dict[str, Any] | None:
    """``{"doc", "version", "updated_ms"}`` of a stored document, or None."""
    row = _one(db, "SELECT doc, version, updated_ms FROM biz_documents WHERE name = ?", [name])
    if row is None:
        return None
    return {"doc": json.loads(row["doc"]), "version": row["version"],
            "updated_ms": row["updated_ms"]}


def put_document_txn(db: Db, name: str, doc: dict[str, Any], now_ms: int) -> int:
    """Store ``doc`` under ``name``, incrementing its version; return the new version."""
    db.execute("INSERT INTO biz_documents (name, doc, version, updated_ms) VALUES (?, ?, 1, ?) "
               "ON CONFLICT (name) DO UPDATE SET doc = excluded.doc, "
               "version = version + 1, updated_ms = excluded.updated_ms",
               [name, _dumps(doc), now_ms])
    return db.execute("SELECT version FROM biz_documents WHERE name = ?", [name]).fetchone()[0]


# --- conversations ----------------------------------------------------------------------

def get_conversation(db: Db, customer: str) -> dict[str, Any] | None:
    row = _one(db, "SELECT * FROM biz_conversations WHERE customer = ?", [customer])
    if row is not None:
        row["labels"] = conversation_labels(db, customer)
        row["notes"] = db.execute("SELECT COUNT(*) FROM biz_notes WHERE customer = ?",
                                  [customer]).fetchone()[0]
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
    labels = _labels_of(db, [row["customer"] for row in rows])
    for row in rows:
        row["labels"] = labels.get(row["customer"], [])
    return rows


def conversation_labels(db: Db, customer: str) -> list[dict[str, Any]]:
    return _labels_of(db, [customer]).get(customer, [])


def _labels_of(db: Db, customers: list[str]) -> dict[str, list[dict[str, Any]]]:
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


# --- labels -------------------------------------------------------------------------------

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


# --- notes --------------------------------------------------------------------------------

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


# --- quick replies --------------------------------------------------------------------------

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


# --- automation marks -----------------------------------------------------------------------

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


# --- catalog --------------------------------------------------------------------------------

_PRODUCT_COLS = ("sku, name, description, price_minor, currency, image, availability, "
                 "created_ms, updated_ms")


def list_products(db: Db, include_discontinued: bool = True) -> list[dict[str, Any]]:
    where = "" if include_discontinued else " WHERE availability != 'discontinued'"
    return list(db.query(f"SELECT {_PRODUCT_COLS} FROM biz_products{where} ORDER BY sku"))


def get_product(db: Db, sku: str) -> dict[str, Any] | None:
    return _one(db, f"SELECT {_PRODUCT_COLS} FROM biz_products WHERE sku = ?", [sku])


def count_products(db: Db) -> int:
    return db.execute("SELECT COUNT(*) FROM biz_products").fetchone()[0]


def insert_product_txn(db: Db, product: dict[str, Any], now_ms: int) -> bool:
    """False when the sku exists."""
    return db.execute(
        "INSERT OR IGNORE INTO biz_products (sku, name, description, price_minor, currency, "
        "image, availability, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [product["sku"], product["name"], product["description"], product["price_minor"],
         product["currency"], product["image"], product["availability"], now_ms,
         now_ms]).rowcount == 1


def update_product_txn(db: Db, product: dict[str, Any], now_ms: int) -> bool:
    return db.execute(
        "UPDATE biz_products SET name = ?, description = ?, price_minor = ?, currency = ?, "
        "image = ?, availability = ?, updated_ms = ? WHERE sku = ?",
        [product["name"], product["description"], product["price_minor"], product["currency"],
         product["image"], product["availability"], now_ms, product["sku"]]).rowcount == 1


def delete_product_txn(db: Db, sku: str) -> bool:
    return db.execute("DELETE FROM biz_products WHERE sku = ?", [sku]).rowcount == 1


def product_images(db: Db) -> set[str]:
    return {r[0] for r in db.execute("SELECT image FROM biz_products WHERE image IS NOT NULL")}


# --- orders ---------------------------------------------------------------------------------

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


# --- blocks ---------------------------------------------------------------------------------

def add_block_txn(db: Db, target: str, kind: str, reason: str, created_by: str,
                  now_ms: int) -> bool:
    return db.execute("INSERT OR IGNORE INTO biz_blocks VALUES (?, ?, ?, ?, ?)",
                      [target, kind, reason, created_by, now_ms]).rowcount == 1


def remove_block_txn(db: Db, target: str) -> bool:
    return db.execute("DELETE FROM biz_blocks WHERE target = ?", [target]).rowcount == 1


def list_blocks(db: Db) -> list[dict[str, Any]]:
    return list(db.query("SELECT target, kind, reason, created_by, created_ms FROM biz_blocks "
                         "ORDER BY created_ms, target"))


def is_blocked_txn(db: Db, sender: str) -> bool:
    """Whether ``sender`` (an address) or its server is blocked; usable in any transaction."""
    server = sender.partition("@")[2].lower()
    return db.execute("SELECT 1 FROM biz_blocks WHERE (kind = 'address' AND target = ?) OR "
                      "(kind = 'server' AND target = ?) LIMIT 1",
                      [sender, server]).fetchone() is not None


def is_server_blocked(db: Db, server: str) -> bool:
    """Whether the whole server ``server`` is blocked."""
    return db.execute("SELECT 1 FROM biz_blocks WHERE kind = 'server' AND target = ? LIMIT 1",
                      [server.lower()]).fetchone() is not None


# --- message log and statistics -------------------------------------------------------------

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


# --- data rights: what the node holds about one address ------------------------------------

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


# --- retention -----------------------------------------------------------------------------

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


def expire_message_log_txn(db: Db, before_ms: int) -> int:
    return db.execute("DELETE FROM biz_message_log WHERE ts < ?", [before_ms]).rowcount


def customer_addresses(db: Db) -> set[str]:
    """Every address the business tables name (for re-applying erasures)."""
    return {r[0] for r in db.execute(
        "SELECT customer FROM biz_conversations UNION SELECT customer FROM biz_message_log "
        "UNION SELECT customer FROM biz_orders UNION "
        "SELECT target FROM biz_blocks WHERE kind = 'address'")}
