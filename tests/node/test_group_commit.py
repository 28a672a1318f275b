"""Group commit: writes that queue up while a transaction runs share the next COMMIT;
a job that raises fails only its own caller and leaves no trace; every caller is
answered only once its own job is committed. Real SQLite files, no mocks.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlite_utils

from node.errors import StorageFull
from node.storage import db as dbmod

JOBS = 50


@pytest.fixture
def database(tmp_path: Path) -> dbmod.Database:
    database = dbmod.Database.open(tmp_path / "node.db")

    def table(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    asyncio.run(database.write(table))
    yield database
    database.close()


def _insert(db: sqlite_utils.Database, n: int) -> int:
    db.execute("INSERT INTO t (n, v) VALUES (?, 'x')", [n])
    return n


def _insert_then_fail(db: sqlite_utils.Database, n: int) -> None:
    db.execute("INSERT INTO t (n, v) VALUES (?, 'x')", [n])
    raise ValueError(f"job {n} refuses")


def _committed(path: Path) -> set[int]:
    """The rows another connection sees: only what is committed."""
    conn = sqlite3.connect(path)
    try:
        return {n for (n,) in conn.execute("SELECT n FROM t")}
    finally:
        conn.close()


async def _hold_writer(database: dbmod.Database) -> tuple[asyncio.Task[None],
                                                           threading.Event]:
    """A first write that blocks the writer thread until the event is set, so that
    the writes issued meanwhile queue up behind it."""
    started, release = threading.Event(), threading.Event()

    def hold(db: sqlite_utils.Database) -> None:
        started.set()
        if not release.wait(10):
            raise TimeoutError("the test did not release the writer")
    task = asyncio.create_task(database.write(hold))
    assert await asyncio.to_thread(started.wait, 10)
    return task, release


def test_queued_writes_share_one_commit_and_a_failure_fails_only_itself(
        database: dbmod.Database) -> None:
    async def main() -> list[object]:
        holder, release = await _hold_writer(database)
        before = database.commits
        jobs = [database.write(_insert_then_fail if n == 7 else _insert, n)
                for n in range(JOBS)]
        tasks = [asyncio.ensure_future(job) for job in jobs]
        await asyncio.sleep(0)  # let every task queue its job (no result is awaited)
        release.set()
        await holder
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert database.commits - before == 2  # the holder's, then all 50 together
        return results

    results = asyncio.run(main())
    assert isinstance(results[7], ValueError) and "job 7" in str(results[7])
    assert [r for i, r in enumerate(results) if i != 7] == \
        [n for n in range(JOBS) if n != 7]
    assert _committed(database.path) == set(range(JOBS)) - {7}


def test_each_caller_is_answered_after_its_commit(database: dbmod.Database) -> None:
    async def main() -> None:
        for n in range(20):
            await database.write(_insert, n)
            assert n in _committed(database.path)
    asyncio.run(main())


def test_a_full_disk_fails_the_job_that_met_it_and_no_success_is_lost(
        database: dbmod.Database) -> None:
    """A job that meets a full disk hears StorageFull. SQLite may then end the whole
    transaction or only the statement; either way, a caller told "committed" finds
    its row committed and a caller told an error finds nothing."""
    def cap(db: sqlite_utils.Database, pages: int | None) -> None:
        pages = pages or db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")

    def big(db: sqlite_utils.Database, n: int) -> int:
        db.execute("INSERT INTO t (n, v) VALUES (?, ?)", [n, "y" * 200_000])
        return n

    async def main() -> list[object]:
        holder, release = await _hold_writer(database)
        tasks = [asyncio.ensure_future(database.write(cap, None)),
                 asyncio.ensure_future(database.write(_insert, 100)),
                 asyncio.ensure_future(database.write(big, 101)),
                 asyncio.ensure_future(database.write(_insert, 102))]
        await asyncio.sleep(0)
        release.set()
        await holder
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await database.write(cap, 1_000_000)
        return results

    _, *inserts = asyncio.run(main())
    assert isinstance(inserts[1], StorageFull)
    told_ok = {r for r in inserts if isinstance(r, int)}
    assert all(isinstance(r, (int, StorageFull)) for r in inserts), inserts
    assert _committed(database.path) == told_ok
