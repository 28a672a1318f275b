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
import zoneinfo
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from node.cli_registry import GROUPS, command, err, node_config, out
from node.config import Config
from node.errors import InvalidParameter
from node.nodekey import key_path, load_key
from node.protocol.names import local_of
from node.services import media, rename
from node.services.accounts import now_ms
from node.services.business import datarights, hours, profile, stats
from node.services.business.context import Business, operator
from node.services.notifier import Notifier
from node.services.setup import open_node
from node.storage.db import Database

T = TypeVar("T")

GROUPS.setdefault("business", "the business: profile, catalog, quick replies, labels, "
                  "greeting and away messages")
GROUPS.setdefault("customer", "a customer's data: export and erasure")

PROFILE_FLAGS = ("name", "description", "category", "postal_address", "website", "email",
                 "phone", "logo", "timezone")


def with_business(config: Config, fn: Callable[[Business], Awaitable[T]]) -> T:
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
    p.add_argument("--logo-file", type=Path, metavar="FILE",
                   help="upload this image and make it the logo")
    p.add_argument("--hours", action="append", default=[],
                   metavar="DAYS=HH:MM-HH:MM[,HH:MM-HH:MM]|closed",
                   help="opening hours of weekdays: mon=09:00-17:00, mon-fri=09:00-17:00, "
                        "sat=09:00-12:00,13:00-16:00 or sun=closed; repeatable, later ones "
                        "win; replaces the given days only")
    p.add_argument("--exception", action="append", default=[],
                   metavar="YYYY-MM-DD=HH:MM-HH:MM|closed",
                   help="hours of one date instead of its weekday's (holidays); repeatable")
    p.add_argument("--clear-exception", action="append", default=[], metavar="YYYY-MM-DD",
                   help="remove a date's exception; repeatable")
    p.add_argument("--json", action="store_true", help="show: print the signed document")


def profile_changes(ns: argparse.Namespace, current: dict[str, Any]) -> dict[str, Any]:
    """The profile update the flags ask for (validated by the service)."""
    changes: dict[str, Any] = {}
    for name in PROFILE_FLAGS:
        value = getattr(ns, name)
        if value is not None:
            changes[name] = None if value == "" and name != "name" else value
    if ns.hours:
        week = dict(current.get("hours") or {})
        for spec in ns.hours:
            key, intervals = hours.parse_spec(spec)
            for day in hours.expand_days(key):
                week[day] = intervals
        changes["hours"] = week
    if ns.exception or ns.clear_exception:
        dated = dict(current.get("exceptions") or {})
        for spec in ns.exception:
            day, intervals = hours.parse_spec(spec)
            dated[hours.check_date(day).isoformat()] = intervals
        for day in ns.clear_exception:
            dated.pop(hours.check_date(day).isoformat(), None)
        changes["exceptions"] = dated
    return changes


def _intervals(items: list[dict[str, str]] | None) -> str:
    return ", ".join(f"{i['open']}-{i['close']}" for i in items or []) or "closed"


def open_status(doc: dict[str, Any], at_ms: int) -> str:
    """``yes, until 17:00 (Wed 2026-12-02)`` or ``no, opens Thu 2026-12-03 09:00``."""
    if not doc["hours"] and not doc["exceptions"]:
        return "yes (no opening hours set: always open)"
    change = hours.next_change_ms(doc, at_ms)
    zone = zoneinfo.ZoneInfo(doc["timezone"])
    when = (datetime.fromtimestamp(change / 1000, UTC).astimezone(zone)
            if change is not None else None)
    if hours.is_open(doc, at_ms):
        return "yes, open all week" if when is None else \
            f"yes, until {when:%H:%M} ({when:%a %Y-%m-%d}, {doc['timezone']})"
    return "no, and not within the next week" if when is None else \
        f"no, opens {when:%a %Y-%m-%d %H:%M} ({doc['timezone']})"


def _print_profile(doc: dict[str, Any]) -> None:
    for name in ("address", *PROFILE_FLAGS):
        out(f"{name + ':':16} {doc.get(name) if doc.get(name) is not None else ''}")
    for day in hours.WEEKDAYS:
        out(f"{day + ':':16} {_intervals(doc['hours'].get(day))}")
    for day, intervals in doc["exceptions"].items():
        out(f"{day + ':':16} {_intervals(intervals)}")
    out(f"{'open now:':16} {open_status(doc, now_ms())}")
    out(f"{'version:':16} {doc['version']}")


