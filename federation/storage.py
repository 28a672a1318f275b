"""SQL for federation's own tables: the outbox (``fed_outbox``), destination state
(``fed_destinations``), inbound transactions (``fed_inbound_txns``), remote signing
keys (``fed_remote_keys``) and remote device lists (``fed_remote_devices``).

Federation owns these tables and their migrations (a separate sqlite-utils migration
set, applied by the node with its own). Functions ending in ``_txn`` run inside the
caller's write transaction; the node's messaging code calls ``enqueue_txn`` inside the
same transaction that accepts a client's send, so "accepted" means "queued on disk".
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

from federation.policy import ServerPolicy

MIGRATIONS = Migrations("kontor-federation")


@MIGRATIONS(name="0001_federation")
def m0001_federation(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE fed_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            destination TEXT NOT NULL,
            kind TEXT NOT NULL,
            item TEXT NOT NULL,
            size INTEGER NOT NULL,
            created_ms INTEGER NOT NULL,
            txn_id TEXT
        ) STRICT""")
    db.execute("CREATE INDEX fed_outbox_queue ON fed_outbox (destination, id)")
    db.execute("""
        CREATE TABLE fed_destinations (
            destination TEXT PRIMARY KEY,
            failures INTEGER NOT NULL DEFAULT 0,
            next_attempt_ms INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            last_success_ms INTEGER
        ) STRICT""")
    db.execute("""
        CREATE TABLE fed_inbound_txns (
            origin TEXT NOT NULL,
            txn_id TEXT NOT NULL,
            body_hash TEXT NOT NULL,
            response TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            PRIMARY KEY (origin, txn_id)
        ) STRICT""")
    db.execute("""
        CREATE TABLE fed_remote_keys (
            server_name TEXT NOT NULL,
            key_id TEXT NOT NULL,
            public_key TEXT NOT NULL,
            expired_ms INTEGER,
            fetched_ms INTEGER NOT NULL,
            PRIMARY KEY (server_name, key_id)
        ) STRICT""")
    db.execute("""
        CREATE TABLE fed_remote_devices (
            address TEXT PRIMARY KEY,
            devices TEXT NOT NULL,
            fetched_ms INTEGER NOT NULL
        ) STRICT""")


@MIGRATIONS(name="0002_outbox_parties")
def m0002_outbox_parties(db: sqlite_utils.Database) -> None:
    """Who an outbox item is from and to, and the message it concerns, as columns (so
    that erasure and export find an address's items without reading the item); filled
    once here from the items already queued (messages name ``sender``, receipts ``by``)."""
    for column in ("sender", "recipient", "message_id"):
        db.execute(f"ALTER TABLE fed_outbox ADD COLUMN {column} TEXT")
    db.execute("UPDATE fed_outbox SET sender = COALESCE(json_extract(item, '$.sender'), "
               "json_extract(item, '$.by')), recipient = json_extract(item, '$.to'), "
               "message_id = json_extract(item, '$.message_id')")


@MIGRATIONS(name="0003_remote_devices_stale")
def m0003_remote_devices_stale(db: sqlite_utils.Database) -> None:
    """When a cached device list was marked out of date (NULL: it is not), apart from
    when it was fetched, so that a fetch already under way when the mark came does not
    make the list fresh again. A list marked the old way (``fetched_ms = 0``) is stale
    by its age anyway."""
    db.execute("ALTER TABLE fed_remote_devices ADD COLUMN stale_ms INTEGER")


# --- outbox ---------------------------------------------------------------------------

def enqueue_txn(db: sqlite_utils.Database, policy: ServerPolicy, destination: str,
                kind: str, item: dict[str, Any], now_ms: int, *, sender: str | None = None,
                recipient: str | None = None, message_id: str | None = None) -> int:
    """Append one item for ``destination``; returns its queue id. DestinationDenied
    (nothing written) when ``policy`` does not federate with it. ``sender``,
    ``recipient`` and ``message_id`` say whom the item concerns (for erasure and export:
    nothing here reads the item's layout)."""
    policy.check(destination)
    text = json.dumps(item, separators=(",", ":"), sort_keys=True)
    cur = db.execute("INSERT INTO fed_outbox (destination, kind, item, size, created_ms, "
                     "sender, recipient, message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     [destination, kind, text, len(text), now_ms, sender, recipient,
                      message_id])
    db.execute("INSERT OR IGNORE INTO fed_destinations (destination) VALUES (?)",
               [destination])
    return int(cur.lastrowid or 0)


