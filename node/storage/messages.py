"""SQL for per-device event streams, idempotent send transactions and message metadata.

Owns ``events``, ``send_txns``, ``messages`` and ``media`` (schema in
``node.storage.migrations``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlite_utils

from node.protocol.names import server_of


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
                      now_ms: int, subject: str | None = None) -> list[int]:
    """Append (device_pk, kind, message_id, payload) events; return the device pks.
    ``subject``: the address the events are about when no message is (a conversation's
    customer), so that erasing that address finds them."""
    db.conn.executemany(
        "INSERT INTO events (device_pk, kind, message_id, payload, created_ms, subject) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(pk, kind, mid, json.dumps(payload, separators=(",", ":")), now_ms, subject)
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


def has_events_up_to(db: sqlite_utils.Database, device_pk: int, up_to: int) -> bool:
    """Whether the device's stream still holds an event at or before ``up_to``."""
    return db.execute("SELECT 1 FROM events WHERE device_pk = ? AND pos <= ? LIMIT 1",
                      [device_pk, up_to]).fetchone() is not None


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


def expired_media(db: sqlite_utils.Database, before_ms: int, limit: int,
                  keep: set[str]) -> list[str]:
    """Media uploaded before ``before_ms``, oldest first, except the ids in ``keep``."""
    kept = sorted(keep)
    marks = ",".join("?" * len(kept))
    return [r[0] for r in db.execute(f"SELECT media_id FROM media WHERE created_ms < ? AND "
                                     f"media_id NOT IN ({marks}) ORDER BY created_ms LIMIT ?",
                                     [before_ms, *kept, limit])]


def delete_media_rows_txn(db: sqlite_utils.Database, media_ids: list[str]) -> int:
    n = 0
    for chunk in _chunks(media_ids):
        n += db.execute(f"DELETE FROM media WHERE media_id IN ({','.join('?' * len(chunk))})",
                        chunk).rowcount
    return n


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# --- data rights: one address's rows -------------------------------------------------------

def address_records(db: sqlite_utils.Database, address: str) -> dict[str, Any]:
    """Message metadata, queued events, media and send records of ``address`` (ids and
    sizes, no ciphertext)."""
    messages = list(db.query("SELECT message_id, sender, sender_device, recipient, created_ms "
                             "FROM messages WHERE sender = ? OR recipient = ? "
                             "ORDER BY created_ms", [address, address]))
    events = []
    for chunk in _chunks([m["message_id"] for m in messages]):
        marks = ",".join("?" * len(chunk))
        events += list(db.query(f"SELECT pos, device_pk, kind, message_id, LENGTH(payload) AS "
                                f"size, created_ms FROM events WHERE message_id IN ({marks}) "
                                "ORDER BY pos", chunk))
    return {
        "messages": messages,
        "queued_events": events,
        "media": list(db.query("SELECT media_id, size, created_ms FROM media WHERE "
                               "uploader = ? ORDER BY created_ms", [address])),
        "send_txns": list(db.query("SELECT device_id, txn_id, created_ms FROM send_txns "
                                   "WHERE address = ? ORDER BY created_ms", [address])),
    }


def erase_address_txn(db: sqlite_utils.Database, address: str,
                      message_ids: set[str]) -> tuple[list[str], dict[str, int]]:
    """Remove the messages and events of ``address`` (and of ``message_ids``, which other
    tables name), the events about it, its send records, its uploads and this node's
    copies of blobs fetched from its server; return the media ids whose files the caller
    deletes and a count per table."""
    removed = {"events": 0, "messages": 0}
    ids = message_ids | {r[0] for r in db.execute(
        "SELECT message_id FROM messages WHERE sender = ? OR recipient = ?", [address, address])}
    for chunk in _chunks(sorted(ids)):
        marks = ",".join("?" * len(chunk))
        removed["events"] += db.execute(f"DELETE FROM events WHERE message_id IN ({marks})",
                                        chunk).rowcount
        removed["messages"] += db.execute(f"DELETE FROM messages WHERE message_id IN ({marks})",
                                          chunk).rowcount
    removed["events"] += db.execute("DELETE FROM events WHERE subject = ?", [address]).rowcount
    removed["send_txns"] = db.execute("DELETE FROM send_txns WHERE address = ?",
                                      [address]).rowcount
    # The node cannot tell whose the copies from that server are (the messages being end
    # to end): copies of others' go too, and are fetched again when needed.
    copies = "@" + server_of(address)
    media = [r[0] for r in db.execute("SELECT media_id FROM media WHERE uploader IN (?, ?)",
                                      [address, copies])]
    removed["media"] = db.execute("DELETE FROM media WHERE uploader IN (?, ?)",
                                  [address, copies]).rowcount
    return media, removed


def addresses(db: sqlite_utils.Database) -> set[str]:
    """Every address messages name as sender or recipient (for re-applying erasures)."""
    return {r[0] for r in db.execute("SELECT sender FROM messages UNION "
                                     "SELECT recipient FROM messages")}
