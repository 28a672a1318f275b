"""Greeting and away messages: the settings, and when each is due.

The node's automation device (the business account's own device) sends the messages
end to end; this module stores the admins' settings and decides. The decision
functions are pure:

- ``starts_session(previous_activity_ms, ts, settings)``: does an incoming message at
  ``ts`` start a new session (first contact, or after ``after_days_silence`` days)?
  The inbox hook records the session start on the conversation.
- ``greeting_due(state, now_ms, settings)``: the greeting is enabled, the current
  session started less than a day ago and no greeting went out since it started.
- ``away_due(state, now_ms, settings, profile)``: the away message is enabled, the
  business is away (the manual switch, or outside opening hours) and the customer wrote
  during this away period, and no away message went out since the period began.

The texts ``decide`` returns have their placeholders filled in (the business's fields
from its profile, the customer's from their address, the latest order's, the date).

After sending, the automation device calls ``record_sent`` (or, inside a transaction,
``node.storage.business.record_automation_sent_txn``), which is what makes each message
go out at most once per trigger.
"""

from __future__ import annotations

import copy
from typing import Any

from node.errors import InvalidParameter
from node.protocol import placeholders
from node.services.accounts import Requester, now_ms
from node.services.business import hours
from node.services.business import profile as profile_mod
from node.services.business import validate as v
from node.services.business.context import DAY_MS, Business, require_admin
from node.services.business.quick_replies import check_text
from node.storage import business as store

DOCUMENT = "automation"
GREETING_WINDOW_MS = DAY_MS
DEFAULTS: dict[str, Any] = {
    "greeting": {"enabled": False, "text": "", "after_days_silence": 14},
    "away": {"enabled": False, "text": "", "manual": False, "manual_since_ms": None,
             "outside_hours": True},
}
KINDS = ("greeting", "away")


# --- pure decisions ---------------------------------------------------------------------

def starts_session(previous_activity_ms: int | None, ts: int, settings: dict[str, Any]) -> bool:
    """Whether an incoming message at ``ts`` opens a new session."""
    if previous_activity_ms is None:
        return True
    days = settings["greeting"]["after_days_silence"]
    return ts - previous_activity_ms >= days * DAY_MS


def greeting_due(conversation_state: dict[str, Any], now_ms: int,
                 settings: dict[str, Any]) -> bool:
    """Whether to send the greeting now (see the module docstring)."""
    greeting = settings["greeting"]
    if not greeting["enabled"] or not greeting["text"]:
        return False
    if conversation_state.get("kind", "customer") != "customer":
        return False
    start = conversation_state.get("session_started_ms")
    if start is None or now_ms - start > GREETING_WINDOW_MS:
        return False
    sent = conversation_state.get("greeting_sent_ms")
    return sent is None or sent < start


def away_period_start(now_ms: int, settings: dict[str, Any],
                      profile: dict[str, Any]) -> int | None:
    """When the current away period began, or None when the business is not away."""
    away = settings["away"]
    starts = []
    if away["manual"]:
        starts.append(away.get("manual_since_ms") or 0)
    if away["outside_hours"] and not hours.is_open(profile, now_ms):
        starts.append(hours.last_closed_ms(profile, now_ms))
    return min(starts) if starts else None


def away_due(conversation_state: dict[str, Any], now_ms: int, settings: dict[str, Any],
             profile: dict[str, Any]) -> bool:
    """Whether to send the away message now (see the module docstring)."""
    away = settings["away"]
    if not away["enabled"] or not away["text"]:
        return False
    if conversation_state.get("kind", "customer") != "customer":
        return False
    period = away_period_start(now_ms, settings, profile)
    last_in = conversation_state.get("last_incoming_ms")
    if period is None or last_in is None or last_in < period:
        return False
    sent = conversation_state.get("away_sent_ms")
    return sent is None or sent < period


# --- settings -------------------------------------------------------------------------------

