"""Ordered schema migrations. Append-only: never edit one that has shipped.

Applied names are recorded in sqlite-utils' ``_sqlite_migrations`` table (the schema
version is the number applied); ``kontor run`` and ``kontor init`` apply what is pending.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

MIGRATIONS = Migrations("kontor")


@MIGRATIONS(name="0001_node")
def m0001_node(db: sqlite_utils.Database) -> None:
    """Node metadata and the public halves of the node's signing keys."""
    db.execute("""
        CREATE TABLE node_meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE node_keys (
            key_id TEXT PRIMARY KEY,
            public_key TEXT NOT NULL,
            valid_from_ms INTEGER NOT NULL,
            expired_ms INTEGER
        ) STRICT""")


@MIGRATIONS(name="0002_accounts_devices")
def m0002_accounts_devices(db: sqlite_utils.Database) -> None:
    """Accounts, one-time invites, devices with their tokens and keys."""
    db.execute("""
        CREATE TABLE accounts (
            address TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('admin', 'agent', 'customer', 'automation')),
            password_hash TEXT,
            created_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE invites (
            token_hash TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            expires_ms INTEGER NOT NULL,
            used_by TEXT
        ) STRICT""")
    db.execute("""
        CREATE TABLE devices (
            pk INTEGER PRIMARY KEY,
            address TEXT NOT NULL REFERENCES accounts (address) ON DELETE CASCADE,
            device_id TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            token_hash TEXT UNIQUE,
            created_ms INTEGER NOT NULL,
            last_seen_ms INTEGER NOT NULL,
            device_keys TEXT,
            signed_prekey TEXT,
            UNIQUE (address, device_id)
        ) STRICT""")
    db.execute("""
        CREATE TABLE one_time_prekeys (
            device_pk INTEGER NOT NULL REFERENCES devices (pk) ON DELETE CASCADE,
            key_id TEXT NOT NULL,
            doc TEXT NOT NULL,
            PRIMARY KEY (device_pk, key_id)
        ) STRICT""")


@MIGRATIONS(name="0003_messaging")
def m0003_messaging(db: sqlite_utils.Database) -> None:
    """Per-device event streams, idempotent sends, message metadata, media."""
    db.execute("""
        CREATE TABLE events (
            pos INTEGER PRIMARY KEY AUTOINCREMENT,
            device_pk INTEGER NOT NULL REFERENCES devices (pk) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            message_id TEXT,
            payload TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("CREATE INDEX events_by_device ON events (device_pk, pos)")
    db.execute("CREATE INDEX events_by_age ON events (created_ms)")
    db.execute("""
        CREATE TABLE send_txns (
            address TEXT NOT NULL,
            device_id TEXT NOT NULL,
            txn_id TEXT NOT NULL,
            body_hash TEXT NOT NULL,
            response TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            PRIMARY KEY (address, device_id, txn_id)
        ) STRICT""")
    db.execute("""
        CREATE TABLE messages (
            message_id TEXT PRIMARY KEY,
            sender TEXT NOT NULL,
            sender_device TEXT NOT NULL,
            recipient TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("CREATE INDEX messages_by_recipient ON messages (recipient, created_ms)")
    db.execute("""
        CREATE TABLE media (
            media_id TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            uploader TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        ) STRICT""")


@MIGRATIONS(name="0004_device_keys_never_reused", transactional=False)
def m0004_device_keys_never_reused(db: sqlite_utils.Database) -> None:
    """Rebuild ``devices`` with ``AUTOINCREMENT``, so a revoked device's key is never given
    to a new device (an old socket or row naming it would otherwise reach the new one).

    SQLite's table rebuild: foreign keys off (else dropping the old table would cascade
    into events and prekeys), copy, drop, rename, check, all in one transaction. Safe to
    rerun: a table already declared with AUTOINCREMENT is left alone.
    """
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                     "name = 'devices'").fetchone()[0]
    if "AUTOINCREMENT" in sql.upper():
        return
    db.execute("PRAGMA foreign_keys = OFF")
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            _rebuild_devices(db)
        except BaseException:
            db.conn.rollback()
            raise
        db.execute("COMMIT")
    finally:
        db.execute("PRAGMA foreign_keys = ON")


def _rebuild_devices(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE devices_new (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            address TEXT NOT NULL REFERENCES accounts (address) ON DELETE CASCADE,
            device_id TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            token_hash TEXT UNIQUE,
            created_ms INTEGER NOT NULL,
            last_seen_ms INTEGER NOT NULL,
            device_keys TEXT,
            signed_prekey TEXT,
            UNIQUE (address, device_id)
        ) STRICT""")
    db.execute("INSERT INTO devices_new (pk, address, device_id, name, token_hash, "
               "created_ms, last_seen_ms, device_keys, signed_prekey) SELECT pk, address, "
               "device_id, name, token_hash, created_ms, last_seen_ms, device_keys, "
               "signed_prekey FROM devices")
    db.execute("DROP TABLE devices")
    db.execute("ALTER TABLE devices_new RENAME TO devices")
    if db.execute("PRAGMA foreign_key_check").fetchall():
        raise RuntimeError("devices rebuild left dangling references; nothing changed")


@MIGRATIONS(name="0005_retired_addresses")
def m0005_retired_addresses(db: sqlite_utils.Database) -> None:
    """Addresses of removed or erased accounts (as hashes), never self-registered again:
    rows elsewhere and on other nodes (conversations, cached device lists, history) still
    name them, and a newcomer must not inherit what they name."""
    db.execute("""
        CREATE TABLE retired_addresses (
            address_hash TEXT PRIMARY KEY,
            retired_ms INTEGER NOT NULL
        ) STRICT""")


@MIGRATIONS(name="0006_guests")
def m0006_guests(db: sqlite_utils.Database) -> None:
    """Guest accounts made by the web chat, and the proof-of-work challenges used (kept
    until they expire, so that each is used once)."""
    db.execute("""
        CREATE TABLE guests (
            address TEXT PRIMARY KEY REFERENCES accounts (address) ON DELETE CASCADE,
            created_ms INTEGER NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE guest_challenges (
            challenge_hash TEXT PRIMARY KEY,
            expires_ms INTEGER NOT NULL
        ) STRICT""")


@MIGRATIONS(name="0007_event_subject")
def m0007_event_subject(db: sqlite_utils.Database) -> None:
    """The address an event is about when no message is (a conversation event's
    customer), so that erasure finds it without reading payloads; filled once here for
    the conversation events already queued."""
    db.execute("ALTER TABLE events ADD COLUMN subject TEXT")
    db.execute("UPDATE events SET subject = json_extract(payload, '$.conversation.customer') "
               "WHERE kind = 'conversation'")
    db.execute("CREATE INDEX events_by_subject ON events (subject) WHERE subject IS NOT NULL")


@MIGRATIONS(name="0008_revoked_tokens")
def m0008_revoked_tokens(db: sqlite_utils.Database) -> None:
    """Token hashes of devices that were logged out, revoked or whose account was
    removed: a device that was offline then is told ``DEVICE_REVOKED`` on its next
    request (and wipes its store), not just "unknown token". A hash names nobody."""
    db.execute("""
        CREATE TABLE revoked_tokens (
            token_hash TEXT PRIMARY KEY,
            revoked_ms INTEGER NOT NULL
        ) STRICT""")
