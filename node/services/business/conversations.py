"""The team inbox: one conversation record per customer address.

Records are created and updated by the ``message.stored`` transaction hook
(``message_stored_txn``, inside the write transaction that stores the message) for every
message between the business address and a non-team address; the node sees only
metadata. Every change is pushed to every team device as an event
``{"type": "conversation", "change": ..., "conversation": {...}}`` appended in the same
transaction as the change, then, after the commit, the devices are woken.

Inbox order is last activity, newest first; pagination is keyset-based (a cursor names
the last row seen), so rows moving or appearing never make a page repeat or skip one
that stayed put.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from dataclasses import dataclass
from typing import Any

from node.errors import Conflict, InvalidParameter, NotFound
from node.events import AfterCommit
from node.protocol.names import READER_ROLES, TEAM_ROLES
from node.services.accounts import Requester, now_ms
from node.services.business import automation
from node.services.business import profile as profile_mod
from node.services.business import validate as v
from node.services.business.context import (
    Business,
    local_day,
    require_reader,
    require_team,
    zone,
)
from node.storage import accounts as account_store
from node.storage import business as store
from node.storage import messages as message_store

KINDS = ("customer", "private")
STATUSES = ("open", "pending", "resolved")
MAX_NOTE = 2000
MAX_NOTES = 500
MAX_PAGE = 100
NEW_CUSTOMER_LABEL = "New customer"
Events = list[tuple[int, str, str | None, dict[str, Any]]]


def to_json(row: dict[str, Any]) -> dict[str, Any]:
    """The public form of a conversation record."""
    return {
        "customer": row["customer"], "kind": row["kind"], "status": row["status"],
        "assignee": row["assignee"], "labels": row["labels"], "unread": row["unread"],
        "notes": row["notes"], "created_ms": row["created_ms"],
        "last_activity_ms": row["last_activity_ms"],
        "last_incoming_ms": row["last_incoming_ms"],
        "last_outgoing_ms": row["last_outgoing_ms"], "read_ms": row["read_ms"],
        "customer_read_ms": row["customer_read_ms"],
        "awaiting_reply_since_ms": row["awaiting_since_ms"],
        "waiting_since_ms": row["waiting_since_ms"],
        "first_response_ms": row["first_response_ms"],
    }


# --- pushing changes to the team -------------------------------------------------------------

def push_txn(db: Any, business: str, customers: list[str], change: str, now: int,
             extra: dict[str, Any] | None = None) -> list[int]:
    """Append a conversation event per customer to every team device; return their pks."""
    pks = [pk for _, pk, _ in account_store.team_devices(db, business)]
    pushed = False
    for customer in customers:
        row = store.get_conversation(db, customer)
        if row is None:
            continue
        payload = {"type": "conversation", "change": change, "conversation": to_json(row),
                   **(extra or {})}
        events: Events = [(pk, "conversation", None, payload) for pk in pks]
        message_store.append_events_txn(db, events, now, subject=customer)
        pushed = pushed or bool(events)
    return pks if pushed else []


async def write_and_push(biz: Business, fn: Any, *args: Any) -> Any:
    """Run ``fn(db, *args)`` (returning ``(result, pks)``) in a transaction, then wake the
    devices that got events."""
    result, pks = await biz.db.write(fn, *args)
    biz.notifier.notify(pks)
    return result


# --- the message.stored transaction hook -----------------------------------------------------

def is_team(db: Any, business: str, address: str) -> bool:
    if address == business:
        return True
    account = account_store.get_account(db, address)
    return account is not None and account["role"] in READER_ROLES


def _automated(db: Any, business: str, sender_device: str | None) -> bool:
    """Whether the business's own (automation) device sent the message."""
    if not sender_device:
        return False
    return any(d["device_id"] == sender_device for d in account_store.list_devices(db, business))


@dataclass(frozen=True)
class StoredMessage:
    """What the inbox reads of a ``message.stored`` event."""

    sender: str
    to: str
    message_id: str
    ts: int
    sender_device: str | None


