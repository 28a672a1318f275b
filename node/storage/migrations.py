"""Ordered schema migrations. Append-only: never edit one that has shipped.

Applied names are recorded in sqlite-utils' ``_sqlite_migrations`` table (the schema
version is the number applied); ``kontor run`` and ``kontor init`` apply what is pending.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

MIGRATIONS = Migrations("kontor")


@MIGRATIONS(name="0001_node")
def m0001_node(db: sqlite_utils.Database) -> None:
    """Node metadata and the public halves of the node's signing keys."""
    db.execute("""
        CREATE TABLE node_meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT""")
    db.execute("""
        CREATE TABLE node_keys (
            key_id TEXT PRIMARY KEY,
            public_key TEXT NOT NULL,
            valid_from_ms INTEGER NOT NULL,
            expired_ms INTEGER
        ) STRICT""")
