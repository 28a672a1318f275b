"""Schema of the business layer: its own sqlite-utils migration set ("kontor-business").

Append-only, like the core's set: never edit a migration that has shipped. Every table
is prefixed ``biz_``; only the package ``node/storage/business/`` reads or writes them.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

MIGRATIONS = Migrations("kontor-business")

DEFAULT_LABELS = (
    ("New customer", "#2e86de"),
    ("New order", "#f39c12"),
    ("Pending payment", "#e74c3c"),
    ("Paid", "#27ae60"),
    ("Order complete", "#8e44ad"),
)


@MIGRATIONS(name="0001_business")
def m0001_business(db: sqlite_utils.Database) -> None:
    """Settings documents, conversations, labels, notes, quick replies, automation marks."""
    db.execute("""
        CREATE TABLE biz_documents (
            name TEXT PRIMARY KEY,
            doc TEXT NOT NULL,
            version INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE biz_conversations (
            customer TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('customer', 'private')),
            status TEXT NOT NULL CHECK (status IN ('open', 'pending', 'resolved')),
            assignee TEXT,
            unread INTEGER NOT NULL DEFAULT 0,
            created_ms INTEGER NOT NULL,
            last_activity_ms INTEGER NOT NULL,
            last_incoming_ms INTEGER,
            last_outgoing_ms INTEGER,
            read_ms INTEGER,
            customer_read_ms INTEGER,
            awaiting_since_ms INTEGER,
            first_response_ms INTEGER,
            session_started_ms INTEGER,
            updated_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("CREATE INDEX biz_conversations_inbox ON biz_conversations "
               "(last_activity_ms DESC, customer DESC)")
    db.execute("""
        CREATE TABLE biz_labels (
            label_id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            color TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE biz_conversation_labels (
            customer TEXT NOT NULL REFERENCES biz_conversations (customer) ON DELETE CASCADE,
            label_id INTEGER NOT NULL REFERENCES biz_labels (label_id) ON DELETE CASCADE,
            attached_ms INTEGER NOT NULL,
            PRIMARY KEY (customer, label_id)
        ) STRICT""")
    db.execute("CREATE INDEX biz_conversation_labels_by_label ON biz_conversation_labels "
               "(label_id)")
    db.execute("""
        CREATE TABLE biz_notes (
            note_id INTEGER PRIMARY KEY AUTOINCREMENT,
            customer TEXT NOT NULL REFERENCES biz_conversations (customer) ON DELETE CASCADE,
            author TEXT NOT NULL,
            text TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("CREATE INDEX biz_notes_by_customer ON biz_notes (customer, note_id)")
    db.execute("""
        CREATE TABLE biz_quick_replies (
            shortcut TEXT PRIMARY KEY,
            text TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE biz_automation_marks (
            customer TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('greeting', 'away')),
            sent_ms INTEGER NOT NULL,
            PRIMARY KEY (customer, kind)
        ) STRICT""")
    now = 0
    for name, color in DEFAULT_LABELS:
        db.execute("INSERT INTO biz_labels (name, color, created_ms) VALUES (?, ?, ?)",
                   [name, color, now])


@MIGRATIONS(name="0002_catalog_orders_blocks_stats")
def m0002_catalog_orders_blocks_stats(db: sqlite_utils.Database) -> None:
    """Catalog, orders, blocks, the per-message log and daily statistics."""
    db.execute("""
        CREATE TABLE biz_products (
            sku TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
            currency TEXT NOT NULL,
            image TEXT,
            availability TEXT NOT NULL
                CHECK (availability IN ('in_stock', 'out_of_stock', 'discontinued')),
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE biz_orders (
            order_id TEXT PRIMARY KEY,
            customer TEXT NOT NULL,
            lines TEXT NOT NULL,
            total_minor INTEGER NOT NULL,
            currency TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN
                ('new', 'confirmed', 'paid', 'shipped', 'completed', 'cancelled')),
            created_by TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("CREATE INDEX biz_orders_by_customer ON biz_orders (customer, created_ms)")
    db.execute("""
        CREATE TABLE biz_blocks (
            target TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('address', 'server')),
            reason TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE biz_message_log (
            message_id TEXT PRIMARY KEY,
            customer TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
            ts INTEGER NOT NULL,
            delivered_ms INTEGER,
            read_ms INTEGER
        ) STRICT""")
    db.execute("CREATE INDEX biz_message_log_by_customer ON biz_message_log "
               "(customer, direction, ts)")
    db.execute("CREATE INDEX biz_message_log_by_ts ON biz_message_log (ts)")
    db.execute("""
        CREATE TABLE biz_stats_daily (
            day TEXT NOT NULL,
            metric TEXT NOT NULL,
            value INTEGER NOT NULL,
            PRIMARY KEY (day, metric)
        ) STRICT""")
    db.execute("""
        CREATE TABLE biz_response_times (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            day TEXT NOT NULL,
            customer TEXT NOT NULL,
            response_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("CREATE INDEX biz_response_times_by_day ON biz_response_times (day)")
    db.execute("CREATE INDEX biz_response_times_by_customer ON biz_response_times (customer)")


@MIGRATIONS(name="0003_waiting_since")
def m0003_waiting_since(db: sqlite_utils.Database) -> None:
    """``waiting_since_ms``: since when the customer's oldest unanswered message waits
    for a person on the team (null when the team wrote last)."""
    db.execute("ALTER TABLE biz_conversations ADD COLUMN waiting_since_ms INTEGER")
    db.execute("""
        UPDATE biz_conversations SET waiting_since_ms = (
            SELECT MIN(l.ts) FROM biz_message_log l
            WHERE l.customer = biz_conversations.customer AND l.direction = 'in'
              AND l.ts > COALESCE(biz_conversations.last_outgoing_ms, -1))
        WHERE last_incoming_ms > COALESCE(last_outgoing_ms, -1)""")
    db.execute("UPDATE biz_conversations SET waiting_since_ms = last_incoming_ms "
               "WHERE waiting_since_ms IS NULL AND last_incoming_ms > "
               "COALESCE(last_outgoing_ms, -1)")
    # Until now only the conversation knew what the team had read; the log says it too.
    db.execute("""
        UPDATE biz_message_log SET read_ms = (
            SELECT c.read_ms FROM biz_conversations c WHERE c.customer = biz_message_log.customer)
        WHERE direction = 'in' AND read_ms IS NULL AND ts <= (
            SELECT COALESCE(c.read_ms, -1) FROM biz_conversations c
            WHERE c.customer = biz_message_log.customer)""")


@MIGRATIONS(name="0004_product_stock")
def m0004_product_stock(db: sqlite_utils.Database) -> None:
    """``stock``: how many of a product are left (null: not counted; the availability
    is then set by hand)."""
    db.execute("ALTER TABLE biz_products ADD COLUMN stock INTEGER "
               "CHECK (stock IS NULL OR stock >= 0)")
