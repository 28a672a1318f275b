"""SQL for sealed history: epochs of each owner's history key, which devices hold each
epoch's key, and the sealed copies (ciphertext only, see crypto/history.py).

This module owns ``history_epochs``, ``history_holders`` and ``history_items`` and
their migrations (set ``history``). Device pks are plain integers here, not foreign
keys: a removed device's rows stay, and are how the node knows an epoch's key was held
by a device that is gone (so the key must rotate). Pks are never reused.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

MIGRATIONS = Migrations("history")


@MIGRATIONS(name="0001_history")
def m0001_history(db: sqlite_utils.Database) -> None:
    """Epochs, key holders and sealed copies, per owner."""
    db.execute("""
        CREATE TABLE history_epochs (
            owner TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            created_by INTEGER NOT NULL,
            created_ms INTEGER NOT NULL,
            PRIMARY KEY (owner, epoch)
        ) STRICT""")
    db.execute("""
        CREATE TABLE history_holders (
            owner TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            device_pk INTEGER NOT NULL,
            granted_by INTEGER NOT NULL,
            granted_ms INTEGER NOT NULL,
            PRIMARY KEY (owner, epoch, device_pk)
        ) STRICT""")
    db.execute("CREATE INDEX history_holders_by_device ON history_holders (device_pk)")
    db.execute("""
        CREATE TABLE history_items (
            owner TEXT NOT NULL,
            item_id TEXT NOT NULL,
            conversation TEXT NOT NULL,
            ts INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            sealed TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            PRIMARY KEY (owner, item_id)
        ) STRICT""")
    db.execute("CREATE INDEX history_items_by_time ON history_items (owner, ts, item_id)")
    db.execute("CREATE INDEX history_items_by_conversation ON history_items "
               "(owner, conversation, ts, item_id)")


def current_epoch(db: sqlite_utils.Database, owner: str) -> int:
    """The owner's newest epoch (0: no history key yet)."""
    row = db.execute("SELECT MAX(epoch) FROM history_epochs WHERE owner = ?",
                     [owner]).fetchone()
    return int(row[0] or 0)


def create_epoch_txn(db: sqlite_utils.Database, owner: str, epoch: int, device_pk: int,
                     now_ms: int) -> None:
    db.execute("INSERT INTO history_epochs VALUES (?, ?, ?, ?)",
               [owner, epoch, device_pk, now_ms])
    grant_txn(db, owner, [epoch], device_pk, device_pk, now_ms)


def grant_txn(db: sqlite_utils.Database, owner: str, epochs: list[int], device_pk: int,
              granted_by: int, now_ms: int) -> None:
    """Record that ``device_pk`` was given the keys of ``epochs``."""
    db.conn.executemany("INSERT OR IGNORE INTO history_holders VALUES (?, ?, ?, ?, ?)",
                        [(owner, e, device_pk, granted_by, now_ms) for e in epochs])


def held_epochs(db: sqlite_utils.Database, owner: str, device_pk: int) -> list[int]:
    return [r[0] for r in db.execute(
        "SELECT epoch FROM history_holders WHERE owner = ? AND device_pk = ? ORDER BY epoch",
        [owner, device_pk])]


def holders(db: sqlite_utils.Database, owner: str, epoch: int) -> list[int]:
    """Pks of the devices that were given the epoch's key (removed ones included)."""
    return [r[0] for r in db.execute(
        "SELECT device_pk FROM history_holders WHERE owner = ? AND epoch = ?",
        [owner, epoch])]


def put_items_txn(db: sqlite_utils.Database, owner: str, items: list[dict[str, Any]],
                  now_ms: int) -> int:
    """Store sealed copies; one already stored under its item id is kept. Returns how
    many were new."""
    before = db.conn.total_changes
    db.conn.executemany(
        "INSERT OR IGNORE INTO history_items VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(owner, i["item_id"], i["conversation"], i["ts"], i["epoch"], i["sealed"], now_ms)
         for i in items])
    return db.conn.total_changes - before


def items_before(db: sqlite_utils.Database, owner: str, conversation: str | None,
                 before: tuple[int, str] | None, limit: int) -> list[dict[str, Any]]:
    """A page of sealed copies, newest first, strictly before the (ts, item id) cursor."""
    where: list[str] = ["owner = ?"]
    args: list[object] = [owner]
    if conversation is not None:
        where.append("conversation = ?")
        args.append(conversation)
    if before is not None:
        where.append("(ts < ? OR (ts = ? AND item_id < ?))")
        args += [before[0], before[0], before[1]]
    sql = (f"SELECT item_id, conversation, ts, epoch, sealed FROM history_items WHERE "
           f"{' AND '.join(where)} ORDER BY ts DESC, item_id DESC LIMIT ?")
    return list(db.query(sql, [*args, limit]))


def erase_conversation_txn(db: sqlite_utils.Database, owner: str, conversation: str) -> int:
    """Delete every sealed copy of one conversation of ``owner``."""
    return db.execute("DELETE FROM history_items WHERE owner = ? AND conversation = ?",
                      [owner, conversation]).rowcount


def erase_owner_txn(db: sqlite_utils.Database, owner: str) -> int:
    """Delete an owner's whole history (its account was removed)."""
    db.execute("DELETE FROM history_holders WHERE owner = ?", [owner])
    db.execute("DELETE FROM history_epochs WHERE owner = ?", [owner])
    return db.execute("DELETE FROM history_items WHERE owner = ?", [owner]).rowcount
