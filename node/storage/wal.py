"""Checkpoints of the node database's write-ahead log, off the event loop.

Every ``CHECKPOINT_COMMITS`` commits, the reader thread first runs a passive
checkpoint, which copies what the log holds while writes go on, then a restart, which
holds writes back only while it copies the few frames committed meanwhile (a few ms),
so that the next write starts the log over from its beginning. Passive checkpoints
alone never catch up with a steady stream of commits: the log then grows for as long as
the load lasts (55 MB in a few seconds of the federation benchmark), and each frame
written past its end costs the kernel a fresh block (10% of the node's CPU there). A
restart that would wait longer than ``CHECKPOINT_BUSY_MS`` for a reader of another
process gives up (the next one tries again); while it waits, the loop's writes find the
file busy and go to the writer thread. ``WAL_SIZE_LIMIT`` caps what the file keeps
when it starts over after a burst.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from concurrent.futures import Executor

import sqlite_utils

CHECKPOINT_COMMITS = 500  # commits between two checkpoints
CHECKPOINT_BUSY_MS = 100  # the longest a restart holds writes back for another's reader
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the log file keeps when it starts over

log = logging.getLogger("kontor.storage")


class Checkpoints:
    """Counts commits and runs the due checkpoint on ``executor``, with ``db``: a
    connection of its own whose busy timeout is ``CHECKPOINT_BUSY_MS``."""

    def __init__(self, db: sqlite_utils.Database, executor: Executor) -> None:
        self._db = db
        self._executor = executor
        self._uncheckpointed = 0  # commits since the last checkpoint
        self.restarts = 0  # checkpoints after which the log starts over (for tests)

    def committed(self) -> None:
        """One more commit; every ``CHECKPOINT_COMMITS``, queue a checkpoint."""
        self._uncheckpointed += 1
        if self._uncheckpointed >= CHECKPOINT_COMMITS:
            self._uncheckpointed = 0
            with contextlib.suppress(RuntimeError):  # (shutting down)
                self._executor.submit(self._run)

    def _run(self) -> None:
        """Copy the log into the file while writes go on, then hold writes back for
        the frames committed meanwhile, so that the log starts over. Never raises:
        the next one tries again."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            busy, frames, copied = self._db.execute(
                "PRAGMA wal_checkpoint(RESTART)").fetchone()
        except sqlite3.Error as exc:  # (a full disk: ``Database.health`` reports it)
            log.warning("WAL checkpoint failed: %s", exc)
            return
        if not busy and frames == copied:
            self.restarts += 1

    def close(self) -> None:
        """Close the connection (after the executor has finished)."""
        self._db.close()
