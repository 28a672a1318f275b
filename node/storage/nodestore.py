"""SQL for the node's own metadata and its signing keys' public halves.

Owns ``node_meta`` and ``node_keys`` (schema in ``node.storage.migrations``).
"""

from __future__ import annotations

from typing import Any

import sqlite_utils


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM node_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta_txn(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute("INSERT INTO node_meta (key, value) VALUES (?, ?) "
               "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])


def record_key_txn(db: sqlite_utils.Database, key_id: str, public_key: str,
                   now_ms: int) -> bool:
    """Record a signing key as current; True when it was new."""
    cur = db.execute("INSERT OR IGNORE INTO node_keys (key_id, public_key, valid_from_ms) "
                     "VALUES (?, ?, ?)", [key_id, public_key, now_ms])
    return cur.rowcount == 1


def expire_other_keys_txn(db: sqlite_utils.Database, current_key_id: str,
                          expired_ms: int) -> None:
    """Mark every key but the current one as expired at ``expired_ms``."""
    db.execute("UPDATE node_keys SET expired_ms = ? WHERE key_id != ? AND expired_ms IS NULL",
               [expired_ms, current_key_id])


def list_keys(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT key_id, public_key, valid_from_ms, expired_ms "
                         "FROM node_keys ORDER BY valid_from_ms"))


def merge_keys_txn(db: sqlite_utils.Database, rows: list[dict[str, Any]]) -> None:
    """Take ``rows`` (``list_keys`` of a newer copy of this node's database) as the truth
    about those keys: their validity and grace periods survive a restore."""
    for row in rows:
        db.execute("INSERT INTO node_keys (key_id, public_key, valid_from_ms, expired_ms) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT (key_id) DO UPDATE SET "
                   "valid_from_ms = excluded.valid_from_ms, expired_ms = excluded.expired_ms",
                   [row["key_id"], row["public_key"], row["valid_from_ms"],
                    row["expired_ms"]])


def meta_or_set_txn(db: sqlite_utils.Database, key: str, value: str) -> str:
    """The stored value of ``key``; stores ``value`` first when there is none."""
    db.execute("INSERT OR IGNORE INTO node_meta (key, value) VALUES (?, ?)", [key, value])
    return db.execute("SELECT value FROM node_meta WHERE key = ?", [key]).fetchone()[0]
