"""``kontor business profile``, ``kontor stats`` and ``kontor customer``: the business
layer for the operator.

Like the account tools they work on the node's database directly, whether or not the
node is up (SQLite's WAL lets them write beside a running node).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from node.cli import GROUPS, _err, _node_config, _out, command
from node.config import Config
from node.errors import InvalidParameter
from node.nodekey import key_path, load_key
from node.services.business import datarights, hours, profile, stats
from node.services.business.context import Business
from node.services.notifier import Notifier
from node.services.setup import open_node
from node.storage.db import Database

T = TypeVar("T")

GROUPS.setdefault("business", "the business's profile")
GROUPS.setdefault("customer", "a customer's data: export and erasure")

PROFILE_FLAGS = ("name", "description", "category", "postal_address", "website", "email",
                 "phone", "logo", "timezone")


def _with_business(config: Config, fn: Callable[[Business], Awaitable[T]]) -> T:
    open_node(config)

    async def run() -> T:
        db = Database(config.database_path)
        try:
            biz = Business(db, Notifier(), config, load_key(key_path(config.data_dir)))
            return await fn(biz)
        finally:
            db.close()
    return asyncio.run(run())


def _profile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("show", "set"), help="show the profile, or set fields")
    for name in PROFILE_FLAGS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name,
                       help=f"the profile's {name} (an empty string clears it)")
    p.add_argument("--hours", action="append", default=[], metavar="DAY=HH:MM-HH:MM[,...]",
                   help="opening hours of a weekday (mon..sun), e.g. mon=09:00-17:00 or "
                        "sun=closed; repeat for more days; replaces the given days only")
    p.add_argument("--exception", action="append", default=[],
                   metavar="YYYY-MM-DD=HH:MM-HH:MM|closed",
                   help="hours of one date instead of its weekday's (holidays); repeatable")
    p.add_argument("--clear-exception", action="append", default=[], metavar="YYYY-MM-DD",
                   help="remove a date's exception; repeatable")
    p.add_argument("--json", action="store_true", help="show: print the signed document")


def profile_changes(ns: argparse.Namespace, current: dict[str, Any]) -> dict[str, Any]:
    """The profile update the flags ask for (validated later by the service)."""
    changes: dict[str, Any] = {}
    for name in PROFILE_FLAGS:
        value = getattr(ns, name)
        if value is not None:
            changes[name] = None if value == "" and name != "name" else value
    if ns.hours:
        week = dict(current.get("hours") or {})
        for spec in ns.hours:
            day, intervals = hours.parse_spec(spec)
            if day not in hours.WEEKDAYS:
                raise InvalidParameter(f"{spec!r}: the day is one of {', '.join(hours.WEEKDAYS)}",
                                       code="INVALID_HOURS")
            week[day] = intervals
        changes["hours"] = week
    if ns.exception or ns.clear_exception:
        dated = dict(current.get("exceptions") or {})
        for spec in ns.exception:
            day, intervals = hours.parse_spec(spec)
            dated[hours.check_date(day).isoformat()] = intervals
        for day in ns.clear_exception:
            dated.pop(day, None)
        changes["exceptions"] = dated
    return changes


def _print_profile(doc: dict[str, Any]) -> None:
    for name in ("address", *PROFILE_FLAGS):
        _out(f"{name + ':':16} {doc.get(name) if doc.get(name) is not None else ''}")
    for day in hours.WEEKDAYS:
        intervals = doc["hours"].get(day)
        shown = ", ".join(f"{i['open']}-{i['close']}" for i in intervals or []) or "closed"
        _out(f"{day + ':':16} {shown}")
    for day, intervals in doc["exceptions"].items():
        shown = ", ".join(f"{i['open']}-{i['close']}" for i in intervals) or "closed"
        _out(f"{day + ':':16} {shown}")
    _out(f"{'version:':16} {doc['version']}")


@command("business profile", "show or set the business profile", _profile_args)
def cmd_business_profile(ns: argparse.Namespace) -> int:
    config = _node_config(ns)

    async def run(biz: Business) -> dict[str, Any]:
        if ns.action == "set":
            current = await biz.db.read(profile.current, config)
            changes = profile_changes(ns, current)
            if not changes:
                raise InvalidParameter("nothing to set; give --name, --hours, ... (see "
                                       "kontor business profile --help)", code="EMPTY_UPDATE")
            await profile.update_unchecked(biz, changes)
        return await profile.public_document(biz)

    doc = _with_business(config, run)
    if ns.json:
        _out(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        _print_profile(doc)
    return 0


def _stats_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=int, default=7, help="the last N days (1-366; default 7)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


COLUMNS = (("date", "DATE", 10), ("conversations_started", "STARTED", 8),
           ("messages_received", "RECEIVED", 9), ("messages_sent", "SENT", 7),
           ("delivered", "DELIVERED", 10), ("read", "READ", 7),
           ("read_by_team", "TEAM READ", 10),
           ("median_first_response_ms", "MEDIAN 1ST RESPONSE", 20))


def _duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    seconds = ms // 1000
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _row(row: dict[str, Any]) -> str:
    cells = []
    for key, _, width in COLUMNS:
        value = row.get(key)
        shown = _duration(value) if key == "median_first_response_ms" else str(value)
        cells.append(f"{shown:<{width}}" if key == "date" else f"{shown:>{width}}")
    return " ".join(cells).rstrip()


@command("stats", "daily business statistics (conversations, messages, response times)",
         _stats_args)
def cmd_stats(ns: argparse.Namespace) -> int:
    if not 1 <= ns.days <= stats.MAX_DAYS:
        _err(f"--days must be between 1 and {stats.MAX_DAYS}")
        return 2
    config = _node_config(ns)
    report = _with_business(config, lambda biz: stats.report(biz, None, days=ns.days))
    if ns.json:
        _out(json.dumps(report, indent=2))
        return 0
    _out(f"{config.business.account}@{config.node.server_name}, days in {report['timezone']}")
    _out(" ".join(f"{title:<{w}}" if key == "date" else f"{title:>{w}}"
                  for key, title, w in COLUMNS).rstrip())
    for row in report["days"]:
        _out(_row(row))
    _out(_row({**report["totals"], "date": "total"}))
    return 0


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", help="the customer's full address (anna@example.org)")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="write the JSON here (must not exist) instead of standard output")


@command("customer export", "everything the node holds about a customer, as JSON",
         _export_args)
def cmd_customer_export(ns: argparse.Namespace) -> int:
    config = _node_config(ns)
    if ns.output is not None and ns.output.exists():
        _err(f"{ns.output} already exists; choose a new file name")
        return 2
    data = _with_business(config, lambda biz: datarights.export(biz, None, ns.address))
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if ns.output is None:
        sys.stdout.write(text)
    else:
        ns.output.write_text(text, encoding="utf-8")
        ns.output.chmod(0o600)
        _out(f"export of {data['address']} written to {ns.output}")
    return 0


def _erase_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", help="the customer's full address (anna@example.org)")
    p.add_argument("--yes", action="store_true", help="really erase (it cannot be undone)")


@command("customer erase", "erase everything the node holds about a customer", _erase_args)
def cmd_customer_erase(ns: argparse.Namespace) -> int:
    if not ns.yes:
        _err("erasure cannot be undone; add --yes to confirm (kontor customer export first "
             "if the customer asked for a copy)")
        return 2
    config = _node_config(ns)
    result = _with_business(config, lambda biz: datarights.erase(biz, None, ns.address))
    removed = ", ".join(f"{k}: {v}" for k, v in sorted(result["removed"].items())) or "nothing"
    _out(f"erased {result['address']} ({removed})")
    return 0
