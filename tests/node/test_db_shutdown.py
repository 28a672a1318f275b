"""The write queue at its edges: a close with writes still queued, a connection that
breaks, a drain left on a loop that stopped, SQLite's extended busy codes. Every
caller is answered (committed or told why not) and nothing hangs. Real SQLite files.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any

import pytest
import sqlite_utils

from node.errors import ShuttingDown
from node.storage import db as dbmod
from tests.node.table_jobs import committed, insert
from tests.nodes import eventually


def _count(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT COUNT(*) FROM t").fetchone()[0])


def test_close_commits_and_answers_the_writes_still_queued_then_refuses_new_ones(
        database: dbmod.Database) -> None:
    """The app's cleanup closes the database while a write waits for its drain to run
    on the loop: the write is committed and answered, the drain left behind does
    nothing (no error on the loop), and reads and writes after close are refused
    (503 SHUTTING_DOWN, not a 500 from a closed connection)."""
    async def main() -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: errors.append(ctx))
        before = database.commits
        task = asyncio.ensure_future(database.write(insert, 1))
        await asyncio.sleep(0)  # the write is queued; its drain has not run yet
        assert database.commits == before and not task.done()
        database.close()
        assert await asyncio.wait_for(task, 5) == 1
        for refused_call in (database.write(insert, 2), database.read(_count),
                             database.read_heavy(_count), database.checkpoint()):
            with pytest.raises(ShuttingDown) as refused:
                await refused_call
            assert refused.value.code == "SHUTTING_DOWN" and refused.value.status == 503

        async def drain_ran() -> bool:  # the drain queued before close found nothing
            return not database._draining
        await eventually(drain_ran, what="the drain queued before close")
        return errors

    assert asyncio.run(main()) == []
    assert committed(database.path) == {1}


def test_a_broken_connection_fails_each_write_instead_of_hanging(
        database: dbmod.Database) -> None:
    """Whatever the transaction meets, its callers hear it, and the queue goes on:
    the next write is answered too (it used to hang once a drain had failed)."""
    database._writer_db.close()  # (what a broken connection looks like to the queue)

    async def main() -> None:
        for n in range(3):
            with pytest.raises(sqlite3.ProgrammingError):
                await asyncio.wait_for(database.write(insert, n), 5)
    asyncio.run(main())
    assert committed(database.path) == set()


def test_a_drain_left_on_a_stopped_loop_does_not_block_another_loop(
        database: dbmod.Database) -> None:
    """A loop that stops before running its queued drain (not closed, so it may run
    again) does not hold the queue: a write from another loop drains both jobs, and
    each caller is answered on its own loop."""
    first = asyncio.new_event_loop()
    try:
        async def queue() -> asyncio.Task[int]:
            return asyncio.ensure_future(database.write(insert, 1))
        task = first.run_until_complete(queue())  # stops before the drain runs
        assert not task.done() and committed(database.path) == set()

        async def other() -> int:
            return await asyncio.wait_for(database.write(insert, 2), 5)
        assert asyncio.run(other()) == 2
        assert committed(database.path) == {1, 2}
        assert first.run_until_complete(asyncio.wait_for(task, 5)) == 1
    finally:
        first.close()


@pytest.mark.parametrize("code", [sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
                                  261, 517, 262])  # BUSY_RECOVERY, BUSY_SNAPSHOT, ...
def test_extended_busy_codes_count_as_busy(code: int) -> None:
    exc = sqlite3.OperationalError("database is locked")
    exc.sqlite_errorcode = code  # type: ignore[attr-defined]
    assert dbmod._is_busy(exc)


def test_other_errors_do_not_count_as_busy() -> None:
    exc = sqlite3.OperationalError("disk I/O error")
    exc.sqlite_errorcode = 266  # type: ignore[attr-defined]  # SQLITE_IOERR_READ
    assert not dbmod._is_busy(exc)


def test_the_writer_thread_hands_no_drain_to_a_stopped_loop(
        monkeypatch: pytest.MonkeyPatch, database: dbmod.Database) -> None:
    """When the file's lock frees, the writer thread hands the queue back to the loop of
    its next job only if that loop runs: a stopped one (not closed) would leave every
    job behind it, another loop's included, unanswered."""
    monkeypatch.setattr(dbmod, "MAX_BATCH", 1)  # the thread's first batch: job 1 alone
    lock = sqlite3.connect(database.path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    first = asyncio.new_event_loop()
    queued, answer = threading.Event(), []

    def other_loop() -> None:
        async def main() -> None:
            job = asyncio.ensure_future(database.write(insert, 3))
            await asyncio.sleep(0)  # (queued behind jobs 1 and 2)
            queued.set()
            answer.append(await asyncio.wait_for(job, 5))
        asyncio.run(main())

    try:
        async def queue() -> list[asyncio.Task[int]]:
            jobs = [asyncio.ensure_future(database.write(insert, n)) for n in (1, 2)]
            deadline = time.monotonic() + 5
            while not (database._draining and database._drain_loop is None):
                # (until the loop's drain found the file busy: the writer thread has them)
                assert time.monotonic() < deadline
                await asyncio.sleep(0.001)
            return jobs
        jobs = first.run_until_complete(queue())  # then this loop stops
        thread = threading.Thread(target=other_loop)
        thread.start()
        assert queued.wait(5)
        lock.rollback()  # the thread commits job 1; job 2's loop is stopped
        thread.join(10)
        assert answer == [3]
        assert first.run_until_complete(asyncio.wait_for(asyncio.gather(*jobs), 5)) == [1, 2]
        assert committed(database.path) == {1, 2, 3}
    finally:
        lock.close()
        first.close()
