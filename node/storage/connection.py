"""The node's SQLite connections: sqlite-utils' ``Database`` with a leaner ``query``,
and ``savepoint``, a nested transaction inside a write.

sqlite-utils runs every ``query`` inside a savepoint of its own (so that a statement
that returns no rows can be undone before it refuses it) and parses its first keyword:
two more statements and about 5 us a read, several times a request. The node's storage
only hands ``query`` SELECTs, so here it runs the statement as it is; one that does
not begin as a read (``SELECT``, ``WITH``, ``PRAGMA``, ``VALUES``) is refused before it
runs, and one that returns no rows after (``ValueError``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.utils import dedupe_keys

BUSY_TIMEOUT_MS = 10_000
_READS = frozenset({"SELECT", "WITH", "PRAGMA", "VALUES"})


class NodeDatabase(sqlite_utils.Database):
    """A connection of the node (autocommit mode: transactions are explicit)."""

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
              ) -> Generator[dict[str, Any], None, None]:
        """Rows of a SELECT as dictionaries (duplicate column names made unique)."""
        if (sql.lstrip("( \t\n").split(None, 1) or [""])[0].upper() not in _READS:
            raise ValueError("query() can only be used with SQL that returns rows")
        cursor = self.conn.execute(sql, params) if params is not None \
            else self.conn.execute(sql)
        if cursor.description is None:
            raise ValueError("query() can only be used with SQL that returns rows")
        keys = [d[0] for d in cursor.description]
        if len(set(keys)) != len(keys):
            keys = dedupe_keys(keys)
        return (dict(zip(keys, row, strict=True)) for row in cursor)


def connect_readonly(path: Path | str) -> sqlite_utils.Database:
    """Open an existing database only to read it (``kontor check-config``)."""
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True,
                           isolation_level=None, check_same_thread=False,
                           timeout=BUSY_TIMEOUT_MS / 1000)
    return NodeDatabase(conn)


@contextlib.contextmanager
def savepoint(db: sqlite_utils.Database, name: str) -> Iterator[None]:
    """A nested transaction inside the current write transaction: released when the
    block ends, rolled back alone when it raises (the error goes on). When SQLite has
    ended the whole transaction (a full disk) there is nothing to roll back to: the
    block's error goes on unchanged and ``db.conn.in_transaction`` is False."""
    assert name.isidentifier(), name
    conn = db.conn
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")
