"""The ids of stored messages whose sealed history copy has not gone up yet, in order.

One row per message in the store's file (``history_queue``): queuing a message is one
insert, however many wait, and an upload takes the oldest rows and deletes them once
the node stored their copies. (It was a sealed JSON list, rewritten in full for every
message: up to 20,000 ids re-encoded and re-encrypted per message on a device whose
uploads could not go up for a while.) The ids are not secret: the ``messages`` table
beside it holds them in the clear too; what they point to stays sealed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS history_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL UNIQUE);
"""

# The span of positions is at least the count (an id already queued is not tried, which
# would use up a position; only ``forget`` leaves gaps): while it is under the bound,
# no count is needed, which would read every row. (max and min in subqueries of their
# own: each is then one index lookup, not a scan.)
ADD = ("INSERT INTO history_queue (message_id) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM "
       "history_queue WHERE message_id = ?1) AND (ifnull((SELECT max(seq) FROM "
       "history_queue) - (SELECT min(seq) FROM history_queue) + 1, 0) < ?2 OR "
       "(SELECT count(*) FROM history_queue) < ?2)")
MAX_QUEUED = 20_000  # beyond this, the newest are not queued (the oldest go up first)


class HistoryQueue:
    """The queue of one store; ``conn`` gives the store's connection (at each use, so a
    wiped store answers as it does everywhere else)."""

    def __init__(self, conn: Callable[[], sqlite3.Connection]) -> None:
        self._conn = conn
        conn().executescript(SCHEMA)

    def add(self, message_ids: Iterable[str]) -> None:
        """Queue these ids after those waiting (one already queued keeps its place)."""
        conn = self._conn()
        for message_id in message_ids:
            conn.execute(ADD, [message_id, MAX_QUEUED])

    def oldest(self, limit: int) -> list[tuple[int, str]]:
        """The first ``limit`` (position, message id) waiting, oldest first."""
        return self._conn().execute("SELECT seq, message_id FROM history_queue ORDER BY seq "
                                    "LIMIT ?", [limit]).fetchall()

    def done(self, through: int) -> None:
        """The ids up to position ``through`` went up (or need not): no longer waiting."""
        self._conn().execute("DELETE FROM history_queue WHERE seq <= ?", [through])

    def waiting(self, at_most: int) -> int:
        """How many ids wait, counted up to ``at_most``."""
        row = self._conn().execute("SELECT count(*) FROM (SELECT 1 FROM history_queue "
                                   "LIMIT ?)", [at_most]).fetchone()
        return int(row[0])

    def forget(self, address: str) -> int:
        """The stored messages with ``address`` are being forgotten (``Store.forget``,
        before it deletes them): their ids leave the queue too; returns how many."""
        return int(self._conn().execute(
            "DELETE FROM history_queue WHERE message_id IN (SELECT message_id FROM messages "
            "WHERE peer = ? OR sender = ?)", [address, address]).rowcount)

    def clear(self) -> None:
        """Nothing waits any more (a store reset to before its history began)."""
        self._conn().execute("DELETE FROM history_queue")
