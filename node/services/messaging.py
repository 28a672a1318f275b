"""Sending and receiving envelopes on one node.

A send carries one ciphertext per target device. The node checks, inside the same write
transaction that stores them, that the envelopes cover exactly the recipient's keyed
devices and the sender's other keyed devices; otherwise nothing is stored and the client
is told which devices are missing or extra. Each envelope becomes an event on its target
device's stream; the device acknowledges what it stored, which deletes the events and
sends ``delivered`` receipts to the sender's devices.

A *repair* (``repair`` = an earlier message id of the same sending device) completes a
message whose recipient's devices changed after it was accepted: its envelopes go to
devices that lacked one (reported by the recipient's node in a ``devices_changed``
event), under the original message id and time; it must not name a device that does not
exist, but need not cover the others, which already have theirs.

The transaction hooks of ``message.stored`` and ``receipt.delivered`` (``node.events``)
run inside the send's and the acknowledgement's own write transaction, last; their
after-commit work and the after-commit hooks run once it has committed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Protocol

from federation import storage as fed_store
from federation.policy import DestinationDenied, ServerPolicy
from node.errors import Conflict, DeviceRevoked, Forbidden, NotFound
from node.events import AfterCommit, Hooks
from node.protocol.names import TEAM_ROLES, server_of
from node.services import remote_devices, team
from node.services.accounts import Requester, now_ms
from node.services.notifier import Notifier
from node.services.remote_devices import RemoteDevices
from node.storage import accounts as account_store
from node.storage import business as business_store
from node.storage import messages as store
from node.storage.db import Database

MAX_SYNC_LIMIT = 500
MAX_SYNC_TIMEOUT_MS = 30_000
PUSH_LIMIT = 100  # events in one WebSocket batch
SEEN_EVERY_MS = 60_000  # a device's last_seen_ms is rewritten at most this often by acks


class RemoteLink(Protocol):
    """What messaging needs of federation (``node.services.federation.FederationLink``)."""

    devices: RemoteDevices
    def wake(self, destination: str) -> None: ...


@dataclass(frozen=True)
class Messaging:
    """What sending and receiving need: the database, wake-ups, hooks, federation."""

    db: Database
    notifier: Notifier
    hooks: Hooks
    server_name: str
    business: str
    remote: RemoteLink | None = None
    #: The stream epoch (``node_meta``): a new one after every restore, so devices know
    #: that positions they hold from before mean nothing (docs/protocol.md "Receiving").
    epoch: str = ""
    policy: ServerPolicy = ServerPolicy()  # [federation] allow / deny, for the outbox


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def _devices_of(db: Any, address: str, local: bool, business: str) -> dict[str, int | None]:
    """Device id -> local device pk (None for a remote device) of keyed devices."""
    if local:
        return dict(team.devices(db, address, business))
    known = remote_devices.known_device_ids(db, address)
    if known is None:
        raise NotFound(f"no known devices for {address}; fetch its device list first",
                       code="UNKNOWN_ACCOUNT")
    return dict.fromkeys(known)


def _expected_devices(db: Any, who: Requester, sender: str, to: str, to_is_local: bool,
                      business: str) -> dict[str, dict[str, int | None]]:
    """Address -> devices that must each get an envelope: the recipient's and the
    sender's other devices (the whole team when speaking as the business)."""
    if to_is_local and account_store.get_account(db, to) is None:
        raise NotFound(f"no account {to}", code="UNKNOWN_ACCOUNT")
    recipients = _devices_of(db, to, to_is_local, business)
    recipients.pop(who.device_id, None)
    expected: dict[str, dict[str, int | None]] = {to: recipients}
    if sender != to:
        own: dict[str, int | None] = dict(team.devices(db, sender, business))
        own.pop(who.device_id, None)
        for device_id in recipients:
            own.pop(device_id, None)
        if own:
            expected[sender] = own
    return expected