def _side(business: str, msg: StoredMessage) -> tuple[str, str] | None:
    """(customer, "in" or "out") of a message between the business and someone else."""
    if msg.sender == business and msg.to != business:
        return msg.to, "out"
    if msg.to == business and msg.sender != business:
        return msg.sender, "in"
    return None


def _on_message_txn(db: Any, biz: Business, msg: StoredMessage,
                    now: int) -> tuple[None, list[int]]:
    business, ts, side = biz.address, msg.ts, _side(biz.address, msg)
    if side is None:
        return None, []
    customer, direction = side
    if is_team(db, business, customer) or not store.log_message_txn(
            db, msg.message_id, customer, direction, ts):
        return None, []
    tz = zone(profile_mod.current(db, biz.config).get("timezone"))
    day = local_day(ts, tz)
    row = store.get_conversation(db, customer)
    change = "updated"
    if row is None:
        store.insert_conversation_txn(db, customer, "customer", ts, now)
        store.bump_stat_txn(db, day, "conversations_started")
        label = store.label_by_name(db, NEW_CUSTOMER_LABEL)
        if label is not None:
            store.attach_label_txn(db, customer, label["label_id"], now)
        row, previous, change = store.get_conversation(db, customer), None, "created"
        assert row is not None
    else:
        previous = row["last_activity_ms"]
    changes: dict[str, Any] = {"updated_ms": now,
                               "last_activity_ms": max(ts, previous or ts)}
    counted = row["kind"] == "customer"
    if direction == "in":
        changes |= _incoming(db, row, previous, ts, change == "created")
        store.bump_stat_txn(db, day, "messages_received", int(counted))
    else:
        store.bump_stat_txn(db, day, "messages_sent", int(counted))
        changes |= _outgoing(db, row, day, ts, counted,
                             by_person=not _automated(db, business, msg.sender_device))
    store.update_conversation_txn(db, customer, changes)
    return None, push_txn(db, business, [customer], change, now)


def _outgoing(db: Any, row: dict[str, Any], day: str, ts: int, counted: bool, *,
              by_person: bool) -> dict[str, Any]:
    """A business message: a person's reply answers what waited (automatic ones do not)."""
    changes: dict[str, Any] = {"last_outgoing_ms": max(ts, row["last_outgoing_ms"] or ts)}
    if not by_person:
        return changes
    changes["waiting_since_ms"] = None
    awaiting = row["awaiting_since_ms"]
    if awaiting is not None:
        response = max(0, ts - awaiting)
        changes |= {"awaiting_since_ms": None, "first_response_ms": response}
        if counted:
            store.add_response_time_txn(db, day, row["customer"], response)
    return changes


def _incoming(db: Any, row: dict[str, Any], previous: int | None, ts: int,
              created: bool) -> dict[str, Any]:
    changes: dict[str, Any] = {"unread": row["unread"] + 1,
                               "last_incoming_ms": max(ts, row["last_incoming_ms"] or ts)}
    if row["waiting_since_ms"] is None:
        changes["waiting_since_ms"] = ts
    reopened = row["status"] in ("pending", "resolved")
    if reopened:
        changes["status"] = "open"
    if (created or reopened) and row["awaiting_since_ms"] is None:
        changes["awaiting_since_ms"] = ts
    if automation.starts_session(previous, ts, automation.settings_of(db)):
        changes["session_started_ms"] = ts
    return changes


def message_stored_txn(db: Any, biz: Business, *, sender: str, to: str, message_id: str,
                       ts: int, sender_device: str | None = None,
                       **_: Any) -> AfterCommit | None:
    """Transaction hook for ``message.stored`` (runs in the core's write transaction):
    update the conversation and append the team's events; returns the wake-up of those
    devices, for after the commit. A message not between the business and a non-team
    address changes nothing."""
    msg = StoredMessage(sender, to, message_id, ts, sender_device)
    pks = _on_message_txn(db, biz, msg, now_ms())[1]
    return functools.partial(biz.notifier.notify, pks) if pks else None


# --- reading the inbox -----------------------------------------------------------------------

