"""docs/internals.md says where every table lives and which events exist: a table or an
event added without a line there fails here."""

from __future__ import annotations

import pathlib
import re

from node.events import EVENTS, payload_fields
from node.storage.db import connect, migrate
from tests.nodes import REPO

DOC = (REPO / "docs" / "internals.md").read_text()


def _rows(heading: str) -> dict[str, list[str]]:
    section = DOC.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3:
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_every_table_is_listed_with_the_module_that_owns_its_sql(
        tmp_path: pathlib.Path) -> None:
    db = connect(tmp_path / "node.db")
    migrate(db)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                       " AND name NOT LIKE 'sqlite_%'")} - {"_sqlite_migrations"}
    db.close()
    rows = _rows("### Tables and their owners")
    assert set(rows) == tables
    for table, (owner, *_) in rows.items():
        source = (REPO / owner.strip("`")).read_text()
        assert re.search(rf"\b{table}\b", source), f"{owner} has no SQL for {table}"


def test_every_event_is_listed_with_its_payload() -> None:
    rows = _rows("## Events (hooks)")
    assert set(rows) == set(EVENTS)
    for event, (payload, *_) in rows.items():
        assert set(re.findall(r"`(\w+)`", payload)) == payload_fields(event), event
