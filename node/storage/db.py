"""The node's SQLite database: one writer thread, one reader thread, WAL.

All SQL lives in ``node/storage``. Services never touch a connection; they hand a
store function to ``Database.write`` (runs inside ``BEGIN IMMEDIATE ... COMMIT`` on the
writer thread and returns only after the commit) or ``Database.read`` (runs on the
reader thread against a consistent WAL snapshot). Functions that must run inside a
write transaction end in ``_txn``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from federation.storage import MIGRATIONS as FEDERATION_MIGRATIONS
from node.errors import StorageFull
from node.storage.business_migrations import MIGRATIONS as BUSINESS_MIGRATIONS
from node.storage.history import MIGRATIONS as HISTORY_MIGRATIONS
from node.storage.migrations import MIGRATIONS

MIGRATION_SETS = (MIGRATIONS, FEDERATION_MIGRATIONS, BUSINESS_MIGRATIONS, HISTORY_MIGRATIONS)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
PROBE_INTERVAL_SECONDS = 1.0
PROBE_BYTES = 256 * 1024

log = logging.getLogger("kontor.storage")


def is_storage_full(exc: BaseException) -> bool:
    """SQLite's SQLITE_FULL (disk or size limit) or the OS's ENOSPC / EDQUOT."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def connect(path: Path | str) -> sqlite_utils.Database:
    """Open ``path`` with the node's pragmas (WAL, foreign keys, busy timeout)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                           timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA secure_delete = ON")  # deleted rows are overwritten, not left
    return sqlite_utils.Database(conn)


def connect_readonly(path: Path | str) -> sqlite_utils.Database:
    """Open an existing database only to read it (``kontor check-config``)."""
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True,
                           isolation_level=None, check_same_thread=False,
                           timeout=BUSY_TIMEOUT_MS / 1000)
    return sqlite_utils.Database(conn)


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations in order; return the names applied."""
    db.execute("PRAGMA journal_mode = WAL")
    pending = []
    for migrations in MIGRATION_SETS:
        pending += [f"{migrations.name}/{m.name}" for m in migrations.pending(db)]
        migrations.apply(db)
    return pending


def schema_version(db: sqlite_utils.Database) -> int:
    """How many migrations this database has applied (all sets)."""
    return sum(len(m.applied(db)) for m in MIGRATION_SETS)


def create_database(path: Path) -> list[str]:
    """Create (or upgrade) the database file at ``path``; mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    db = connect(path)
    try:
        return migrate(db)
    finally:
        db.close()


class Database:
    """Async front of one SQLite file; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer_db = connect(path)
        self._reader_db = connect(path)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="kontor-db-write")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="kontor-db-read")
        self._closed = False
        self.problem: str | None = None  # why writes fail now (None: they work)
        self._probed = 0.0

    @classmethod
    def open(cls, path: Path) -> Database:
        """Open ``path``, applying pending migrations first."""
        create_database(path)
        return cls(path)

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(db, *args)`` in a write transaction; returns after COMMIT.

        A full disk rolls the transaction back and raises ``StorageFull`` (507); the
        database is ``degraded`` (``problem``) until ``health`` finds room again."""
        call = functools.partial(self._in_transaction, fn, *args, **kwargs)
        with self.files():
            return await asyncio.get_running_loop().run_in_executor(self._writer, call)

    @contextlib.contextmanager
    def files(self) -> Iterator[None]:
        """Map a full disk met by the block (SQLite or file writes) to ``StorageFull``."""
        try:
            yield
        except Exception as exc:
            if not is_storage_full(exc):
                raise
            if self.problem is None:
                log.error("storage full: writes fail (%s); free space on the data disk",
                          exc)
            self.problem = f"storage full: {exc}"[:200]
            raise StorageFull() from None

    async def health(self) -> str | None:
        """Why writes fail, or None. While degraded, a probe write (at most once a
        second) that needs ``PROBE_BYTES`` of fresh space finds out whether room is
        back: small writes may still fit while real ones do not."""
        if self.problem is not None and time.monotonic() - self._probed > \
                PROBE_INTERVAL_SECONDS:
            self._probed = time.monotonic()
            with contextlib.suppress(StorageFull):
                await self.write(_probe_txn)
                log.warning("storage writes work again")
                self.problem = None
        return self.problem

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file and truncate it, so that no
        old version of an erased row stays in the log."""
        def run() -> None:
            self._writer_db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with self.files():
            await asyncio.get_running_loop().run_in_executor(self._writer, run)

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(db, *args)`` on the reader connection."""
        call = functools.partial(self._read, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._reader, call)

    def _in_transaction(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        db = self._writer_db
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db, *args, **kwargs)
            db.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:  # a failed COMMIT (disk full) leaves it open
                db.conn.rollback()
            raise
        return result

    def _read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        db = self._reader_db
        db.execute("BEGIN")
        try:
            return fn(db, *args, **kwargs)
        finally:
            db.conn.rollback()

    def close(self) -> None:
        """Finish queued work and close both connections."""
        if self._closed:
            return
        self._closed = True
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        self._reader_db.close()
        self._writer_db.execute("PRAGMA optimize")
        self._writer_db.close()


def _probe_txn(db: sqlite_utils.Database) -> None:
    """Take ``PROBE_BYTES`` of new pages and give them back, in one transaction."""
    db.execute("INSERT OR REPLACE INTO node_meta (key, value) VALUES ('health_probe', ?)",
               ["x" * PROBE_BYTES])
    db.execute("DELETE FROM node_meta WHERE key = 'health_probe'")


def backup(source: Path, target: Path, progress: Callable[[int, int], None] | None = None,
           pages_per_step: int = 256) -> None:
    """Copy the live database ``source`` to ``target`` with SQLite's online backup API.

    Safe while a node writes: the copy is a consistent snapshot. ``target`` must not
    exist (a backup never overwrites).
    """
    if target.exists():
        raise FileExistsError(str(target))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.close(fd)
    dst = sqlite3.connect(str(tmp))
    try:
        def report(status: int, remaining: int, total: int) -> None:
            if progress:
                progress(total - remaining, total)
        src.backup(dst, pages=pages_per_step, progress=report)
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()
    os.replace(tmp, target)
