"""Blocked addresses and servers (``biz_blocks``).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.protocol.names import server_of
from node.storage.business._sql import Db


@dataclass(frozen=True)
class Block:
    """A blocked address or server (``kind``), who blocked it, why and when (ms)."""

    target: str
    kind: str
    reason: str
    created_by: str
    created_ms: int


def add_block_txn(db: Db, block: Block) -> bool:
    return db.execute("INSERT OR IGNORE INTO biz_blocks VALUES (?, ?, ?, ?, ?)",
                      [block.target, block.kind, block.reason, block.created_by,
                       block.created_ms]).rowcount == 1


def remove_block_txn(db: Db, target: str) -> bool:
    return db.execute("DELETE FROM biz_blocks WHERE target = ?", [target]).rowcount == 1


def list_blocks(db: Db) -> list[dict[str, Any]]:
    return list(db.query("SELECT target, kind, reason, created_by, created_ms FROM biz_blocks "
                         "ORDER BY created_ms, target"))


def is_blocked_txn(db: Db, sender: str) -> bool:
    """Whether ``sender`` (an address) or its server is blocked; usable in any transaction."""
    server = server_of(sender).lower()
    return db.execute("SELECT 1 FROM biz_blocks WHERE (kind = 'address' AND target = ?) OR "
                      "(kind = 'server' AND target = ?) LIMIT 1",
                      [sender, server]).fetchone() is not None


def is_server_blocked(db: Db, server: str) -> bool:
    """Whether the whole server ``server`` is blocked."""
    return db.execute("SELECT 1 FROM biz_blocks WHERE kind = 'server' AND target = ? LIMIT 1",
                      [server.lower()]).fetchone() is not None
