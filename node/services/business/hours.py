"""Opening hours: validation and ``is_open`` (pure functions, no I/O).

A profile's ``hours`` maps a weekday (``mon`` .. ``sun``) to a list of intervals
``{"open": "09:00", "close": "17:30"}`` in the profile's IANA ``timezone``; a missing
weekday is closed. An interval whose close is not after its open crosses midnight and
ends the next day (``"22:00"``-``"02:00"``); ``"24:00"`` is allowed as a close. An
interval belongs to the day it opens on. ``exceptions`` maps a date (``YYYY-MM-DD``) to
the intervals of that day instead of its weekday's (an empty list: closed all day).
``next_change_ms`` says when an open business closes or a closed one opens.

Wall times are turned into instants with ``zoneinfo``: on a day when clocks change, an
interval lasts its real length (``01:00``-``04:00`` is two hours on the spring-forward
day in Europe, four on the fall-back day); a wall time inside the spring-forward gap
counts as the instant of the same wall time before the change.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from node.errors import InvalidParameter

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_INTERVALS_PER_DAY = 6
MAX_EXCEPTIONS = 366
_TIME_RE = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])\Z")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
LOOKBACK_DAYS = 8

Interval = dict[str, str]


def minutes(value: Any, name: str, *, close: bool = False) -> int:
    """``"HH:MM"`` as minutes after midnight; ``"24:00"`` only as a close."""
    m = _TIME_RE.match(value) if isinstance(value, str) else None
    total = int(m.group(1)) * 60 + int(m.group(2)) if m else -1
    if not m or total > 24 * 60 or (total == 24 * 60 and not close):
        raise InvalidParameter(f"{name} must be a time HH:MM (00:00 to 23:59, or 24:00 as a "
                               "close)", code="INVALID_HOURS")
    return total


def check_intervals(value: Any, name: str) -> list[Interval]:
    """A list of open-close intervals, sorted by opening time."""
    if not isinstance(value, list) or len(value) > MAX_INTERVALS_PER_DAY:
        raise InvalidParameter(f"{name} must be a list of at most {MAX_INTERVALS_PER_DAY} "
                               'intervals {"open": "HH:MM", "close": "HH:MM"}',
                               code="INVALID_HOURS")
    out = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"open", "close"}:
            raise InvalidParameter(f'{name}: each interval is {{"open": "HH:MM", '
                                   '"close": "HH:MM"}', code="INVALID_HOURS")
        start = minutes(item["open"], f"{name} open")
        end = minutes(item["close"], f"{name} close", close=True)
        if start == end:
            raise InvalidParameter(f"{name}: an interval must not open and close at the same "
                                   "time (use 00:00-24:00 for the whole day)",
                                   code="INVALID_HOURS")
        out.append({"open": item["open"], "close": item["close"]})
    return sorted(out, key=lambda i: i["open"])


def check_hours(value: Any) -> dict[str, list[Interval]]:
    """The weekly hours: weekday -> intervals."""
    if not isinstance(value, dict) or not set(value) <= set(WEEKDAYS):
        raise InvalidParameter(f"hours maps weekdays ({', '.join(WEEKDAYS)}) to intervals",
                               code="INVALID_HOURS")
    return {day: check_intervals(value[day], f"hours.{day}") for day in WEEKDAYS
            if day in value}


def check_date(value: Any, name: str = "date") -> date:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise InvalidParameter(f"{name} must be a date YYYY-MM-DD", code="INVALID_DATE")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidParameter(f"{name} must be a date YYYY-MM-DD",
                               code="INVALID_DATE") from None


def check_exceptions(value: Any) -> dict[str, list[Interval]]:
    """Dated exceptions: ``YYYY-MM-DD`` -> intervals (empty: closed)."""
    if not isinstance(value, dict) or len(value) > MAX_EXCEPTIONS:
        raise InvalidParameter(f"exceptions maps at most {MAX_EXCEPTIONS} dates (YYYY-MM-DD) "
                               "to intervals ([] for closed)", code="INVALID_HOURS")
    out = {}
    for day, intervals in value.items():
        check_date(day, "an exception's date")
        out[day] = check_intervals(intervals, f"exceptions.{day}")
    return dict(sorted(out.items()))


def parse_spec(spec: str) -> tuple[str, list[Interval]]:
    """``"mon=09:00-12:00,13:00-17:00"`` or ``"2025-12-25=closed"`` (the CLI's form) ->
    (day or date, intervals)."""
    key, sep, rest = spec.partition("=")
    key, rest = key.strip().lower(), rest.strip().lower()
    if not sep or not key or not rest:
        raise InvalidParameter(f"{spec!r}: expected DAY=HH:MM-HH:MM[,HH:MM-HH:MM] or "
                               "DAY=closed", code="INVALID_HOURS")
    if rest == "closed":
        return key, []
    intervals = []
    for part in rest.split(","):
        start, dash, end = part.strip().partition("-")
        if not dash:
            raise InvalidParameter(f"{spec!r}: an interval is HH:MM-HH:MM", code="INVALID_HOURS")
        intervals.append({"open": start.strip(), "close": end.strip()})
    return key, check_intervals(intervals, key)


def expand_days(key: str) -> list[str]:
    """The weekdays a CLI day key names: ``mon``, a range ``mon-fri`` (``fri-mon`` wraps
    over the weekend), or a list of either, ``mon-wed,fri``."""
    days: list[str] = []
    for part in key.lower().split(","):
        first, dash, last = part.strip().partition("-")
        if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
            raise InvalidParameter(f"{key!r}: a day is one of {', '.join(WEEKDAYS)}, a range "
                                   "such as mon-fri, or a list such as mon-wed,fri",
                                   code="INVALID_HOURS")
        start = WEEKDAYS.index(first)
        count = (WEEKDAYS.index(last) - start) % 7 + 1 if dash else 1
        days += [WEEKDAYS[(start + i) % 7] for i in range(count)]
    return list(dict.fromkeys(days))


def next_change_ms(profile: dict[str, Any], at_utc_ms: int) -> int | None:
    """When the business next closes (if open at ``at_utc_ms``) or opens (if closed),
    within the coming week; None when that does not happen in it (or there are no hours).
    Touching or overlapping intervals count as one open period."""
    if not profile.get("hours") and not profile.get("exceptions"):
        return None
    tz = _zone(profile)
    today = _local_date(at_utc_ms, tz)
    spans = sorted(span for offset in range(-1, LOOKBACK_DAYS)
                   for span in day_intervals(profile, today + timedelta(days=offset), tz))
    if is_open(profile, at_utc_ms):
        end = at_utc_ms
        for start, stop in spans:
            if start <= end < stop:
                end = stop
        return None if end >= max(stop for _, stop in spans) else end  # open all week
    return min((start for start, _ in spans if start > at_utc_ms), default=None)


def _instant(day: date, minute_of_day: int, tz: zoneinfo.ZoneInfo) -> int:
    extra, minute_of_day = divmod(minute_of_day, 24 * 60)
    day = day + timedelta(days=extra)
    wall = datetime.combine(day, time(minute_of_day // 60, minute_of_day % 60), tzinfo=tz)
    return int(wall.timestamp() * 1000)


def day_intervals(profile: dict[str, Any], day: date,
                  tz: zoneinfo.ZoneInfo) -> list[tuple[int, int]]:
    """The (start_ms, end_ms) instants of the intervals opening on local ``day``."""
    exceptions = profile.get("exceptions") or {}
    intervals = exceptions.get(day.isoformat())
    if intervals is None:
        intervals = (profile.get("hours") or {}).get(WEEKDAYS[day.weekday()], [])
    out = []
    for item in intervals:
        start = minutes(item["open"], "open")
        end = minutes(item["close"], "close", close=True)
        if end <= start:
            end += 24 * 60
        out.append((_instant(day, start, tz), _instant(day, end, tz)))
    return out


def _zone(profile: dict[str, Any]) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(profile.get("timezone") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _local_date(at_utc_ms: int, tz: zoneinfo.ZoneInfo) -> date:
    return datetime.fromtimestamp(at_utc_ms / 1000, UTC).astimezone(tz).date()


def is_open(profile: dict[str, Any], at_utc_ms: int) -> bool:
    """Whether the business is open at ``at_utc_ms`` (ms since the epoch).

    A profile without any hours is treated as always open (no away message for a
    business that never said when it works)."""
    if not profile.get("hours") and not profile.get("exceptions"):
        return True
    tz = _zone(profile)
    today = _local_date(at_utc_ms, tz)
    for day in (today - timedelta(days=1), today):
        if any(start <= at_utc_ms < end for start, end in day_intervals(profile, day, tz)):
            return True
    return False


def last_closed_ms(profile: dict[str, Any], at_utc_ms: int) -> int:
    """When the current closed period began: the end of the latest interval that ended
    at or before ``at_utc_ms`` within the last week (the week's start if none did)."""
    tz = _zone(profile)
    today = _local_date(at_utc_ms, tz)
    ends = [end for offset in range(LOOKBACK_DAYS, -1, -1)
            for _, end in day_intervals(profile, today - timedelta(days=offset), tz)
            if end <= at_utc_ms]
    return max(ends, default=at_utc_ms - LOOKBACK_DAYS * 24 * 3600 * 1000)
