"""The node's connections (``node.storage.connection``): ``query`` runs a SELECT as it
is (no savepoint around it), gives rows as dictionaries with unique keys, and still
refuses a statement that is not a read, before it runs. A real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.storage.db import connect


def test_query_runs_the_select_alone_and_names_every_column(tmp_path: Path) -> None:
    db = connect(tmp_path / "n.db")
    try:
        db.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("CREATE TABLE b (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO a VALUES (1, 'x')")
        db.execute("INSERT INTO b VALUES (1, 'y')")
        statements: list[str] = []
        db.conn.set_trace_callback(statements.append)
        rows = list(db.query("SELECT a.id, a.name, b.name FROM a JOIN b ON a.id = b.id "
                             "WHERE a.id = ?", [1]))
        db.conn.set_trace_callback(None)
        assert rows == [{"id": 1, "name": "x", "name_2": "y"}]
        assert len(statements) == 1 and statements[0].startswith("SELECT"), statements
        assert list(db.query("WITH x AS (SELECT name FROM b) SELECT name FROM x")) == \
            [{"name": "y"}]
        with pytest.raises(ValueError):
            list(db.query("UPDATE a SET name = 'z'"))
        assert list(db.query("SELECT name FROM a")) == [{"name": "x"}], "not run"
        with pytest.raises(ValueError):
            list(db.query("PRAGMA foreign_keys = ON"))  # a read-shaped one without rows
    finally:
        db.close()