def settings_of(db: Any) -> dict[str, Any]:
    """The stored settings merged over the defaults (reader or writer)."""
    out = copy.deepcopy(DEFAULTS)
    found = store.get_document(db, DOCUMENT)
    if found:
        for kind in KINDS:
            out[kind].update(found["doc"].get(kind, {}))
    return out


def check_changes(changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Validate a partial update ``{"greeting": {...}, "away": {...}}``."""
    v.no_unknown(changes, set(KINDS), "automation")
    out: dict[str, dict[str, Any]] = {}
    for kind, part in changes.items():
        if not isinstance(part, dict):
            raise InvalidParameter(f"{kind} must be an object")
        allowed = set(DEFAULTS[kind]) - {"manual_since_ms"}
        v.no_unknown(part, allowed, kind)
        checked: dict[str, Any] = {}
        for name, value in part.items():
            if name == "text":
                checked[name] = check_text(value, f"{kind}.text", min_len=0)
            elif name == "after_days_silence":
                checked[name] = v.whole(value, f"{kind}.{name}", 1, 365)
            else:
                checked[name] = v.flag(value, f"{kind}.{name}")
        out[kind] = checked
    return out


def _update_txn(db: Any, changes: dict[str, dict[str, Any]], now: int) -> dict[str, Any]:
    settings = settings_of(db)
    was_manual = settings["away"]["manual"]
    for kind, part in changes.items():
        settings[kind].update(part)
    away = settings["away"]
    if away["manual"] and not was_manual:
        away["manual_since_ms"] = now
    elif not away["manual"]:
        away["manual_since_ms"] = None
    for kind in KINDS:
        if settings[kind]["enabled"] and not settings[kind]["text"]:
            raise InvalidParameter(f"{kind} needs a text before it can be enabled",
                                   code="MISSING_TEXT")
    store.put_document_txn(db, DOCUMENT, settings, now)
    return settings


async def get_settings(biz: Business, who: Requester) -> dict[str, Any]:
    require_admin(who)
    return await biz.db.read(settings_of)


async def update_settings(biz: Business, who: Requester,
                          changes: dict[str, Any]) -> dict[str, Any]:
    require_admin(who)
    return await biz.db.write(_update_txn, check_changes(changes), now_ms())


# --- what the automation device uses ---------------------------------------------------------

def _state(db: Any, customer: str) -> dict[str, Any] | None:
    conversation = store.get_conversation(db, customer)
    if conversation is None:
        return None
    marks = store.automation_marks(db, customer)
    return {**conversation, "greeting_sent_ms": marks.get("greeting"),
            "away_sent_ms": marks.get("away")}


async def conversation_state(biz: Business, customer: str) -> dict[str, Any] | None:
    """The conversation with its automation marks, as the decision functions take it."""
    return await biz.db.read(_state, customer)


async def decide(biz: Business, customer: str, at_ms: int | None = None) -> dict[str, Any]:
    """``{"greeting": text or None, "away": text or None}``: what to send now, with every
    placeholder filled in (``node.protocol.placeholders.values_for``)."""
    at = now_ms() if at_ms is None else at_ms

    def read(db: Any) -> tuple[Any, dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        return (_state(db, customer), settings_of(db), profile_mod.current(db, biz.config),
                store.list_orders(db, customer))

    state, settings, profile, orders = await biz.db.read(read)
    if state is None:
        return {"greeting": None, "away": None}
    values = placeholders.values_for(profile=profile, business_address=biz.address,
                                     customer=customer, order=orders[-1] if orders else None,
                                     now_ms=at)
    due = {"greeting": greeting_due(state, at, settings),
           "away": away_due(state, at, settings, profile)}
    return {kind: placeholders.expand(settings[kind]["text"], values) if due[kind] else None
            for kind in KINDS}


async def record_sent(biz: Business, customer: str, kind: str, sent_ms: int | None = None) -> None:
    """Remember that ``kind`` (greeting or away) went to ``customer``."""
    if kind not in KINDS:
        raise InvalidParameter("kind is greeting or away")
    await biz.db.write(store.record_automation_sent_txn, customer, kind,
                       now_ms() if sent_ms is None else sent_ms)
