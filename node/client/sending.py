"""Sending: encrypt one envelope for every device that must get a message.

A message to an account is encrypted for each of its devices and for each other device
of the sender (the whole team, for a business). When the node answers 409
``DEVICE_MISMATCH`` because the devices changed, the lists are corrected and the
message is encrypted again, up to ``SEND_ATTEMPTS`` times. Ratchet states are on disk
before anything leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from crypto.encoding import b64decode, b64encode
from crypto.session import Session
from node.client.devices import Devices
from node.client.errors import ApiError, DeliveryFailed, is_transient
from node.client.models import Account
from node.client.store import Store
from node.client.transport import Transport

SEND_ATTEMPTS = 4
OUTGOING = "outgoing:"  # store secrets: envelopes of a send not answered yet, per txn id
Targets = dict[str, set[str]]
#: Records what the node answered to a send (with the removal of its envelopes).
Answered = Callable[[dict[str, Any]], None]
Envelopes = dict[str, dict[str, str]]


class Sender:
    """Encrypts and sends; one message at a time per device."""

    def __init__(self, transport: Transport, store: Store, devices: Devices,
                 account: Account) -> None:
        self.transport, self.store, self.devices, self.account = (transport, store, devices,
                                                                   account)
        self._lock = asyncio.Lock()

    async def sender_for(self, to: str) -> str:
        """A team member speaks as the business to everyone outside the team."""
        me, speaks_as = self.account.address, self.account.speaks_as
        if speaks_as == me or to == speaks_as:
            return me
        team = {entry.get("account") for entry in await self.devices.entries(speaks_as)}
        return me if to in team else speaks_as

    def pending(self, txn_id: str) -> tuple[str, str, bytes] | None:
        """(sender, to, plaintext) of a send under ``txn_id`` whose answer never came."""
        saved = self.store.get_json(OUTGOING + txn_id)
        if not isinstance(saved, dict):
            return None
        return saved["sender"], saved["to"], b64decode(saved["plaintext"])

    async def send(self, sender: str, to: str, plaintext: bytes, txn_id: str | None = None,
                   answered: Answered | None = None) -> dict[str, Any]:
        """Send ``plaintext`` from ``sender`` to ``to``: the node's answer (message id,
        ts). DeliveryFailed when the recipient's devices kept changing.

        The envelopes are kept in the store under ``txn_id`` (with the sessions they
        advanced) until the node answers: a retry with the same ``txn_id`` after a lost
        answer sends the same body again, which the node recognises (one message).
        ``answered(answer)`` runs in the transaction that drops them (``_done``)."""
        given, txn_id = txn_id, txn_id or new_txn_id()
        async with self._lock:  # (a new txn id has nothing saved under it)
            saved = self.store.get_json(OUTGOING + txn_id) if given else None
            if isinstance(saved, dict):
                sender, to = saved["sender"], saved["to"]
                plaintext = b64decode(saved["plaintext"])
            targets: Targets | None = None
            for _ in range(SEND_ATTEMPTS):
                if not isinstance(saved, dict):
                    targets = targets if targets is not None else \
                        await self._targets(sender, to)
                    fresh = await self._claim_missing(targets)
                    saved = {"envelopes": self._encrypt_and_persist(
                        targets, fresh, plaintext, (txn_id, sender, to))}
                try:
                    answer = await self.transport.send(txn_id, sender, to, saved["envelopes"])
                except ApiError as err:
                    if is_transient(err):
                        raise  # kept: the caller retries with the same txn id
                    self.store.delete_secret(OUTGOING + txn_id)
                    if err.code != "DEVICE_MISMATCH":
                        raise
                    known = targets if targets is not None else \
                        await self._targets(sender, to)
                    targets = self._apply_mismatch(known, err.details)
                    saved = None
                    continue
                self._done(txn_id, answer, answered, retryable=given is not None)
                return answer
        raise DeliveryFailed(f"the devices of {to} kept changing; try again", to=to,
                             reason="DEVICE_MISMATCH")

    def _done(self, txn_id: str, answer: dict[str, Any], answered: Answered | None, *,
              retryable: bool) -> None:
        """The node stored the message: drop its envelopes and record the answer (the
        message in the local history), in one local transaction, both or neither (not
        synced, as the autocommits it replaced). When recording fails, the envelopes
        stay for a retry under the caller's txn id; a txn id made up here, which no one
        can retry under, has them dropped before the error goes on."""
        try:
            with self.store.batch(synced=False):
                self.store.delete_secret(OUTGOING + txn_id)
                if answered is not None:
                    answered(answer)
        except BaseException:
            if not retryable:
                with contextlib.suppress(Exception):
                    self.store.delete_secret(OUTGOING + txn_id)
            raise

    async def repair(self, sender: str, to: str, plaintext: bytes, message_id: str,
                     missing: set[str]) -> None:
        """Complete ``message_id`` for the devices of ``to`` that the recipient's node
        reported without an envelope (docs/protocol.md, "Fan-out that repairs itself").
        Devices gone meanwhile are skipped; DeliveryFailed when it cannot be done."""
        # One txn id per repair: a retry after a lost answer is recognised by the node
        # (TXN_CONFLICT then means the first attempt was stored).
        txn_id = "r" + hashlib.sha256(f"{message_id} {sorted(missing)}".encode()
                                      ).hexdigest()[:40]
        async with self._lock:
            self.devices.forget_list(to)
            current = {d["device_id"] for d in await self.devices.entries(to)}
            targets = {to: missing & current}
            for _ in range(SEND_ATTEMPTS):
                if not targets.get(to):
                    return
                fresh = await self._claim_missing(targets)
                envelopes = self._encrypt_and_persist(targets, fresh, plaintext)
                try:
                    await self.transport.send(txn_id, sender, to, envelopes, repair=message_id)
                    return
                except ApiError as err:
                    if err.code == "TXN_CONFLICT":
                        return
                    if err.code != "DEVICE_MISMATCH":
                        raise
                    gone = set((err.details.get("extra") or {}).get(to, []))
                    targets = {to: targets[to] - gone}
        raise DeliveryFailed(f"message {message_id} did not reach every device of {to}",
                             message_id=message_id, to=to, reason="DEVICE_MISMATCH")

    async def _targets(self, sender: str, to: str) -> Targets:
        """Address -> device ids the message must be encrypted for."""
        targets: Targets = {}
        for address in {to, sender}:
            devices = {d["device_id"] for d in await self.devices.entries(address)}
            devices.discard(self.account.device_id)
            if devices:
                targets[address] = devices
        if to in targets and sender in targets and to != sender:
            targets[sender] -= targets[to]
        return {a: d for a, d in targets.items() if d}

    def _apply_mismatch(self, targets: Targets, details: dict[str, Any]) -> Targets:
        extra, missing = details.get("extra") or {}, details.get("missing") or {}
        for address in set(extra) | set(missing):
            self.devices.forget_list(address)
        out = {a: set(d) for a, d in targets.items()}
        for address, ids in extra.items():
            out.get(address, set()).difference_update(ids)
        for address, ids in missing.items():
            out.setdefault(address, set()).update(ids)
        return {a: d for a, d in out.items() if d}

    async def _claim_missing(self, targets: Targets) -> dict[tuple[str, str], Session]:
        """New sessions (X3DH over claimed bundles) for target devices that have none."""
        fresh: dict[tuple[str, str], Session] = {}
        for address, device_ids in targets.items():
            need = sorted(d for d in device_ids if self.store.get_session(address, d) is None)
            if need:
                started = await self.devices.start_sessions(address, need)
                for device_id, session in started.items():
                    fresh[(address, device_id)] = session
        return fresh

    def _encrypt_and_persist(self, targets: Targets, fresh: dict[tuple[str, str], Session],
                             plaintext: bytes,
                             keep: tuple[str, str, str] | None = None) -> Envelopes:
        """Encrypt for every target device and store the advanced sessions (with the
        envelopes under the txn id of ``keep``, (txn id, sender, to)) in one local
        transaction, before anything is sent.
        Nothing here awaits, so a message being received at the same time cannot
        interleave and lose a session update; a session that advanced for a message
        that then failed to send only makes the peer skip a message key."""
        envelopes: dict[str, dict[str, str]] = {}
        with self.store.batch():
            for address, device_ids in targets.items():
                for device_id in sorted(device_ids):
                    # (a stored session also when the peer started one meanwhile)
                    session = self.store.load_session(address, device_id) or \
                        fresh.get((address, device_id))
                    if session is None:
                        continue  # the device has no keys any more; a 409 will say
                    envelopes.setdefault(address, {})[device_id] = b64encode(
                        session.encrypt(plaintext))
                    self.store.save_session(address, device_id, session)
            if keep is not None:
                txn_id, sender, to = keep
                self.store.put_json(OUTGOING + txn_id, {
                    "sender": sender, "to": to, "plaintext": b64encode(plaintext),
                    "envelopes": envelopes})
        return envelopes


def new_txn_id() -> str:
    """A fresh transaction id for ``PUT /send/{txn_id}``."""
    return "t" + secrets.token_urlsafe(16)