def _mismatch(expected: dict[str, dict[str, int | None]],
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


@dataclass(frozen=True)
class Outgoing:
    """One ``PUT /send/{txn_id}``: the message's envelopes per address and device, who it
    is from (a team member may speak as the business; None: the device's account) and,
    for a repair, the message id it completes."""

    txn_id: str
    to: str
    envelopes: dict[str, dict[str, str]]
    sender: str | None = None
    repair: str | None = None


@dataclass
class _Accepted:
    response: dict[str, Any]
    device_pks: list[int]
    destination: str | None = None
    sender: str = ""
    repair: bool = False
    stored: dict[str, Any] | None = None  # the message.stored payload, if it fires
    after: list[AfterCommit] = field(default_factory=list)  # of its transaction hooks


def _stored_txn(db: Any, m: Messaging, accepted: _Accepted, to: str, device: str) -> None:
    """A message stored for delivery (not a repair): run the ``message.stored``
    transaction hooks in this transaction, and keep the payload to fire after it."""
    if (accepted.device_pks or accepted.destination) and not accepted.repair:
        accepted.stored = {"sender": accepted.sender, "to": to, "sender_device": device,
                           "message_id": accepted.response["message_id"],
                           "ts": accepted.response["ts"]}
        accepted.after = m.hooks.run_txn(db, "message.stored", **accepted.stored)


def _repaired_message(db: Any, who: Requester, sender: str, to: str,
                      repair: str) -> tuple[str, int]:
    """The (message id, ts) a repair completes: a message of this very device."""
    original = store.get_message(db, repair)
    if original is None or (original["sender"], original["sender_device"],
                            original["recipient"]) != (sender, who.device_id, to):
        raise NotFound(f"this device sent no message {repair} to {to}",
                       code="UNKNOWN_MESSAGE")
    return repair, original["created_ms"]


def _check_envelopes(expected: dict[str, dict[str, int | None]],
                     envelopes: dict[str, dict[str, str]], repair: bool) -> None:
    mismatch = _mismatch(expected, envelopes)
    if mismatch and repair:  # a repair covers some devices; it may not name unknown ones
        mismatch = {"missing": {}, "extra": mismatch["extra"]} if mismatch["extra"] else None
    if mismatch:
        raise Conflict("the envelopes do not match the current devices; refresh the device "
                       "lists and retry", code="DEVICE_MISMATCH", details=mismatch)


def _send_txn(db: Any, who: Requester, m: Messaging, out: Outgoing, digest: str) -> _Accepted:
    server_name, business, now = m.server_name, m.business, now_ms()
    txn_id, to, envelopes, repair = out.txn_id, out.to, out.envelopes, out.repair
    sender = out.sender or who.address
    previous = store.get_send_txn(db, who.address, who.device_id, txn_id)
    if previous is not None:
        return _Accepted(_replay(previous, digest), [])
    to_is_local = server_of(to) == server_name
    if to_is_local and business_store.is_blocked_txn(db, who.address):
        raise Forbidden(f"{to} does not accept messages from {who.address}", code="BLOCKED")
    expected = _expected_devices(db, who, sender, to, to_is_local, business)
    if not expected[to] and repair is None:
        raise Conflict(f"{to} has no device that can receive messages yet",
                       code="NO_DEVICES")
    _check_envelopes(expected, envelopes, repair is not None)
    if repair is None:
        message_id, ts = "m_" + secrets.token_urlsafe(15), now
        store.record_message_txn(db, message_id, sender, who.device_id, to, now)
    else:
        message_id, ts = _repaired_message(db, who, sender, to, repair)
    base = {"message_id": message_id, "sender": sender, "sender_device": who.device_id,
            "to": to, "ts": ts}
    events = []
    for address, per_device in envelopes.items():
        if address == to and not to_is_local:
            item = {**base, "envelopes": per_device} | ({"repair": True} if repair else {})
            fed_store.enqueue_txn(db, m.policy, server_of(to), "message", item, now,
                                  sender=sender, recipient=to, message_id=message_id)
            continue
        for device_id, ciphertext in per_device.items():
            pk = expected[address][device_id]
            assert pk is not None
            events.append((pk, "message", message_id, {**base, "ciphertext": ciphertext}))
    store.append_events_txn(db, events, now)
    response = {"message_id": message_id, "ts": ts}
    store.record_send_txn(db, who.address, who.device_id, txn_id, digest, response, now)
    accepted = _Accepted(response, [e[0] for e in events],
                         None if to_is_local else server_of(to), sender, repair is not None)
    _stored_txn(db, m, accepted, to, who.device_id)
    return accepted


def _replay(previous: tuple[str, dict[str, Any]], digest: str) -> dict[str, Any]:
    stored_hash, response = previous
    if not secrets.compare_digest(stored_hash, digest):
        raise Conflict("this transaction id was already used for a different request",
                       code="TXN_CONFLICT")
    return response


async def send(m: Messaging, who: Requester, out: Outgoing) -> dict[str, Any]:
    """Store one message's envelopes (queue them for a remote recipient's node); answers
    after commit; idempotent per txn id. ``repair``: see the module docstring."""
    to, envelopes, repair = out.to, out.envelopes, out.repair
    if server_of(to) != m.server_name:
        if m.remote is None:
            raise Forbidden("federation is disabled on this node", code="FEDERATION_DISABLED")
        await m.remote.devices.ensure_fresh(to)  # or fetched; the kept one if unreachable
    sender = out.sender or who.address
    team.check_sender(who, sender, m.business)
    digest = body_hash({"from": sender, "to": to, "envelopes": envelopes}
                       | ({"repair": repair} if repair else {}))
    try:
        accepted = await m.db.write(_send_txn, who, m, out, digest)
    except DestinationDenied as exc:
        raise Forbidden(str(exc), code=exc.code) from None
    if accepted.destination and m.remote is not None:
        m.remote.wake(accepted.destination)
    m.notifier.notify(accepted.device_pks)
    m.hooks.after_commit(accepted.after)
    if accepted.stored is not None:
        await m.hooks.fire("message.stored", **accepted.stored)
    return accepted.response


async def sync(m: Messaging, who: Requester, since: int, limit: int,
               timeout_ms: int, epoch: str | None = None) -> dict[str, Any]:
    """Events after ``since``; waits up to ``timeout_ms`` for one when there are none.
    A device that names another ``epoch`` than the node's (the node was restored since
    it last synced) gets its stream from the start at once, with the current epoch."""
    if epoch is not None and epoch != m.epoch:
        since, timeout_ms = 0, 0
    with m.notifier.waiter(who.device_pk) as waiter:
        _check_live(waiter.revoked)
        events = await m.db.read(store.events_after, who.device_pk, since, limit)
        if not events and timeout_ms > 0 and await waiter.wait(timeout_ms / 1000):
            _check_live(waiter.revoked)
            events = await m.db.read(store.events_after, who.device_pk, since, limit)
    return {"events": events, "next": events[-1]["pos"] if events else since,
            "epoch": m.epoch}


async def pushes(m: Messaging, who: Requester, since: int, epoch: str | None,
                 idle_seconds: float) -> AsyncGenerator[dict[str, Any], None]:
    """For a WebSocket: the device's events in batches of up to ``PUSH_LIMIT`` (as
    ``sync`` answers them), each as soon as it has committed; ends when the node stops,
    raises ``DeviceRevoked``; reads again at the latest after ``idle_seconds``.

    One waiter is registered before each read and kept while the batch is handed on,
    so that a commit during the read or the send wakes the next read, and a batch is
    followed by a wait, not by a read that finds nothing. A device from another epoch
    gets one batch at once (empty or not) from the start of the stream, with the
    current epoch."""
    restart = epoch is not None and epoch != m.epoch
    since = 0 if restart else since
    while not m.notifier.closed:
        with m.notifier.waiter(who.device_pk) as waiter:
            _check_live(waiter.revoked)
            events = await m.db.read(store.events_after, who.device_pk, since, PUSH_LIMIT)
            if events or restart:
                since, restart = (events[-1]["pos"] if events else since), False
                yield {"events": events, "next": since, "epoch": m.epoch}
                if len(events) >= PUSH_LIMIT:
                    continue  # more may wait already: read on
            await waiter.wait(idle_seconds)
            _check_live(waiter.revoked)


def _check_live(revoked: bool) -> None:
    if revoked:
        raise DeviceRevoked()


def receipt_events(db: Any, sender: str, business: str, payload: dict[str, Any]
                   ) -> list[tuple[int, str, str | None, dict[str, Any]]]:
    """Events carrying one receipt to every device of the local ``sender``."""
    return [(pk, "receipt", payload["message_id"], payload)
            for pk in team.devices(db, sender, business).values()]


def delivered(receipt: dict[str, Any], sender: str) -> dict[str, Any]:
    """The ``receipt.delivered`` payload of a delivered receipt of ``sender``'s message."""
    return {"message_id": receipt["message_id"], "sender": sender, "by": receipt["by"],
            "device": receipt["device"], "ts": receipt["ts"]}


def _ack_txn(db: Any, who: Requester, m: Messaging, up_to: int, now: int
             ) -> tuple[list[int], set[str], list[dict[str, Any]], list[AfterCommit]]:
    server_name, business = m.server_name, m.business
    if not account_store.device_exists(db, who.device_pk):
        raise DeviceRevoked()
    acked = store.ack_events_txn(db, who.device_pk, up_to)
    events, destinations, receipts = [], set(), []
    mine = {who.address} | ({business} if who.role in TEAM_ROLES else set())
    for event in acked:
        sender, to = event["sender"], event.get("to")
        if to not in mine or sender in mine:
            continue  # a copy of our own message, not a delivery to us
        payload = {"receipt": "delivered", "message_id": event["message_id"],
                   "by": to, "device": who.device_id, "ts": now}
        receipts.append(delivered(payload, sender))
        if server_of(sender) == server_name:
            events += receipt_events(db, sender, business, payload)
        elif m.policy.permits(server_of(sender)):  # none for a server we do not federate
            fed_store.enqueue_txn(db, m.policy, server_of(sender), "receipt",
                                  {**payload, "to": sender}, now, sender=to,
                                  recipient=sender, message_id=event["message_id"])
            destinations.add(server_of(sender))
    store.append_events_txn(db, events, now)
    account_store.touch_device_txn(db, who.device_pk, now, SEEN_EVERY_MS)
    after = [work for r in receipts
             for work in m.hooks.run_txn(db, "receipt.delivered", **r)]
    return [e[0] for e in events], destinations, receipts, after


def _nothing_new(db: Any, who: Requester, up_to: int, now: int) -> bool:
    """An ack that deletes nothing, from a device seen within ``SEEN_EVERY_MS``: it
    would only rewrite ``last_seen_ms`` (a revoked device is answered by the write)."""
    seen = account_store.device_last_seen(db, who.device_pk)
    return seen is not None and now - seen < SEEN_EVERY_MS and \
        not store.has_events_up_to(db, who.device_pk, up_to)


async def ack(m: Messaging, who: Requester, up_to: int, epoch: str | None = None, *,
              pushed: bool = False) -> None:
    """The device has stored everything up to ``up_to``: delete it, tell the senders.
    409 ``EPOCH_CHANGED`` when the device's positions are from another epoch.
    ``pushed``: the caller pushed an event at or before ``up_to`` that was not
    acknowledged yet, so the look for a repeated ack (which would write nothing) is
    skipped; the caller must allow that at most once per event it pushed."""
    if epoch is not None and epoch != m.epoch:
        raise Conflict("the node was restored: positions from before mean nothing; sync "
                       "from 0 with the current epoch", code="EPOCH_CHANGED",
                       details={"epoch": m.epoch})
    if not pushed and await m.db.read(_nothing_new, who, up_to, now_ms()):
        return  # a repeated ack: no write
    notified, destinations, receipts, after = await m.db.write(_ack_txn, who, m, up_to,
                                                               now_ms())
    m.notifier.notify(notified)
    m.hooks.after_commit(after)
    for receipt in receipts:
        await m.hooks.fire("receipt.delivered", **receipt)
    for destination in destinations:
        if m.remote is not None:
            m.remote.wake(destination)
