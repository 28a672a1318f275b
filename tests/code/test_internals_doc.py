"""docs/internals.md says where every table lives and which events exist: a table or an
event added without a line there fails here, as does an owner whose docstring does not
name its tables, a "Fired by" that does not fire the event, an "In the transaction of"
that does not run its transaction hooks, or a handler that does not exist."""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import re
from types import ModuleType

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


def _owner_docstring(owner: str) -> str:
    return ast.get_docstring(ast.parse((REPO / owner).read_text())) or ""


def test_each_table_owner_names_its_tables_in_its_docstring() -> None:
    for table, (owner, *_) in _rows("### Tables and their owners").items():
        assert re.search(rf"\b{table}\b", _owner_docstring(owner.strip("`"))), \
            f"the docstring of {owner} does not say it holds {table}"


def _resolve(dotted: str) -> tuple[ModuleType, object]:
    """The module of ``dotted`` (the longest importable prefix) and the object named."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        found: object = module
        for name in parts[cut:]:
            found = getattr(found, name)
        return module, found
    raise AssertionError(f"{dotted} names nothing")


def _check_callers(column: int, call: str, what: str) -> None:
    """Each function named in ``column`` of the events table exists, and its module
    makes ``call`` (formatted with the event)."""
    for event, row in _rows("## Events (hooks)").items():
        names = re.findall(r"`([\w.]+)`", row[column])
        assert names, event
        for name in names:
            module, found = _resolve(name)
            assert callable(found), name
            assert call.format(event) in inspect.getsource(module), \
                f"{name}'s module does not {what} {event}"


def test_each_event_is_fired_where_the_doc_says() -> None:
    _check_callers(1, 'fire("{}"', "fire")


def test_each_event_runs_its_transaction_hooks_where_the_doc_says() -> None:
    _check_callers(2, 'run_txn(db, "{}"', "run the transaction hooks of")


def test_each_named_handler_exists() -> None:
    for event, (_, _, _, handlers, *_) in _rows("## Events (hooks)").items():
        names = re.findall(r"`([\w.]+)`", handlers)
        assert names, event
        for name in names:
            assert callable(_resolve(name)[1]), name