@command("business profile", "show or set the business profile", _profile_args)
def cmd_business_profile(ns: argparse.Namespace) -> int:
    config = node_config(ns)

    async def run(biz: Business) -> dict[str, Any]:
        if ns.action == "show":
            return await profile.public_document(biz)
        current = await biz.db.read(profile.current, config)
        changes = profile_changes(ns, current)
        if not changes and ns.logo_file is None:
            raise InvalidParameter("nothing to set; give --name, --hours, ... (see "
                                   "kontor business profile --help)", code="EMPTY_UPDATE")
        profile.check_changes(changes)  # before an upload, so bad input changes nothing
        if ns.logo_file is not None:
            changes["logo"] = await upload_file(biz, ns.logo_file)
        return await profile.update(biz, operator(biz), changes)

    doc = with_business(config, run)
    if ns.json:
        out(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        _print_profile(doc)
    return 0


async def upload_file(biz: Business, path: Path) -> str:
    """Store the file as a media blob (an image for the profile or the catalog) through
    the service ``POST /media`` uses; its media id."""
    blobs = media.Media(biz.db, biz.config.data_dir, biz.config.limits.max_media_bytes)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below; read in chunks
    except OSError as exc:
        raise InvalidParameter(f"{path}: {exc.strerror}", code="UNREADABLE_FILE") from None

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := handle.read(256 * 1024):
            yield chunk
    try:
        result = await media.upload(blobs, operator(biz), chunks())
    finally:
        handle.close()
    return str(result["media_id"])


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
        err(f"--days must be between 1 and {stats.MAX_DAYS}")
        return 2
    config = node_config(ns)
    report = with_business(config, lambda biz: stats.report(biz, None, days=ns.days))
    if ns.json:
        out(json.dumps(report, indent=2))
        return 0
    out(f"{config.business.account}@{config.node.server_name}, days in {report['timezone']}")
    out(" ".join(f"{title:<{w}}" if key == "date" else f"{title:>{w}}"
                  for key, title, w in COLUMNS).rstrip())
    for row in report["days"]:
        out(_row(row))
    out(_row({**report["totals"], "date": "total"}))
    return 0


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", help="the customer's full address (anna@example.org)")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="write the JSON here (must not exist) instead of standard output")


@command("customer export", "everything the node holds about a customer, as JSON",
         _export_args)
def cmd_customer_export(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    if ns.output is not None and ns.output.exists():
        err(f"{ns.output} already exists; choose a new file name")
        return 2
    data = with_business(config, lambda biz: datarights.export(biz, None, ns.address))
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if ns.output is None:
        sys.stdout.write(text)
    else:
        ns.output.write_text(text, encoding="utf-8")
        ns.output.chmod(0o600)
        out(f"export of {data['address']} written to {ns.output}")
    return 0


def _erase_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", help="the customer's full address (anna@example.org)")
    p.add_argument("--yes", action="store_true", help="really erase (it cannot be undone)")


@command("customer erase", "erase everything the node holds about a customer", _erase_args)
def cmd_customer_erase(ns: argparse.Namespace) -> int:
    if not ns.yes:
        err("erasure cannot be undone; add --yes to confirm (kontor customer export first "
             "if the customer asked for a copy)")
        return 2
    config = node_config(ns)
    result = with_business(config, lambda biz: datarights.erase(biz, None, ns.address))
    removed = ", ".join(f"{k}: {v}" for k, v in sorted(result["removed"].items())) or "nothing"
    out(f"erased {result['address']} ({removed})")
    if not result["log_truncated"]:
        err("the database's write-ahead log stayed busy and was not truncated: old copies "
            "of the erased rows stay in it until the next checkpoint starts it over; run "
            "this erase again when the node is less busy (it truncates the log then)")
        return 1
    return 0


def _rename_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the business account's new name (the part before @)")
    p.add_argument("--yes", action="store_true",
                   help="really rename (the old address is retired for good)")


@command("business rename", "rename the business account (the node must be stopped)",
         _rename_args)
def cmd_business_rename(ns: argparse.Namespace) -> int:
    if not ns.yes:
        err("renaming changes the address customers and other nodes know the business by; "
            "the old one is retired and messages to it are refused. Add --yes to rename")
        return 2
    config = node_config(ns)
    report = rename.rename_business(config, ns.name)
    out(f"renamed the business account {report.old} to {report.new}")
    out(f"  the old address is retired; tell customers to write to {report.new}")
    out(f"  the team's sealed history ({report.history_copies} copies, bound to the old "
        "address) was deleted; the team's devices keep their own history")
    out("  the team's apps use the new address once they are opened again")
    if config.business.account != local_of(report.new):
        out(f"  now set [business] account = {ns.name} in {config.source}, then kontor run")
    return 0
