"""The business profile: what customers see, edited by admins, served signed.

The stored document holds only what the admins set; ``public_document`` adds the
business address, the version (incremented on every edit), times, what the node knows
at serving time (open now, when that changes next, the team's measured typical first
response) and the node's signature, so a peer or a customer's app can check that it came
from this node.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from node.config import Config
from node.errors import InvalidParameter
from node.services.accounts import Requester, now_ms
from node.services.business import hours as hours_mod
from node.services.business import validate as v
from node.services.business.context import Business, known_timezones, require_admin
from node.services.business.signed import sign_document
from node.storage import business as store
from node.storage import messages as message_store

DOCUMENT = "profile"
VALID_FOR_MS = 24 * 3600 * 1000
RESPONSE_DAYS = 30  # typical_response_ms: the median first response of these last days
RESPONSE_SAMPLES = 3  # ... when at least this many were measured (else null)
TEXT_FIELDS = {"description": 1000, "category": 100, "postal_address": 300}
FIELDS = frozenset({"name", "description", "category", "postal_address", "website", "email",
                    "phone", "logo", "timezone", "hours", "exceptions"})


def defaults(config: Config) -> dict[str, Any]:
    """The profile of a business whose admins have set nothing yet."""
    tz = config.business.timezone if config.business.timezone in known_timezones() else "UTC"
    return {"name": config.business.account, "description": "", "category": "",
            "postal_address": "", "website": "", "email": "", "phone": "", "logo": None,
            "timezone": tz, "hours": {}, "exceptions": {}}


def stored(db: Any, config: Config) -> dict[str, Any]:
    """``{"doc", "version", "updated_ms"}`` with defaults filled in (reader or writer)."""
    found = store.get_document(db, DOCUMENT) or {"doc": {}, "version": 0, "updated_ms": 0}
    found["doc"] = {**defaults(config), **found["doc"]}
    return found


def current(db: Any, config: Config) -> dict[str, Any]:
    """The profile's fields (for ``hours.is_open`` and time zones)."""
    return stored(db, config)["doc"]


def check_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate a partial update; ``null`` resets a field to its default."""
    v.no_unknown(changes, FIELDS, "profile")
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None and name != "name":
            out[name] = None
        elif name == "name":
            out[name] = v.text(value, "name", 100, min_len=1, single_line=True)
        elif name in TEXT_FIELDS:
            out[name] = v.text(value, name, TEXT_FIELDS[name])
        elif name == "website":
            out[name] = v.url(value, name)
        elif name == "email":
            out[name] = v.email(value, name)
        elif name == "phone":
            out[name] = v.phone(value, name)
        elif name == "logo":
            out[name] = v.media_id(value, "logo")
        elif name == "timezone":
            if not isinstance(value, str) or value not in known_timezones():
                raise InvalidParameter("timezone must be an IANA time zone such as "
                                       "Europe/Berlin", code="INVALID_TIMEZONE")
            out[name] = value
        elif name == "hours":
            out[name] = hours_mod.check_hours(value)
        else:
            out[name] = hours_mod.check_exceptions(value)
    return out


def _update_txn(db: Any, config: Config, changes: dict[str, Any], now: int) -> None:
    if changes.get("logo") and message_store.get_media(db, changes["logo"]) is None:
        raise InvalidParameter("logo: no such media; upload it with POST /media first",
                               code="UNKNOWN_MEDIA")
    doc = store.get_document(db, DOCUMENT)
    merged = dict(doc["doc"]) if doc else {}
    base = defaults(config)
    for name, value in changes.items():
        merged[name] = base[name] if value is None else value
    store.put_document_txn(db, DOCUMENT, merged, now)


async def update(biz: Business, who: Requester, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply an admin's partial update; returns the new public document."""
    require_admin(who)
    checked = check_changes(changes)
    if not checked:
        raise InvalidParameter("nothing to change", code="EMPTY_UPDATE")
    await biz.db.write(_update_txn, biz.config, checked, now_ms())
    return await public_document(biz)


def typical_response_ms(db: Any, now: int) -> int | None:
    """The median first response by a person on the team (business.stats' samples) of
    the last RESPONSE_DAYS days; None with fewer than RESPONSE_SAMPLES of them."""
    today = datetime.fromtimestamp(now / 1000, UTC).date()
    first = (today - timedelta(days=RESPONSE_DAYS)).isoformat()
    _, times = store.stats_between(db, first, (today + timedelta(days=1)).isoformat())
    samples = [ms for day in times.values() for ms in day]
    return int(median(samples)) if len(samples) >= RESPONSE_SAMPLES else None


def _served(db: Any, config: Config, now: int) -> tuple[dict[str, Any], int | None]:
    return stored(db, config), typical_response_ms(db, now)


async def public_document(biz: Business) -> dict[str, Any]:
    """The signed profile document."""
    now = now_ms()
    found, response_ms = await biz.db.read(_served, biz.config, now)
    doc = {"type": "kontor.business.profile", "server_name": biz.server_name,
           "address": biz.address, **found["doc"], "version": found["version"],
           "updated_ms": found["updated_ms"], "valid_until_ms": now + VALID_FOR_MS,
           "open_now": hours_mod.is_open(found["doc"], now),
           "next_change_ms": hours_mod.next_change_ms(found["doc"], now),
           "typical_response_ms": response_ms}
    return sign_document(doc, biz.server_name, biz.node_key)
