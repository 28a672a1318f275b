"""The write jobs the write-queue tests hand a database with one table ``t`` (the
``database`` fixture of tests/node/conftest.py). Real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils


def insert(db: sqlite_utils.Database, n: int) -> int:
    db.execute("INSERT INTO t (n) VALUES (?)", [n])
    return n


def committed(path: Path) -> set[int]:
    """The rows another connection sees: only what is committed."""
    conn = sqlite3.connect(path)
    try:
        return {n for (n,) in conn.execute("SELECT n FROM t")}
    finally:
        conn.close()
