"""Stored documents: the business profile, automation settings and catalog version
(``biz_documents``).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

import json
from typing import Any

from node.storage.business._sql import Db, _dumps, _one


def get_document(db: Db, name: str) -> dict[str, Any] | None:
    """``{"doc", "version", "updated_ms"}`` of a stored document, or None."""
    row = _one(db, "SELECT doc, version, updated_ms FROM biz_documents WHERE name = ?", [name])
    if row is None:
        return None
    return {"doc": json.loads(row["doc"]), "version": row["version"],
            "updated_ms": row["updated_ms"]}


def put_document_txn(db: Db, name: str, doc: dict[str, Any], now_ms: int) -> int:
    """Store ``doc`` under ``name``, incrementing its version; return the new version."""
    db.execute("INSERT INTO biz_documents (name, doc, version, updated_ms) VALUES (?, ?, 1, ?) "
               "ON CONFLICT (name) DO UPDATE SET doc = excluded.doc, "
               "version = version + 1, updated_ms = excluded.updated_ms",
               [name, _dumps(doc), now_ms])
    return db.execute("SELECT version FROM biz_documents WHERE name = ?", [name]).fetchone()[0]
