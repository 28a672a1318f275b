"""Group commit: writes queued while the loop is busy share one COMMIT;
a job that raises fails only its own caller and leaves no trace; every caller is
answered only once its own job is committed. Real SQLite files, no mocks.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
import sqlite_utils

from node.errors import StorageFull
from node.storage import db as dbmod
from tests.node.table_jobs import committed, insert

JOBS = 50


def _insert_then_fail(db: sqlite_utils.Database, n: int) -> None:
    db.execute("INSERT INTO t (n, v) VALUES (?, 'x')", [n])
    raise ValueError(f"job {n} refuses")


def test_writes_queued_together_share_one_commit_and_a_failure_fails_only_itself(
        database: dbmod.Database) -> None:
    async def main() -> list[object]:
        before = database.commits
        tasks = [asyncio.ensure_future(database.write(
            _insert_then_fail if n == 7 else insert, n)) for n in range(JOBS)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert database.commits - before == 1  # all 50 in one transaction
        return results

    results = asyncio.run(main())
    assert isinstance(results[7], ValueError) and "job 7" in str(results[7])
    assert [r for i, r in enumerate(results) if i != 7] == \
        [n for n in range(JOBS) if n != 7]
    assert committed(database.path) == set(range(JOBS)) - {7}


def _one(db: sqlite_utils.Database) -> tuple[int]:
    return tuple(db.execute("SELECT 1").fetchone())  # type: ignore[return-value]


def test_a_file_locked_by_another_process_does_not_hold_up_the_loop(
        database: dbmod.Database) -> None:
    """Another connection (a ``kontor`` command) holds the write lock: the writes wait
    on the writer thread while the loop goes on (reads, other tasks), and commit, in
    order, once the lock is released; later writes are back on the loop."""
    other = sqlite3.connect(database.path, isolation_level=None)

    async def main() -> None:
        other.execute("BEGIN IMMEDIATE")
        tasks = [asyncio.ensure_future(database.write(insert, n)) for n in range(10)]
        for _ in range(20):  # the loop keeps turning while the writes wait
            await asyncio.sleep(0.005)
            assert not any(t.done() for t in tasks)
        assert await database.read(_one) == (1,)
        other.execute("ROLLBACK")
        assert await asyncio.wait_for(asyncio.gather(*tasks), 10) == list(range(10))
        before = database.commits
        assert await asyncio.gather(*(database.write(insert, n)
                                      for n in range(10, 20))) == list(range(10, 20))
        assert database.commits - before == 1

    try:
        asyncio.run(main())
    finally:
        other.close()
    assert committed(database.path) == set(range(20))


def test_each_caller_is_answered_after_its_commit(database: dbmod.Database) -> None:
    async def main() -> None:
        for n in range(20):
            await database.write(insert, n)
            assert n in committed(database.path)
    asyncio.run(main())


def _cap(db: sqlite_utils.Database, pages: int | None) -> None:
    """Limit the file to ``pages`` (None: as large as it is now)."""
    pages = pages or db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")


def _big(db: sqlite_utils.Database, n: int) -> int:
    db.execute("INSERT INTO t (n, v) VALUES (?, ?)", [n, "y" * 200_000])
    return n


def test_a_full_disk_fails_the_job_that_met_it_and_no_success_is_lost(
        database: dbmod.Database) -> None:
    """A job that meets a full disk hears StorageFull. SQLite may then end the whole
    transaction or only the statement; either way, a caller told "committed" finds
    its row committed and a caller told an error finds nothing."""
    async def main() -> list[object]:
        tasks = [asyncio.ensure_future(database.write(_cap, None)),
                 asyncio.ensure_future(database.write(insert, 100)),
                 asyncio.ensure_future(database.write(_big, 101)),
                 asyncio.ensure_future(database.write(insert, 102))]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await database.write(_cap, 1_000_000)
        return results

    _, *inserts = asyncio.run(main())
    assert isinstance(inserts[1], StorageFull)
    told_ok = {r for r in inserts if isinstance(r, int)}
    assert all(isinstance(r, (int, StorageFull)) for r in inserts), inserts
    assert committed(database.path) == told_ok


def test_a_job_alone_takes_no_savepoint_and_its_failure_rolls_back(
        database: dbmod.Database) -> None:
    """A batch of one job needs no savepoint (nothing else shares its transaction):
    BEGIN, the job, COMMIT; when it raises, the transaction is rolled back instead,
    its caller hears the error and nothing of it stays."""
    conn = database._writer_db.conn  # the loop's write connection
    statements: list[str] = []

    async def main() -> tuple[list[str], list[str]]:
        conn.set_trace_callback(statements.append)
        try:
            assert await database.write(insert, 1) == 1
            alone = statements[:]
            statements.clear()
            with pytest.raises(ValueError, match="job 2 refuses"):
                await database.write(_insert_then_fail, 2)
            failed = statements[:]
            assert await database.write(insert, 3) == 3
        finally:
            conn.set_trace_callback(None)
        return alone, failed

    alone, failed = asyncio.run(main())
    assert alone[0] == "BEGIN IMMEDIATE" and alone[-1] == "COMMIT", alone
    assert not any("SAVEPOINT" in s for s in alone), alone
    assert failed[0] == "BEGIN IMMEDIATE" and failed[-1] == "ROLLBACK", failed
    assert "COMMIT" not in failed and not any("SAVEPOINT" in s for s in failed), failed
    assert committed(database.path) == {1, 3}


def test_a_job_alone_that_meets_a_full_disk_leaves_nothing(
        database: dbmod.Database) -> None:
    """Alone in its transaction (no savepoint), a job that fills the disk hears
    StorageFull, nothing of it stays, and the next write works."""
    async def main() -> None:
        await database.write(_cap, None)
        with pytest.raises(StorageFull):
            await database.write(_big, 101)
        await database.write(_cap, 1_000_000)
        assert await database.write(insert, 102) == 102

    asyncio.run(main())
    assert committed(database.path) == {102}
