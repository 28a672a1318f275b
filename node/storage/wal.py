"""Checkpoints of the node database's write-ahead log, off the event loop.

Every ``CHECKPOINT_COMMITS`` commits, the reader thread first runs a passive
checkpoint, which copies what the log holds while writes go on, then a restart, which
holds writes back only while it copies the few frames committed meanwhile (a few ms),
so that the next write starts the log over from its beginning. Passive checkpoints
alone never catch up with a steady stream of commits: the log then grows for as long as
the load lasts (to 298 MB in 16 seconds of the federation benchmark), and every frame
is written past its end, into a block the kernel must allocate.

A reader that holds an older snapshot (another process, or a long read of our own)
stops the passive checkpoint short of the log's end: then no restart is tried, since it
would only wait for that reader. A restart waits at most ``CHECKPOINT_BUSY_MS`` for the
readers still in the log and gives up; meanwhile the loop's writes find the file busy
and wait on the writer thread. After a restart gives up, the next ones are skipped for
twice as many intervals each time (up to ``MAX_SKIPPED``), so that a reader that stays
does not cost every interval a wait. One checkpoint is queued at a time.
``WAL_SIZE_LIMIT`` caps what the file keeps when it starts over after a burst.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from concurrent.futures import Executor

import sqlite_utils

CHECKPOINT_COMMITS = 500  # commits between two checkpoints
CHECKPOINT_BUSY_MS = 100  # the longest a restart holds writes back for a reader
TRUNCATE_SECONDS = 5.0  # the longest ``truncate`` tries
MAX_SKIPPED = 16  # intervals without a restart, at most, after restarts gave up
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the log file keeps when it starts over

log = logging.getLogger("kontor.storage")


def truncate(db: sqlite_utils.Database) -> bool:
    """Copy the whole log into the file and truncate it, trying again for up to
    ``TRUNCATE_SECONDS`` while the periodic checkpoint runs (its lock fails this at
    once) or readers keep it busy; False, with a warning, when it never could."""
    deadline = time.monotonic() + TRUNCATE_SECONDS
    while True:  # (bounded by the deadline and, each try, by ``db``'s busy timeout)
        if not db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
            return True
        if time.monotonic() > deadline:
            log.warning("the write-ahead log stayed busy for %s s and was not "
                        "truncated: old copies of changed rows stay in it until a "
                        "checkpoint starts it over", TRUNCATE_SECONDS)
            return False
        time.sleep(0.01)


class Checkpoints:
    """Counts commits and runs the due checkpoint on ``executor``, with ``db``: a
    connection of its own whose busy timeout is ``CHECKPOINT_BUSY_MS``."""

    def __init__(self, db: sqlite_utils.Database, executor: Executor) -> None:
        self._db = db
        self._executor = executor
        self._lock = threading.Lock()  # (commits are counted on the loop and threads)
        self._uncheckpointed = 0  # commits since the last checkpoint
        self._queued = False  # a checkpoint waits or runs on the executor
        self._skip = 0  # restarts still to skip after one gave up
        self._backoff = 0  # how many the last give-up skipped
        self.runs = 0  # checkpoints run (for tests)
        self.restarts = 0  # checkpoints after which the log starts over (ditto)
        self.gave_up = 0  # restarts that found a reader in the log and gave up
        self.pinned = 0  # checkpoints that found an older snapshot and tried no restart

    def committed(self) -> None:
        """One more commit; every ``CHECKPOINT_COMMITS``, queue a checkpoint unless one
        is queued already."""
        with self._lock:
            self._uncheckpointed += 1
            if self._uncheckpointed < CHECKPOINT_COMMITS or self._queued:
                return
            self._uncheckpointed, self._queued = 0, True
        try:
            self._executor.submit(self._run)
        except RuntimeError:  # (shutting down)
            with self._lock:
                self._queued = False

    def _run(self) -> None:
        """Copy the log into the file while writes go on, then, unless restarts are
        backing off, hold writes back for the frames committed meanwhile, so that the
        log starts over. Never raises: the next one tries again. (Runs on the
        executor's one thread: the counters and the back-off are that thread's.)"""
        try:
            self.runs += 1
            restart, self._skip = self._skip == 0, max(0, self._skip - 1)
            busy, frames, copied = self._db.execute(
                "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if not busy and copied < frames:  # a reader's older snapshot pins the rest:
                self.pinned += 1  # a restart would wait for it, in vain
            elif restart:
                self._restart()
        except sqlite3.Error as exc:  # (a full disk: ``Database.health`` reports it)
            log.warning("WAL checkpoint failed: %s", exc)
        finally:
            with self._lock:
                self._queued = False

    def _restart(self) -> None:
        """Start the log over, or back off when a reader kept it busy."""
        busy, frames, copied = self._db.execute(
            "PRAGMA wal_checkpoint(RESTART)").fetchone()
        if busy:  # a reader still uses the log: skip the next ones, longer each time
            self.gave_up += 1
            self._backoff = min(MAX_SKIPPED, max(1, 2 * self._backoff))
            self._skip = self._backoff
        else:
            self._backoff = 0
            if 0 <= frames == copied:  # (-1: the file is not in WAL mode)
                self.restarts += 1

    def close(self) -> None:
        """Close the connection (after the executor has finished)."""
        self._db.close()
