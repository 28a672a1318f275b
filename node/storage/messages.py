"""SQL for per-device event streams, idempotent send transactions and message metadata.

Owns ``events``, ``send_txns``, ``messages`` and ``media`` (schema in
``node.storage.migrations``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlite_utils


def get_send_txn(db: sqlite_utils.Database, address: str, device_id: str,
                 txn_id: str) -> tuple[str, dict[str, Any]] | None:
    row = db.execute("SELECT body_hash, response FROM send_txns WHERE address = ? AND "
                     "device_id = ? AND txn_id = ?", [address, device_id, txn_id]).fetchone()
    return (row[0], json.loads(row[1])) if row else None


def record_send_txn(db: sqlite_utils.Database, address: str, device_id: str, txn_id: str,
                    body_hash: str, response: dict[str, Any], now_ms: int) -> None:
    db.execute("INSERT INTO send_txns (address, device_id, txn_id, body_hash, response, "
               "created_ms) VALUES (?, ?, ?, ?, ?, ?)",
               [address, device_id, txn_id, body_hash, json.dumps(response), now_ms])


def record_message_txn(db: sqlite_utils.Database, message_id: str, sender: str,
                       sender_device: str, recipient: str, now_ms: int) -> None:
    db.execute("INSERT OR IGNORE INTO messages (message_id, sender, sender_device, recipient, "
               "created_ms) VALUES (?, ?, ?, ?, ?)",
               [message_id, sender, sender_device, recipient, now_ms])


def get_message(db: sqlite_utils.Database, message_id: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM messages WHERE message_id = ?", [message_id]))
    return rows[0] if rows else None


def append_events_txn(db: sqlite_utils.Database,
                      events: Sequence[tuple[int, str, str | None, Mapping[str, Any]]],
                      now_ms: int) -> list[int]:
    """Append (device_pk, kind, message_id, payload) events; return the device pks."""
    db.conn.executemany(
        "INSERT INTO events (device_pk, kind, message_id, payload, created_ms) "
        "VALUES (?, ?, ?, ?, ?)",
        [(pk, kind, mid, json.dumps(payload, separators=(",", ":")), now_ms)
         for pk, kind, mid, payload in events])
    return [e[0] for e in events]


def events_after(db: sqlite_utils.Database, device_pk: int, since: int,
                 limit: int) -> list[dict[str, Any]]:
    out = []
    for pos, kind, payload in db.execute(
            "SELECT pos, kind, payload FROM events WHERE device_pk = ? AND pos > ? "
            "ORDER BY pos LIMIT ?", [device_pk, since, limit]):
        event = json.loads(payload)
        event["pos"] = pos
        event["type"] = kind
        out.append(event)
    return out


def ack_events_txn(db: sqlite_utils.Database, device_pk: int,
                   up_to: int) -> list[dict[str, Any]]:
    """Delete the device's events up to ``up_to``; return the message events removed."""
    acked = list(db.query("SELECT message_id, payload FROM events WHERE device_pk = ? AND "
                          "pos <= ? AND kind = 'message'", [device_pk, up_to]))
    db.execute("DELETE FROM events WHERE device_pk = ? AND pos <= ?", [device_pk, up_to])
    return [json.loads(row["payload"]) | {"message_id": row["message_id"]} for row in acked]


def expire_events_txn(db: sqlite_utils.Database, before_ms: int) -> int:
    return db.execute("DELETE FROM events WHERE created_ms < ?", [before_ms]).rowcount


def expire_send_txns_txn(db: sqlite_utils.Database, before_ms: int) -> int:
    return db.execute("DELETE FROM send_txns WHERE created_ms < ?", [before_ms]).rowcount


def record_media_txn(db: sqlite_utils.Database, media_id: str, size: int, uploader: str,
                     now_ms: int) -> None:
    db.execute("INSERT OR IGNORE INTO media (media_id, size, uploader, created_ms) "
               "VALUES (?, ?, ?, ?)", [media_id, size, uploader, now_ms])


def get_media(db: sqlite_utils.Database, media_id: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM media WHERE media_id = ?", [media_id]))
    return rows[0] if rows else None


def addresses(db: sqlite_utils.Database) -> set[str]:
    """Every address messages name as sender or recipient (for re-applying erasures)."""
    return {r[0] for r in db.execute("SELECT sender FROM messages UNION "
                                     "SELECT recipient FROM messages")}
