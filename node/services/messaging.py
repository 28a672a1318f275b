"""Sending and receiving envelopes on one node.

A send carries one ciphertext per target device. The node checks, inside the same write
transaction that stores them, that the envelopes cover exactly the recipient's keyed
devices and the sender's other keyed devices; otherwise nothing is stored and the client
is told which devices are missing or extra. Each envelope becomes an event on its target
device's stream; the device acknowledges what it stored, which deletes the events and
sends ``delivered`` receipts to the sender's devices.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from node.errors import Conflict, NotFound
from node.events import Hooks
from node.services.accounts import Requester, now_ms
from node.services.notifier import Notifier
from node.storage import accounts as account_store
from node.storage import messages as store
from node.storage.db import Database

MAX_SYNC_LIMIT = 500
MAX_SYNC_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Messaging:
    """What sending and receiving need: the database, wake-ups and hooks."""

    db: Database
    notifier: Notifier
    hooks: Hooks


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def _expected_devices(db: Any, who: Requester, to: str) -> dict[str, dict[str, int]]:
    expected = {to: account_store.keyed_device_ids(db, to)}
    own = account_store.keyed_device_ids(db, who.address)
    own.pop(who.device_id, None)
    if to == who.address:
        expected[to].pop(who.device_id, None)
    else:
        expected[who.address] = own
    return expected


def _mismatch(expected: dict[str, dict[str, int]],
              envelopes: dict[str, dict[str, str]]) -> dict[str, Any] | None:
    missing: dict[str, list[str]] = {}
    extra: dict[str, list[str]] = {}
    for address in set(expected) | set(envelopes):
        want = set(expected.get(address, {}))
        got = set(envelopes.get(address, {}))
        if want - got:
            missing[address] = sorted(want - got)
        if got - want:
            extra[address] = sorted(got - want)
    return {"missing": missing, "extra": extra} if missing or extra else None


def _send_txn(db: Any, who: Requester, txn_id: str, digest: str, to: str,
              envelopes: dict[str, dict[str, str]], now: int) -> tuple[dict[str, Any], list[int]]:
    previous = store.get_send_txn(db, who.address, who.device_id, txn_id)
    if previous is not None:
        return _replay(previous, digest), []
    if account_store.get_account(db, to) is None:
        raise NotFound(f"no account {to}", code="UNKNOWN_ACCOUNT")
    expected = _expected_devices(db, who, to)
    mismatch = _mismatch(expected, envelopes)
    if mismatch:
        raise Conflict("the envelopes do not match the current devices; refresh the device "
                       "lists and retry", code="DEVICE_MISMATCH", details=mismatch)
    message_id = "m_" + secrets.token_urlsafe(15)
    store.record_message_txn(db, message_id, who.address, who.device_id, to, now)
    events = []
    for address, per_device in envelopes.items():
        for device_id, ciphertext in per_device.items():
            payload = {"message_id": message_id, "sender": who.address,
                       "sender_device": who.device_id, "to": to, "ts": now,
                       "ciphertext": ciphertext}
            events.append((expected[address][device_id], "message", message_id, payload))
    store.append_events_txn(db, events, now)
    response = {"message_id": message_id, "ts": now}
    store.record_send_txn(db, who.address, who.device_id, txn_id, digest, response, now)
    return response, [e[0] for e in events]


def _replay(previous: tuple[str, dict[str, Any]], digest: str) -> dict[str, Any]:
    stored_hash, response = previous
    if not secrets.compare_digest(stored_hash, digest):
        raise Conflict("this transaction id was already used for a different request",
                       code="TXN_CONFLICT")
    return response


async def send(m: Messaging, who: Requester, txn_id: str, to: str,
               envelopes: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Store one message's envelopes; answers after commit; idempotent per txn id."""
    digest = body_hash({"to": to, "envelopes": envelopes})
    response, device_pks = await m.db.write(_send_txn, who, txn_id, digest, to, envelopes,
                                            now_ms())
    if device_pks:
        m.notifier.notify(device_pks)
        await m.hooks.fire("message.stored", sender=who.address, to=to,
                           message_id=response["message_id"], ts=response["ts"])
    return response


async def sync(m: Messaging, who: Requester, since: int, limit: int,
               timeout_ms: int) -> dict[str, Any]:
    """Events after ``since``; waits up to ``timeout_ms`` for one when there are none."""
    with m.notifier.waiter(who.device_pk) as waiter:
        events = await m.db.read(store.events_after, who.device_pk, since, limit)
        if not events and timeout_ms > 0 and await waiter.wait(timeout_ms / 1000):
            events = await m.db.read(store.events_after, who.device_pk, since, limit)
    return {"events": events, "next": events[-1]["pos"] if events else since}


def _ack_txn(db: Any, who: Requester, up_to: int, now: int) -> list[int]:
    acked = store.ack_events_txn(db, who.device_pk, up_to)
    receipts = []
    for event in acked:
        sender = event["sender"]
        if sender == who.address:
            continue
        payload = {"receipt": "delivered", "message_id": event["message_id"],
                   "by": who.address, "device": who.device_id, "ts": now}
        for pk in account_store.keyed_device_ids(db, sender).values():
            receipts.append((pk, "receipt", event["message_id"], payload))
    store.append_events_txn(db, receipts, now)
    account_store.touch_device_txn(db, who.device_pk, now)
    return [r[0] for r in receipts]


async def ack(m: Messaging, who: Requester, up_to: int) -> None:
    """The device has stored everything up to ``up_to``: delete it, tell the senders."""
    notified = await m.db.write(_ack_txn, who, up_to, now_ms())
    m.notifier.notify(notified)