def encode_cursor(row: dict[str, Any]) -> str:
    raw = json.dumps([row["last_activity_ms"], row["customer"]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        if len(cursor) > 600:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ms, customer = json.loads(raw)
        if isinstance(ms, bool) or not isinstance(ms, int) or not isinstance(customer, str):
            raise ValueError
        return ms, customer
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidParameter("cursor is not one this node gave out",
                               code="INVALID_CURSOR") from None


async def inbox(biz: Business, who: Requester, *, status: str | None = None,
                label_id: int | None = None, assignee: str | None = None,
                kind: str | None = None, limit: int = 50, cursor: str | None = None,
                waiting: bool | None = None) -> dict[str, Any]:
    """A page of conversations, newest activity first; ``assignee=""`` means none;
    ``waiting`` True: only those waiting for a reply, False: only those answered."""
    require_reader(who)
    if status is not None and status not in STATUSES:
        raise InvalidParameter(f"status is one of {', '.join(STATUSES)}")
    if kind is not None and kind not in KINDS:
        raise InvalidParameter(f"kind is one of {', '.join(KINDS)}")
    if assignee:
        assignee = v.address(assignee, "assignee")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidParameter(f"limit is 1 to {MAX_PAGE}")
    after = decode_cursor(cursor) if cursor else None
    rows = await biz.db.read(store.list_conversations, status=status, label_id=label_id,
                             assignee=assignee, kind=kind, limit=limit + 1, after=after,
                             waiting=waiting)
    page = rows[:limit]
    return {"conversations": [to_json(r) for r in page],
            "next_cursor": encode_cursor(page[-1]) if len(rows) > limit else None}


async def get(biz: Business, who: Requester, customer: str) -> dict[str, Any]:
    require_reader(who)
    row = await biz.db.read(store.get_conversation, v.address(customer, "customer"))
    if row is None:
        raise NotFound(f"no conversation with {customer[:80]}", code="UNKNOWN_CONVERSATION")
    return to_json(row)


def existing_txn(db: Any, customer: str) -> dict[str, Any]:
    row = store.get_conversation(db, customer)
    if row is None:
        raise NotFound(f"no conversation with {customer[:80]}", code="UNKNOWN_CONVERSATION")
    return row


# --- changing a conversation -----------------------------------------------------------------

def check_patch(db: Any, changes: dict[str, Any]) -> dict[str, Any]:
    v.no_unknown(changes, {"status", "kind", "assignee"}, "conversation")
    if not changes:
        raise InvalidParameter("nothing to change", code="EMPTY_UPDATE")
    out: dict[str, Any] = {}
    if "status" in changes:
        if changes["status"] not in STATUSES:
            raise InvalidParameter(f"status is one of {', '.join(STATUSES)}")
        out["status"] = changes["status"]
    if "kind" in changes:
        if changes["kind"] not in KINDS:
            raise InvalidParameter(f"kind is one of {', '.join(KINDS)}")
        out["kind"] = changes["kind"]
    if "assignee" in changes:
        assignee = changes["assignee"]
        if assignee is not None:
            assignee = v.address(assignee, "assignee")
            account = account_store.get_account(db, assignee)
            if account is None or account["role"] not in TEAM_ROLES:
                raise InvalidParameter(f"{assignee} is not an admin or agent of this business",
                                       code="INVALID_ASSIGNEE")
        out["assignee"] = assignee
    return out


def _patch_txn(db: Any, business: str, customer: str, changes: dict[str, Any],
               now: int) -> tuple[dict[str, Any], list[int]]:
    existing_txn(db, customer)
    checked = check_patch(db, changes)
    if checked.get("status") == "resolved":
        checked["awaiting_since_ms"] = None
    store.update_conversation_txn(db, customer, {**checked, "updated_ms": now})
    pks = push_txn(db, business, [customer], "updated", now)
    return to_json(existing_txn(db, customer)), pks


async def patch(biz: Business, who: Requester, customer: str,
                changes: dict[str, Any]) -> dict[str, Any]:
    """Change status, kind or assignee (``null`` unassigns)."""
    require_team(who)
    return await write_and_push(biz, _patch_txn, biz.address, v.address(customer, "customer"),
                                changes, now_ms())


def _read_txn(db: Any, biz: Business, customer: str, message_id: str | None,
              now: int) -> tuple[dict[str, Any], list[int]]:
    existing_txn(db, customer)
    up_to = None
    if message_id is not None:
        up_to = store.incoming_ts(db, customer, message_id)
        if up_to is None:
            raise NotFound(f"no message {message_id[:80]} from {customer[:80]} is known",
                           code="UNKNOWN_MESSAGE")
    marked, left = store.mark_team_read_txn(db, customer, up_to, now)
    tz = zone(profile_mod.current(db, biz.config).get("timezone"))
    store.bump_stat_txn(db, local_day(now, tz), "read_by_team", marked)
    store.update_conversation_txn(db, customer, {"unread": left, "read_ms": now,
                                                 "updated_ms": now})
    pks = push_txn(db, biz.address, [customer], "read", now)
    return to_json(existing_txn(db, customer)), pks


async def mark_read(biz: Business, who: Requester, customer: str,
                    message_id: Any = None) -> dict[str, Any]:
    """Someone on the team read the customer's messages up to ``message_id`` (None: all
    of them): ``unread`` counts only later ones, for the whole team."""
    require_team(who)
    if message_id is not None:
        message_id = v.text(message_id, "message_id", 128, min_len=1, single_line=True)
    return await write_and_push(biz, _read_txn, biz, v.address(customer, "customer"),
                                message_id, now_ms())


def _customer_read_txn(db: Any, biz: Business, customer: str, up_to: int,
                       now: int) -> tuple[dict[str, Any], list[int]]:
    row = existing_txn(db, customer)
    count = store.mark_read_txn(db, customer, up_to, now)
    tz = zone(profile_mod.current(db, biz.config).get("timezone"))
    store.bump_stat_txn(db, local_day(now, tz), "read", count)
    store.update_conversation_txn(db, customer, {
        "customer_read_ms": max(up_to, row["customer_read_ms"] or 0), "updated_ms": now})
    pks = push_txn(db, biz.address, [customer], "customer_read", now)
    return {"marked": count, "conversation": to_json(existing_txn(db, customer))}, pks


async def customer_read(biz: Business, who: Requester, customer: str,
                        up_to_ms: Any) -> dict[str, Any]:
    """An agent's app learned (end to end) that the customer read messages up to
    ``up_to_ms``: count the business's messages up to then as read."""
    require_team(who)
    now = now_ms()
    up_to = v.whole(up_to_ms, "up_to_ms", 0, now + 300_000)
    return await write_and_push(biz, _customer_read_txn, biz,
                                v.address(customer, "customer"), up_to, now)


# --- internal notes --------------------------------------------------------------------------

def _note_txn(db: Any, business: str, customer: str, author: str, text: str,
              now: int) -> tuple[dict[str, Any], list[int]]:
    existing_txn(db, customer)
    if store.count_notes(db, customer) >= MAX_NOTES:
        raise Conflict(f"a conversation holds at most {MAX_NOTES} notes",
                       code="TOO_MANY_NOTES")
    note_id = store.add_note_txn(db, customer, author, text, now)
    note = {"note_id": note_id, "author": author, "text": text, "created_ms": now}
    return note, push_txn(db, business, [customer], "note", now, {"note": note})


async def add_note(biz: Business, who: Requester, customer: str, text: Any) -> dict[str, Any]:
    """An internal note: seen by the team only, never sent to the customer."""
    require_team(who)
    checked = v.text(text, "text", MAX_NOTE, min_len=1)
    return await write_and_push(biz, _note_txn, biz.address, v.address(customer, "customer"),
                                who.address, checked, now_ms())


async def notes(biz: Business, who: Requester, customer: str) -> list[dict[str, Any]]:
    require_team(who)
    customer = v.address(customer, "customer")

    def read(db: Any) -> list[dict[str, Any]]:
        existing_txn(db, customer)
        return store.list_notes(db, customer)
    return await biz.db.read(read)
