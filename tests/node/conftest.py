"""Fixtures of the node tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from node.storage import db as dbmod


@pytest.fixture
def database(tmp_path: Path) -> Iterator[dbmod.Database]:
    """A node database holding the empty table ``t``; closed at the end."""
    database = dbmod.Database.open(tmp_path / "node.db")

    def table(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, v TEXT NOT NULL DEFAULT 'x')")
    asyncio.run(database.write(table))
    yield database
    database.close()
