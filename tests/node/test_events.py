"""The hook registry: declared events only, their payloads as declared, by priority;
transaction hooks each in a savepoint of the core's transaction, and none (no statement
at all) where the hook's pure test of the payload says it has nothing to do."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from node.events import EVENTS, Hooks, payload_fields
from node.storage.db import connect, migrate

STORED = {"sender": "carl@c.test", "to": "shop@s.test", "message_id": "m1",
          "sender_device": "D", "ts": 1}


async def test_handlers_run_by_priority_and_a_failing_one_stops_nothing(
        caplog: pytest.LogCaptureFixture) -> None:
    hooks, seen = Hooks(), []

    async def low(**payload: Any) -> None:
        seen.append(("low", payload))

    async def high(**payload: Any) -> None:
        seen.append(("high", payload))
        raise RuntimeError("broken feature")

    hooks.on("message.stored", low, priority=1)
    hooks.on("message.stored", high, priority=100)
    with caplog.at_level(logging.ERROR, logger="kontor.events"):
        await hooks.fire("message.stored", **STORED)
    assert seen == [("high", STORED), ("low", STORED)]
    assert "broken feature" in caplog.text


async def test_only_declared_events_with_their_declared_payload() -> None:
    hooks = Hooks()

    async def handler(**payload: Any) -> None:
        raise AssertionError("must not run")

    with pytest.raises(ValueError):
        hooks.on("message.received", handler)
    hooks.on("message.stored", handler)
    with pytest.raises(ValueError):
        await hooks.fire("message.stored", **{**STORED, "extra": 1})
    with pytest.raises(ValueError):
        await hooks.fire("message.stored", sender="a@b")
    with pytest.raises(ValueError):
        await hooks.fire("message.unknown")
    assert payload_fields("receipt.delivered") == {"message_id", "sender", "by", "device",
                                                   "ts"}
    assert set(EVENTS) == {"message.stored", "receipt.delivered"}


def _kept(db: Any) -> list[str]:
    return [r[0] for r in db.execute("SELECT value FROM node_meta WHERE key LIKE 'hook-%' "
                                     "ORDER BY key")]


def _writer(name: str, fail: bool = False) -> Any:
    """A transaction hook that writes a row, then fails or leaves work for after."""
    def hook(db: Any, **payload: Any) -> Any:
        db.execute("INSERT INTO node_meta (key, value) VALUES (?, ?)",
                   [f"hook-{name}", payload["message_id"]])
        if fail:
            raise RuntimeError(f"{name} is broken")
        return lambda: done.append(name)
    done: list[str] = []
    hook.done = done  # type: ignore[attr-defined]
    return hook


def test_transaction_hooks_run_in_savepoints_of_the_core_transaction(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = connect(tmp_path / "node.db")
    migrate(db)
    hooks, first, broken, last = Hooks(), _writer("a"), _writer("b", fail=True), _writer("c")
    hooks.on_txn("message.stored", last, priority=1)
    hooks.on_txn("message.stored", broken, priority=50)
    hooks.on_txn("message.stored", first, priority=100)
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO node_meta (key, value) VALUES ('core', 'stored')")
    with caplog.at_level(logging.ERROR, logger="kontor.events"):
        after = hooks.run_txn(db, "message.stored", **STORED)
    db.execute("COMMIT")
    assert "b is broken" in caplog.text
    assert _kept(db) == ["m1", "m1"]  # a's and c's rows; b's rolled back alone
    assert db.execute("SELECT value FROM node_meta WHERE key = 'core'").fetchone()[0] \
        == "stored"
    assert first.done == [] and last.done == []  # nothing before the commit
    Hooks.after_commit([*after, lambda: 1 / 0])  # a failing one stops nothing
    assert (first.done, last.done) == (["a"], ["c"])
    with pytest.raises(ValueError):
        hooks.run_txn(db, "message.stored", sender="a@b")
    with pytest.raises(ValueError):
        hooks.on_txn("message.received", first)


def test_a_hook_that_ends_the_whole_transaction_fails_the_core_write(tmp_path: Path) -> None:
    """As a full disk does (SQLite rolls everything back): there is no savepoint left to
    roll back to, so the error goes on and the core's write fails as a whole."""
    db = connect(tmp_path / "node.db")
    migrate(db)
    hooks = Hooks()

    def full(db: Any, **payload: Any) -> None:
        db.execute("ROLLBACK")
        raise sqlite3.OperationalError("database or disk is full")

    hooks.on_txn("message.stored", full)
    db.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError):
        hooks.run_txn(db, "message.stored", **STORED)
    assert not db.conn.in_transaction


def test_a_hook_whose_test_is_false_runs_no_statement(tmp_path: Path) -> None:
    db = connect(tmp_path / "node.db")
    migrate(db)
    hooks, hook = Hooks(), _writer("shop")
    hooks.on_txn("message.stored", hook,
                 when=lambda *, to, **_: to == "shop@s.test")
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    db.execute("BEGIN IMMEDIATE")
    assert hooks.run_txn(db, "message.stored", **{**STORED, "to": "dora@c.test"}) == []
    assert statements == ["BEGIN IMMEDIATE"], "no savepoint, no hook"
    after = hooks.run_txn(db, "message.stored", **STORED)
    db.execute("COMMIT")
    db.conn.set_trace_callback(None)
    assert "SAVEPOINT hook" in statements and len(after) == 1
    assert _kept(db) == ["m1"]
    with pytest.raises(ValueError):  # the payload is checked all the same
        hooks.run_txn(db, "message.stored", sender="a@b")


def test_a_test_that_raises_skips_its_hook_alone(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = connect(tmp_path / "node.db")
    migrate(db)
    hooks, skipped, kept = Hooks(), _writer("skipped"), _writer("kept")

    def broken(**payload: Any) -> bool:
        raise KeyError("to")
    hooks.on_txn("message.stored", skipped, priority=10, when=broken)
    hooks.on_txn("message.stored", kept, priority=1)
    db.execute("BEGIN IMMEDIATE")
    with caplog.at_level(logging.ERROR, logger="kontor.events"):
        after = hooks.run_txn(db, "message.stored", **STORED)
    db.execute("COMMIT")
    assert _kept(db) == ["m1"] and len(after) == 1  # (kept's row alone)
    assert "failed" in caplog.text
