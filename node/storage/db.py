"""The node's SQLite database: group-committed writes and short reads on the event loop,
WAL.

All SQL lives in ``node/storage``. Services never touch a connection; they hand a
store function to ``Database.write`` (runs inside a write transaction and returns only
after the commit), ``Database.read`` (runs on the event loop itself, against a
consistent WAL snapshot: a short indexed read costs less there than the hop to a
thread, measured 14 us against 95 us) or ``Database.read_heavy`` (the same on the reader
thread, for reads whose size grows with the data: exports, statistics). Functions that
must run inside a write transaction end in ``_txn``.

Writes are group-committed: the jobs that queue up while the loop is busy go into one
transaction together (at most ``MAX_BATCH``), each inside its own savepoint when it has
company, so a job that raises fails only its own caller (a job alone needs none).
Inside a job, ``connection.savepoint`` nests one more level (each transaction hook of
``node.events`` runs in one). Every caller is answered after the COMMIT that holds its
job; a failed COMMIT (a full disk) fails every job of it. The transaction runs on the
event loop (a commit without fsync costs about 25 us, the hop to a thread and back
95 us); when another process holds the file's write lock, the batch goes to the writer
thread, which waits for it (``BUSY_TIMEOUT_MS``) instead of the loop. The price: a
large write (a retention purge, an erasure) holds the loop while it runs. The WAL is
checkpointed off the loop (``node.storage.wal``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import os
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils
from sqlite_utils import Migrations

from federation.storage import MIGRATIONS as FEDERATION_MIGRATIONS
from node.errors import ShuttingDown, StorageFull
from node.storage.business_migrations import MIGRATIONS as BUSINESS_MIGRATIONS
from node.storage.connection import BUSY_TIMEOUT_MS, NodeDatabase
from node.storage.history import MIGRATIONS as HISTORY_MIGRATIONS
from node.storage.migrations import MIGRATIONS
from node.storage.wal import CHECKPOINT_BUSY_MS, WAL_SIZE_LIMIT, Checkpoints, truncate
from node.storage.write_job import WriteJob

MIGRATION_SETS = (MIGRATIONS, FEDERATION_MIGRATIONS, BUSINESS_MIGRATIONS, HISTORY_MIGRATIONS)

T = TypeVar("T")

PROBE_INTERVAL_SECONDS = 1.0
PROBE_BYTES = 256 * 1024
MAX_BATCH = 256  # write jobs in one group commit

log = logging.getLogger("kontor.storage")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED, extended codes included (SQLITE_BUSY_RECOVERY, ...):
    another connection holds the write lock."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_storage_full(exc: BaseException) -> bool:
    """SQLite's SQLITE_FULL (disk or size limit) or the OS's ENOSPC / EDQUOT."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and code & 0xFF == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def connect(path: Path | str, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite_utils.Database:
    """Open ``path`` with the node's pragmas (WAL, foreign keys, busy timeout)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                           timeout=busy_timeout_ms / 1000)
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA secure_delete = ON")  # deleted rows are overwritten, not left
    conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
    return NodeDatabase(conn)


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations in order; return the names applied."""
    db.execute("PRAGMA journal_mode = WAL")
    pending = []
    for migrations in MIGRATION_SETS:
        pending += [f"{migrations.name}/{m.name}" for m in migrations.pending(db)]
        migrations.apply(db)
    return pending