def next_batch_txn(db: sqlite_utils.Database, destination: str, max_items: int,
                   max_bytes: int, txn_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The batch to send next: an unfinished one (same txn id, same items) if any, else
    the oldest items up to the limits, now bound to ``txn_id``."""
    bound = bound_batch(db, destination)
    if bound[1] or not bind_batch_txn(db, destination, max_items, max_bytes, txn_id):
        return bound if bound[1] else (txn_id, [])
    return txn_id, _batch_items(db, destination, txn_id)


def bind_batch_txn(db: sqlite_utils.Database, destination: str, max_items: int,
                   max_bytes: int, txn_id: str) -> bool:
    """Bind the oldest unbound items, up to the limits, to ``txn_id``; False when none
    are queued. (Only when no batch is bound: one transaction in flight.)"""
    ids: list[int] = []
    total = 0
    for qid, size in db.execute("SELECT id, size FROM fed_outbox WHERE destination = ? "
                                "ORDER BY id LIMIT ?", [destination, max_items]):
        if ids and total + size > max_bytes:
            break
        ids.append(qid)
        total += size
    if ids:
        db.execute(f"UPDATE fed_outbox SET txn_id = ? WHERE id IN "
                   f"({','.join('?' * len(ids))})", [txn_id, *ids])
    return bool(ids)


def bound_batch(db: sqlite_utils.Database,
                destination: str) -> tuple[str, list[dict[str, Any]]]:
    """The unfinished batch of ``destination`` as it is now (an erasure or expiry may
    have changed it since it was bound), or ``("", [])``."""
    row = db.execute("SELECT txn_id FROM fed_outbox WHERE destination = ? AND txn_id IS NOT "
                     "NULL ORDER BY id LIMIT 1", [destination]).fetchone()
    return (row[0], _batch_items(db, destination, row[0])) if row else ("", [])


def _batch_items(db: sqlite_utils.Database, destination: str,
                 txn_id: str) -> list[dict[str, Any]]:
    return [{"queue_id": qid, "kind": kind, "item": json.loads(text), "created_ms": ts}
            for qid, kind, text, ts in db.execute(
                "SELECT id, kind, item, created_ms FROM fed_outbox WHERE destination = ? "
                "AND txn_id = ? ORDER BY id", [destination, txn_id])]


def queue_head(db: sqlite_utils.Database, destination: str,
               limit: int) -> list[tuple[str, int, bool]]:
    """The first ``limit`` queued items of ``destination`` as (kind, created_ms, bound
    to a transaction id), oldest first: whether a batch is worth sending yet."""
    return [(kind, created, txn is not None) for kind, created, txn in db.execute(
        "SELECT kind, created_ms, txn_id FROM fed_outbox WHERE destination = ? "
        "ORDER BY id LIMIT ?", [destination, limit])]


def complete_batch_txn(db: sqlite_utils.Database, destination: str, txn_id: str,
                       now_ms: int) -> int:
    """The destination committed ``txn_id``: drop its items, reset the backoff."""
    n = db.execute("DELETE FROM fed_outbox WHERE destination = ? AND txn_id = ?",
                   [destination, txn_id]).rowcount
    db.execute("UPDATE fed_destinations SET failures = 0, next_attempt_ms = 0, "
               "last_error = NULL, last_success_ms = ? WHERE destination = ?",
               [now_ms, destination])
    return n


def record_failure_txn(db: sqlite_utils.Database, destination: str, error: str,
                       next_attempt_ms: int) -> int:
    db.execute("UPDATE fed_destinations SET failures = failures + 1, next_attempt_ms = ?, "
               "last_error = ? WHERE destination = ?",
               [next_attempt_ms, error[:500], destination])
    return db.execute("SELECT failures FROM fed_destinations WHERE destination = ?",
                      [destination]).fetchone()[0]


def reset_backoff_txn(db: sqlite_utils.Database, destination: str) -> None:
    db.execute("UPDATE fed_destinations SET failures = 0, next_attempt_ms = 0 "
               "WHERE destination = ?", [destination])


def destination_state(db: sqlite_utils.Database, destination: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM fed_destinations WHERE destination = ?",
                         [destination]))
    return rows[0] if rows else None


def expire_txn(db: sqlite_utils.Database, before_ms: int) -> list[dict[str, Any]]:
    """Remove items queued before ``before_ms``; return them (to tell their senders)."""
    # A batch bound to a transaction id goes whole, so that its id never names two
    # different sets of items.
    where = ("created_ms < ? OR txn_id IN (SELECT txn_id FROM fed_outbox WHERE "
             "created_ms < ? AND txn_id IS NOT NULL)")
    rows = [{"destination": d, "kind": k, "item": json.loads(t)} for d, k, t in db.execute(
        f"SELECT destination, kind, item FROM fed_outbox WHERE {where}",
        [before_ms, before_ms])]
    db.execute(f"DELETE FROM fed_outbox WHERE {where}", [before_ms, before_ms])
    return rows


def pending_destinations(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT DISTINCT destination FROM fed_outbox")]


def queue_status(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Per destination: depth, oldest item, failures, last error, next attempt."""
    return list(db.query("""
        SELECT d.destination, COUNT(o.id) AS depth, MIN(o.created_ms) AS oldest_ms,
               d.failures, d.last_error, d.next_attempt_ms, d.last_success_ms
        FROM fed_destinations d LEFT JOIN fed_outbox o ON o.destination = d.destination
        GROUP BY d.destination ORDER BY d.destination"""))


# --- data rights: one address's rows ---------------------------------------------------

_PARTY = "(sender = ? OR recipient = ?)"


def address_records(db: sqlite_utils.Database, address: str) -> dict[str, Any]:
    """The outbox items from or to ``address`` (ids and sizes, not the items); its
    cached device list is exported by ``node.services.remote_devices.exported``."""
    outbox = list(db.query(f"SELECT id, destination, kind, size, created_ms, message_id "
                           f"FROM fed_outbox WHERE {_PARTY} ORDER BY id", [address] * 2))
    return {"outbox": outbox}


def erase_address_txn(db: sqlite_utils.Database, address: str) -> dict[str, int]:
    """Drop outbox items from or to ``address`` and its cached device list. A batch
    already bound to a transaction id loses its binding, so the rest goes out under a new
    id (never a changed body under an old one)."""
    bound = [r[0] for r in db.execute(f"SELECT DISTINCT txn_id FROM fed_outbox WHERE "
                                      f"{_PARTY} AND txn_id IS NOT NULL", [address] * 2)]
    removed = {"outbox": db.execute(f"DELETE FROM fed_outbox WHERE {_PARTY}",
                                    [address] * 2).rowcount}
    for txn_id in bound:
        db.execute("UPDATE fed_outbox SET txn_id = NULL WHERE txn_id = ?", [txn_id])
    removed["remote_devices"] = db.execute("DELETE FROM fed_remote_devices WHERE address = ?",
                                           [address]).rowcount
    return removed


# --- inbound transactions ---------------------------------------------------------------

def get_inbound_txn(db: sqlite_utils.Database, origin: str,
                    txn_id: str) -> tuple[str, dict[str, Any]] | None:
    row = db.execute("SELECT body_hash, response FROM fed_inbound_txns WHERE origin = ? AND "
                     "txn_id = ?", [origin, txn_id]).fetchone()
    return (row[0], json.loads(row[1])) if row else None


def record_inbound_txn(db: sqlite_utils.Database, origin: str, txn_id: str, body_hash: str,
                       response: dict[str, Any], now_ms: int) -> None:
    db.execute("INSERT INTO fed_inbound_txns VALUES (?, ?, ?, ?, ?)",
               [origin, txn_id, body_hash, json.dumps(response), now_ms])


def expire_inbound_txns_txn(db: sqlite_utils.Database, before_ms: int) -> int:
    return db.execute("DELETE FROM fed_inbound_txns WHERE created_ms < ?",
                      [before_ms]).rowcount


# --- remote keys and devices ------------------------------------------------------------

def store_remote_keys_txn(db: sqlite_utils.Database, server_name: str,
                          keys: list[tuple[str, str, int | None]], now_ms: int) -> None:
    db.conn.executemany(
        "INSERT INTO fed_remote_keys VALUES (?, ?, ?, ?, ?) ON CONFLICT (server_name, key_id) "
        "DO UPDATE SET expired_ms = excluded.expired_ms, fetched_ms = excluded.fetched_ms "
        "WHERE public_key = excluded.public_key",
        [(server_name, kid, pub, exp, now_ms) for kid, pub, exp in keys])


def expire_missing_keys_txn(db: sqlite_utils.Database, server_name: str, kept: list[str],
                            now_ms: int) -> None:
    """A key the server no longer publishes stops verifying now."""
    marks = ",".join("?" * len(kept)) or "''"
    db.execute(f"UPDATE fed_remote_keys SET expired_ms = ? WHERE server_name = ? AND "
               f"key_id NOT IN ({marks}) AND (expired_ms IS NULL OR expired_ms > ?)",
               [now_ms, server_name, *kept, now_ms])


def get_remote_key(db: sqlite_utils.Database, server_name: str,
                   key_id: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM fed_remote_keys WHERE server_name = ? AND key_id = ?",
                         [server_name, key_id]))
    return rows[0] if rows else None


