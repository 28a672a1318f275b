"""The write-ahead log starts over under a steady stream of writes instead of growing
for as long as the stream lasts; a reader in another process only postpones that, and
costs the writes less the longer it stays; an erasure's truncation waits out the
periodic checkpoint. Real SQLite files, a real stream of group commits, no mocks."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils

from node.storage import db as dbmod
from node.storage import wal
from tests.node.table_jobs import committed

WRITERS = 4
MAX_WRITES = 20_000  # per test: the stream stops here even if nothing happened
DEADLINE_SECONDS = 20.0


def _wal_restarts(path: Path) -> int:
    """The log header's checkpoint sequence number: it grows by one each time the log
    starts over from its beginning (SQLite's WAL format, bytes 12-15)."""
    with open(f"{path}-wal", "rb") as f:
        header = f.read(16)
    return int(struct.unpack(">I", header[12:16])[0]) if len(header) == 16 else 0


def _row(db: sqlite_utils.Database, n: int) -> int:
    db.execute("INSERT INTO t (n, v) VALUES (?, ?)", [n, os.urandom(200).hex()])
    return n


async def _stream_until(database: dbmod.Database, done: Callable[[], bool],
                        first: int) -> set[int]:
    """Keep ``WRITERS`` callers writing, each after its last write, until ``done()``
    holds, the deadline passes or ``MAX_WRITES`` are in; the numbers written."""
    written: set[int] = set()
    deadline = time.monotonic() + DEADLINE_SECONDS
    counter = iter(range(first, first + MAX_WRITES))

    async def writer() -> None:
        for n in counter:
            if done() or time.monotonic() > deadline:
                return
            written.add(await database.write(_row, n))

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return written


@pytest.fixture
def often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wal, "CHECKPOINT_COMMITS", 50)


def test_a_steady_stream_of_writes_starts_the_log_over(
        often: None, database: dbmod.Database) -> None:
    """With writes always queued, passive checkpoints never find the log copied whole,
    and it used to grow for as long as the stream lasted: now it starts over again and
    again."""
    start = _wal_restarts(database.path)

    async def main() -> set[int]:
        return await _stream_until(
            database, lambda: _wal_restarts(database.path) >= start + 3, 0)

    written = asyncio.run(main())
    assert _wal_restarts(database.path) >= start + 3, "the log never started over"
    assert database.checkpoints.restarts >= 3
    assert committed(database.path) == written


def test_a_reader_in_another_process_postpones_the_restart_and_blocks_no_write(
        often: None, database: dbmod.Database) -> None:
    """While another connection holds an older read snapshot, the log cannot start
    over: each passive checkpoint stops at that snapshot, and no restart is tried (it
    would hold the writes back, in vain, for ``wal.CHECKPOINT_BUSY_MS``); once the
    reader is gone, a later checkpoint starts the log over."""
    other = sqlite3.connect(database.path, isolation_level=None)
    checkpoints = database.checkpoints
    runs = 20  # checkpoints under the held snapshot

    async def main() -> tuple[set[int], int, set[int]]:
        await database.write(_row, -1)
        other.execute("BEGIN")
        other.execute("SELECT count(*) FROM t").fetchone()  # a snapshot, held
        held, first = _wal_restarts(database.path), checkpoints.runs
        during = await _stream_until(database, lambda: checkpoints.runs >= first + runs, 0)
        after_held = _wal_restarts(database.path)
        other.execute("ROLLBACK")
        after = await _stream_until(
            database, lambda: _wal_restarts(database.path) > after_held, MAX_WRITES)
        assert after_held == held  # no restart under the held snapshot
        return during, after_held, after

    try:
        during, after_held, after = asyncio.run(main())
    finally:
        other.close()
    assert checkpoints.pinned >= runs - 1  # (the last may have run after the release)
    assert checkpoints.gave_up == 0  # no restart waited for the reader
    assert len(during) >= runs * wal.CHECKPOINT_COMMITS  # the writes went on
    assert _wal_restarts(database.path) > after_held
    assert committed(database.path) == during | after | {-1}


def test_restarts_that_give_up_back_off(database: dbmod.Database) -> None:
    """A reader whose snapshot is the log's latest lets the passive checkpoint copy it
    all, but a restart must wait for it: it gives up after ``CHECKPOINT_BUSY_MS``, and
    the next restarts are tried after 1, 2, 4, ... skipped checkpoints, not every time."""
    async def fill() -> None:
        for n in range(20):
            await database.write(_row, n)
    asyncio.run(fill())
    reader = sqlite3.connect(database.path, isolation_level=None)
    checkpoints = wal.Checkpoints(dbmod.connect(database.path, wal.CHECKPOINT_BUSY_MS),
                                  database._reader)
    tried = []
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t").fetchone()  # at the log's end
        for _ in range(8):
            before = checkpoints.gave_up
            checkpoints._run()
            tried.append(checkpoints.gave_up > before)
        assert checkpoints.pinned == 0 and checkpoints.restarts == 0
        reader.execute("ROLLBACK")
        while not checkpoints.restarts:  # the skips left run out, then it starts over
            assert len(tried) < 8 + wal.MAX_SKIPPED + 1
            checkpoints._run()
            tried.append(False)
    finally:
        reader.close()
        checkpoints.close()
    # tried at the 1st, 3rd and 6th checkpoint (skipping 1, then 2, then 4)
    assert tried[:8] == [True, False, True, False, False, True, False, False]


def test_one_checkpoint_is_queued_at_a_time(often: None, database: dbmod.Database) -> None:
    """Commits that come due while a checkpoint still waits for the reader thread
    queue no second one behind it."""
    free = threading.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        blocked = loop.run_in_executor(database._reader, free.wait, 10)  # the reader thread
        first = database.checkpoints.runs
        for n in range(3 * wal.CHECKPOINT_COMMITS):  # three checkpoints come due
            await database.write(_row, n)
        free.set()
        await blocked
        await database.read_heavy(lambda db: None)  # after whatever was queued
        assert database.checkpoints.runs == first + 1

    asyncio.run(main())


def test_the_truncation_of_an_erasure_waits_out_the_periodic_checkpoint(
        database: dbmod.Database) -> None:
    """``Database.checkpoint`` (after an erasure) used to do nothing when another
    checkpoint held the log, which fails it at once; now it tries again until the log is
    truncated. The other checkpoint holds the log while a reader keeps it waiting."""
    reader = sqlite3.connect(database.path, isolation_level=None, check_same_thread=False)
    other = sqlite3.connect(database.path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA busy_timeout = 300")
    probe = sqlite3.connect(database.path, isolation_level=None)
    released = threading.Event()

    def hold() -> None:  # (again when the probe held the lock first and failed it)
        deadline = time.monotonic() + 10
        while not released.is_set() and time.monotonic() < deadline:
            other.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()

    def release() -> None:
        reader.rollback()
        released.set()

    async def main() -> bool:
        for n in range(50):
            await database.write(_row, n)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM t").fetchone()  # keeps ``other`` waiting
        holding = asyncio.get_running_loop().run_in_executor(None, hold)
        deadline = time.monotonic() + 5
        while not probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0]:
            assert time.monotonic() < deadline, "the other checkpoint never held the log"
            await asyncio.sleep(0.001)
        asyncio.get_running_loop().call_later(0.5, release)
        truncated = await database.checkpoint()  # its first try finds the lock taken
        await holding
        return truncated

    try:
        assert asyncio.run(main())
    finally:
        released.set()
        for conn in (reader, other, probe):
            conn.close()
    assert os.path.getsize(f"{database.path}-wal") == 0
    assert committed(database.path) == set(range(50))