def schema_version(db: sqlite_utils.Database) -> int:
    """How many migrations this database has applied (all sets), in one query (sqlite-
    utils' ``applied`` costs a dozen: ``GET /health`` asks every time)."""
    sets = [m.name for m in MIGRATION_SETS]
    try:
        return int(db.conn.execute(
            f"SELECT count(*) FROM {Migrations.migrations_table} WHERE migration_set IN "
            f"({', '.join('?' * len(sets))})", sets).fetchone()[0])
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise  # (a broken database must not look like an empty one)
        return 0  # nothing applied yet


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
        self._writer_db = connect(path, busy_timeout_ms=0)  # the loop's: never waits
        self._waiting_db = connect(path)  # the writer thread's, when the file is busy
        for conn in (self._writer_db, self._waiting_db):
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # (``self.checkpoints``)
        self._reader_db = connect(path)
        self._loop_db = connect(path)
        self._loop_lock = threading.Lock()  # the loop connection, if two loops share it
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="kontor-db-write")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="kontor-db-read")
        self._pending: deque[WriteJob] = deque()
        self._lock = threading.Lock()
        self._commit_lock = threading.Lock()  # one transaction at a time, whoever drains
        self._draining = False  # a drain is queued or running (on a loop or the thread)
        self._drain_loop: asyncio.AbstractEventLoop | None = None  # where it is queued
        self.checkpoints = Checkpoints(connect(path, CHECKPOINT_BUSY_MS), self._reader)
        self.commits = 0  # write transactions committed (for tests and benchmarks)
        self.writes: Counter[str] = Counter()  # calls of ``write`` by function name (ditto)
        self.reads: Counter[str] = Counter()  # ``read``s and ``read_heavy``s, by name (ditto)
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
        loop = asyncio.get_running_loop()
        job = WriteJob(fn, args, kwargs, loop, loop.create_future())
        with self._lock:
            if self._closed:
                raise ShuttingDown()
            self.writes[getattr(fn, "__name__", "?")] += 1
            self._pending.append(job)
            drain = self._drain_loop  # a drain queued on a stopped loop will not run
            # (a drain on the writer thread has no loop: it is never stale)
            stale = drain is not None and (drain.is_closed() or not drain.is_running())
            start = not self._draining or stale
            if start:
                self._draining, self._drain_loop = True, loop
        if start:
            loop.call_soon(self._drain_here)
        with self.files():
            return await job.future  # type: ignore[no-any-return]

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

    async def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database file and truncate it, so that no
        old version of an erased row stays in the log; False when it stayed busy
        (``wal.truncate``)."""
        if self._closed:
            raise ShuttingDown()
        with self.files():  # (the writer thread's connection: never the loop's)
            return await asyncio.get_running_loop().run_in_executor(
                self._writer, truncate, self._waiting_db)

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(db, *args)`` now, on the loop's own connection: for short reads
        (a row by key, a bounded page); use ``read_heavy`` for one that grows."""
        if self._closed:
            raise ShuttingDown()
        self.reads[getattr(fn, "__name__", "?")] += 1
        with self._loop_lock:
            return self._snapshot(self._loop_db, fn, *args, **kwargs)

    async def read_heavy(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(db, *args)`` on the reader thread, so the loop goes on meanwhile."""
        if self._closed:
            raise ShuttingDown()
        self.reads[getattr(fn, "__name__", "?")] += 1
        call = functools.partial(self._snapshot, self._reader_db, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._reader, call)

    def _take(self) -> list[WriteJob]:
        """The next batch; none left ends the drain (under ``_lock``)."""
        with self._lock:
            batch = [self._pending.popleft()
                     for _ in range(min(MAX_BATCH, len(self._pending)))]
            if not batch:
                self._draining, self._drain_loop = False, None
            return batch

    def _drain_here(self) -> None:
        """On the loop: commit one batch, then queue the next drain if jobs came in;
        a busy file (another process writes) hands the batch to the writer thread."""
        batch = self._take()
        if not batch:
            return
        with self._commit_lock:
            committed = self._commit(batch, self._writer_db)
        if not committed:
            with self._lock:
                self._pending.extendleft(reversed(batch))
                self._drain_loop = None  # the writer thread's now
            with contextlib.suppress(RuntimeError):  # shut down: ``close`` drains them
                self._writer.submit(self._drain_waiting)
            return
        loop = asyncio.get_running_loop()
        self._settle(batch, loop)
        loop.call_soon(self._drain_here)

    def _drain_waiting(self) -> None:
        """Writer thread: commit the next batch, waiting for the file's write lock;
        then the lock is free again, and the drain goes back to the loop of the next
        job (where a commit costs less than the hop here and back)."""
        batch = self._take()
        if not batch:
            return
        with self._commit_lock:
            self._commit(batch, self._waiting_db)
        self._settle(batch, None)
        with self._lock:  # (held, so that no ``write`` finds a drain loop half set)
            if not self._pending:
                self._draining = False
                return
            loop = self._pending[0].loop
            with contextlib.suppress(RuntimeError):  # that loop has closed: go on here
                if loop.is_running():  # (a stopped one would never run it: ditto)
                    loop.call_soon_threadsafe(self._drain_here)
                    self._drain_loop = loop
                    return
        with contextlib.suppress(RuntimeError):  # shut down: ``close`` drains them
            self._writer.submit(self._drain_waiting)

    def _settle(self, batch: list[WriteJob], here: asyncio.AbstractEventLoop | None) -> None:
        """Answer each job on its caller's loop (directly when that is ``here``)."""
        for job in batch:
            if job.loop is here:
                job.settle()
            else:
                with contextlib.suppress(RuntimeError):  # the caller's loop has closed
                    job.loop.call_soon_threadsafe(job.settle)

    def _commit(self, batch: list[WriteJob], db: sqlite_utils.Database) -> bool:
        """Run ``batch`` in one transaction and commit it; False, with nothing run, when
        the loop's connection finds the file busy. Never raises: whatever goes wrong (a
        full disk, a closed connection) fails the jobs. Transaction control goes
        straight to the connection (sqlite-utils' ``execute`` parses each statement)."""
        conn, committed = db.conn, False
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if db is self._writer_db and _is_busy(exc):
                    return False
                raise
            if self._run_jobs(batch, db):
                conn.execute("COMMIT")
                committed = True
        except BaseException as exc:  # the whole transaction is lost: fail every job
            with contextlib.suppress(sqlite3.Error):  # (a closed connection: nothing open)
                if conn.in_transaction:  # a failed COMMIT (disk full) leaves it open
                    conn.rollback()
            for job in batch:
                job.error = job.error or exc
        if committed:
            self.commits += 1
            self.checkpoints.committed()  # (none once closed: the reader has shut down)
        return True

    @staticmethod
    def _run_jobs(batch: list[WriteJob], db: sqlite_utils.Database) -> bool:
        """Run the jobs in the open transaction, each in a savepoint when it has company
        (one that raises undoes only its own changes); False when a job alone raised
        and the transaction was rolled back (it needs no savepoint)."""
        conn, alone = db.conn, len(batch) == 1
        for job in batch:
            if not alone:
                conn.execute("SAVEPOINT job")
            try:
                job.result = job.fn(db, *job.args, **job.kwargs)
            except Exception as exc:
                job.error = exc
                if alone:
                    conn.rollback()
                    return False
                try:
                    conn.execute("ROLLBACK TO job")
                except sqlite3.Error:  # SQLite ended the whole transaction (full)
                    raise exc from None
            if not alone:
                conn.execute("RELEASE job")
        return True

    @staticmethod
    def _snapshot(db: sqlite_utils.Database, fn: Callable[..., T], *args: Any,
                  **kwargs: Any) -> T:
        conn = db.conn  # (a ROLLBACK statement costs less than ``rollback()``)
        conn.execute("BEGIN")
        try:
            return fn(db, *args, **kwargs)
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def close(self) -> None:
        """Refuse new writes, commit and answer the queued ones (a drain may still be
        waiting for its loop to run it), then close the connections. Call it on the
        loop's thread or after the loop has stopped."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        while batch := self._take():
            with self._commit_lock:
                self._commit(batch, self._waiting_db)
            self._settle(batch, None)
        self._reader_db.close()
        self.checkpoints.close()
        with self._loop_lock:
            self._loop_db.close()
        with contextlib.suppress(sqlite3.Error):  # (a broken connection: nothing to do)
            self._writer_db.execute("PRAGMA optimize")
        self._writer_db.close()
        self._waiting_db.close()


def _probe_txn(db: sqlite_utils.Database) -> None:
    """Take ``PROBE_BYTES`` of new pages and give them back, in one transaction."""
    db.execute("INSERT OR REPLACE INTO node_meta (key, value) VALUES ('health_probe', ?)",
               ["x" * PROBE_BYTES])
    db.execute("DELETE FROM node_meta WHERE key = 'health_probe'")