def store_remote_devices_txn(db: sqlite_utils.Database, address: str,
                             devices: list[dict[str, Any]], now_ms: int,
                             asked_ms: int | None = None) -> None:
    """Keep ``address``'s verified list, fetched at ``now_ms`` by a request sent at
    ``asked_ms`` (default ``now_ms``): a stale mark made since then stays."""
    db.execute("INSERT INTO fed_remote_devices (address, devices, fetched_ms, stale_ms) "
               "VALUES (?, ?, ?, NULL) ON CONFLICT (address) DO UPDATE SET "
               "devices = excluded.devices, fetched_ms = excluded.fetched_ms, "
               "stale_ms = CASE WHEN fed_remote_devices.stale_ms >= ? "
               "THEN fed_remote_devices.stale_ms END",
               [address, json.dumps(devices, sort_keys=True), now_ms,
                now_ms if asked_ms is None else asked_ms])


def mark_remote_devices_stale_txn(db: sqlite_utils.Database, address: str,
                                  now_ms: int) -> None:
    """The cached list is known to be out of date (since ``now_ms``)."""
    db.execute("UPDATE fed_remote_devices SET stale_ms = ? WHERE address = ?",
               [now_ms, address])


def remote_devices_age(db: sqlite_utils.Database,
                       address: str) -> tuple[int, int | None, bool] | None:
    """(fetched_ms, stale_ms, whether every device carries its keys) of the cached list
    of ``address``, if any, without reading the list into Python."""
    row = db.execute("SELECT fetched_ms, stale_ms, NOT EXISTS (SELECT 1 FROM "
                     "json_each(devices) WHERE json_type(value, '$.device_keys') IS NULL) "
                     "FROM fed_remote_devices WHERE address = ?", [address]).fetchone()
    return (row[0], row[1], bool(row[2])) if row else None


def remote_device_ids(db: sqlite_utils.Database, address: str) -> list[str] | None:
    """The device ids of the cached list of ``address`` (None: no list kept)."""
    row = db.execute("SELECT (SELECT json_group_array(json_extract(value, '$.device_id')) "
                     "FROM json_each(devices)) FROM fed_remote_devices WHERE address = ?",
                     [address]).fetchone()
    return None if row is None else [str(i) for i in json.loads(row[0])]


def get_remote_devices(db: sqlite_utils.Database,
                       address: str) -> tuple[list[dict[str, Any]], int, int | None] | None:
    """(devices, fetched_ms, stale_ms) of the cached list of ``address``, if any."""
    row = db.execute("SELECT devices, fetched_ms, stale_ms FROM fed_remote_devices "
                     "WHERE address = ?", [address]).fetchone()
    return (json.loads(row[0]), row[1], row[2]) if row else None
