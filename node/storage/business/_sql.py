"""What the business layer's storage modules share: the database type, compact JSON
for stored documents, and fetching one row."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

Db = sqlite_utils.Database


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _one(db: Db, sql: str, params: list[Any]) -> dict[str, Any] | None:
    rows = list(db.query(sql, params))
    return rows[0] if rows else None
