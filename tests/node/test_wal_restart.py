"""The write-ahead log starts over under a steady stream of writes instead of growing
for as long as the stream lasts; a reader in another process only postpones that.
Real SQLite files, a real stream of group commits, no mocks."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import struct
import time
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


async def _stream_until(database: dbmod.Database, done: object, first: int) -> set[int]:
    """Keep ``WRITERS`` callers writing, each after its last write, until ``done()``
    holds, the deadline passes or ``MAX_WRITES`` are in; the numbers written."""
    written: set[int] = set()
    deadline = time.monotonic() + DEADLINE_SECONDS
    counter = iter(range(first, first + MAX_WRITES))

    async def writer() -> None:
        for n in counter:
            if done() or time.monotonic() > deadline:  # type: ignore[operator]
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
    again, and keeps no more than one stretch between checkpoints."""
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
    """While another connection holds a read snapshot, the log cannot start over: each
    restart gives up after ``wal.CHECKPOINT_BUSY_MS`` and the writes go on (through the
    writer thread while the checkpoint holds the lock, then back on the loop); once the
    reader is gone, the next checkpoint starts the log over."""
    other = sqlite3.connect(database.path, isolation_level=None)

    async def main() -> tuple[set[int], int, set[int]]:
        await database.write(_row, -1)
        other.execute("BEGIN")
        other.execute("SELECT count(*) FROM t").fetchone()  # a snapshot, held
        held = _wal_restarts(database.path)
        commits = database.commits
        during = await _stream_until(
            database, lambda: database.commits - commits >= 4 * wal.CHECKPOINT_COMMITS,
            0)
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
    assert len(during) >= 4 * wal.CHECKPOINT_COMMITS  # the writes went on
    assert _wal_restarts(database.path) > after_held
    assert committed(database.path) == during | after | {-1}
