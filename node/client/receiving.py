"""Receiving: every event the device stores is handed to the app exactly once.

The node keeps each device's events in an ordered stream until the device acknowledges
them. The SDK, per batch:

1. fetches the published identity of devices starting a session (network, first);
2. in one local transaction (synced to disk): decrypts, adds messages to the history,
   puts the resulting events (``Message``, ``Receipt``, ``DeliveryFailed``) into the
   store's inbox and advances its stream position;
3. acknowledges up to that position; a failed ack (429, 5xx, connection lost) changes
   nothing and is retried before the next fetch, on its own;
4. hands the inbox's events to the app, each taken out of the inbox as it is handed.

So a 429 or a lost connection at any step, a node restart (its stream still holds what
was not acknowledged; the SDK skips what it already stored by position) or an app
restart (the inbox is on disk) neither loses nor repeats an event.

A node restored from a backup tells a new stream *epoch* (docs/protocol.md,
"Receiving"): its positions start afresh, so the SDK goes back to position 0, skips the
messages it stored already (by id), and uploads new one-time prekeys.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from crypto.encoding import b64decode
from crypto.errors import CryptoError
from crypto.identity import DeviceIdentity
from crypto.keys import X25519Key
from crypto.session import Session, peek_prekey
from node.client import content as contents
from node.client.devices import Devices
from node.client.errors import ClientError, ContentError, VerificationError
from node.client.models import (
    Account,
    Event,
    Message,
    Receipt,
    delivery_receipt,
    event_from_json,
    event_to_json,
    failed_event,
)
from node.client.store import Store
from node.client.transport import Transport

log = logging.getLogger("kontor.client")

Ack = Callable[[int, str | None], Awaitable[bool]]


class Receiver:
    """Turns a device's event stream into inbox events; owns the stream position."""

    def __init__(self, transport: Transport, store: Store, identity: DeviceIdentity,
                 devices: Devices, account: Account) -> None:
        self.transport, self.store, self.identity = transport, store, identity
        self.devices, self.account = devices, account
        self.undecryptable = 0
        self.resyncs = 0  # times the node's stream restarted (restores) while we ran
        #: Set by ``Client``: history events (``client.archive``), each stored message
        #: (to seal a history copy), and the network work after each batch.
        self.on_other: Callable[[dict[str, Any]], Event | None] = lambda event: None
        self.on_message: Callable[[Message], None] = lambda message: None
        self.after_batch: Callable[[], Awaitable[None]] | None = None

    def position(self) -> int:
        return int(self.store.get_json("position") or 0)

    def epoch(self) -> str | None:
        """The node's stream epoch of the last batch."""
        epoch = self.store.get_json("epoch")
        return epoch if isinstance(epoch, str) else None

    async def follow_epoch(self, batch: dict[str, Any]) -> None:
        """A batch of another epoch than ours: the node was restored from a backup and
        its positions start afresh, so ours goes back to 0 (the batch is the stream from
        its start); the restore dropped one-time prekeys, so new ones go up."""
        epoch, known = batch.get("epoch"), self.epoch()
        if not isinstance(epoch, str) or not epoch or epoch == known:
            return
        with self.store.batch():
            self.store.put_json("epoch", epoch)
            if known is not None:
                self.store.put_json("position", 0)
                self.store.put_json("acked", 0)
        if known is None:
            return  # the first batch from a node that tells its epoch
        log.info("the node's stream restarted (restored from a backup); resyncing")
        self.resyncs += 1
        with contextlib.suppress(ClientError):
            await self.devices.top_up_prekeys()

    def _acked(self) -> int:
        return int(self.store.get_json("acked") or 0)

    async def fetch(self, timeout_ms: int) -> None:
        """Acknowledge what is stored, then fetch and store the next batch (waiting up
        to ``timeout_ms``). ApiError or ConnectionFailed when the sync fails."""
        await self.ack()
        batch = await self.transport.sync(self.position(), timeout_ms, epoch=self.epoch())
        await self.follow_epoch(batch)
        await self.store_batch(batch.get("events") or [], batch.get("next"))
        await self.ack()

    async def ack(self, over_socket: Ack | None = None) -> bool:
        """Acknowledge the stored position if the node has not been told yet; False
        (and nothing changed) when that failed; it is retried next time."""
        position = self.position()
        if position <= self._acked():
            return True
        try:
            if over_socket is None or not await over_socket(position, self.epoch()):
                await self.transport.ack(position, epoch=self.epoch())
        except ClientError as exc:
            log.info("acknowledging up to %s failed (%s); retrying later", position, exc)
            return False
        self.store.put_json("acked", position)
        return True

    async def store_batch(self, events: list[dict[str, Any]], next_pos: Any) -> None:
        """Decrypt and store a batch, its inbox events and the new position in one local
        transaction. Network lookups happen first: nothing inside the transaction
        awaits, so no other task's writes can join it."""
        if events and isinstance(next_pos, int):
            await self._store(events, next_pos)
        if self.after_batch is not None:  # (also after an empty long-poll: resumed work)
            await self.after_batch()

    async def _store(self, events: list[dict[str, Any]], next_pos: int) -> None:
        await self._learn_senders(events)
        with self.store.batch():
            used_prekey = False
            for event in events:
                if not isinstance(event, dict) or event.get("pos", 0) <= self.position():
                    continue  # already stored before an acknowledgement was lost
                item, prekey = self._event(event)
                used_prekey |= prekey
                if item is not None:
                    self.store.push_event(event_to_json(item))
            self.store.put_json("position", max(next_pos, self.position()))
        if used_prekey:
            with contextlib.suppress(ClientError):
                await self.devices.top_up_prekeys()

    def take(self, limit: int) -> list[Event]:
        """Take up to ``limit`` events out of the inbox, oldest first."""
        return [event_from_json(e) for e in self.store.pop_events(limit)]

    def _event(self, event: dict[str, Any]) -> tuple[Event | None, bool]:
        kind = event.get("type")
        if kind == "message":
            if self.store.has_message(str(event.get("message_id"))):
                return None, False  # stored already (a stream replayed after a restore)
            return self._decrypt_event(event)
        item: Event | None = None
        if kind == "receipt":
            item = delivery_receipt(event)
            if item is not None:
                self.store.mark(item.message_ids[0], "delivered")
        elif kind == "failed":
            item = failed_event(event)
        else:  # history events; other kinds (conversation updates) are for the team API
            return self.on_other(event), False
        if item is None:
            log.warning("dropped a malformed %s event at %s", kind, event.get("pos"))
        return item, False

    async def _learn_senders(self, events: list[dict[str, Any]]) -> None:
        """Fetch the published identity of every unknown device starting a session."""
        for event in events:
            if not isinstance(event, dict) or event.get("type") not in ("message",
                                                                        "history_keys"):
                continue
            sender, device = event.get("sender"), event.get("sender_device")
            if not isinstance(sender, str) or not isinstance(device, str):
                continue
            try:
                if self.devices.pinned(sender, device) is None \
                        and peek_prekey(b64decode(event["ciphertext"])) is not None:
                    await self.devices.learn(sender, device)
            except (CryptoError, ClientError, KeyError, TypeError) as exc:
                log.info("cannot learn the identity of %s/%s: %s", sender, device, exc)

    def _decrypt_event(self, event: dict[str, Any]) -> tuple[Event | None, bool]:
        sender, device = event.get("sender"), event.get("sender_device")
        try:
            if not isinstance(sender, str) or not isinstance(device, str):
                raise ContentError("event without sender")
            plaintext, session, prekey = self._open(sender, device,
                                                    b64decode(event["ciphertext"]))
        except (CryptoError, ContentError, VerificationError, KeyError, TypeError) as exc:
            self._dropped(event, exc)
            return None, False
        # The session advanced: keep it whatever the content turns out to be, so that a
        # message we cannot use does not break the conversation (or allow a replay).
        self.store.save_session(sender, device, session)
        try:
            content, claimed_from, claimed_to = contents.decode(plaintext)
            if claimed_from != sender or claimed_to != event.get("to"):
                raise ContentError("the message names another conversation")
            return self._item(event, sender, device, content), prekey
        except (ContentError, KeyError, TypeError) as exc:
            self._dropped(event, exc)
            return None, prekey

    def _dropped(self, event: dict[str, Any], exc: Exception) -> None:
        self.undecryptable += 1
        log.warning("dropped message %s from %s/%s: %s", event.get("message_id"),
                    event.get("sender"), event.get("sender_device"), exc)

    def _item(self, event: dict[str, Any], sender: str, device: str,
              content: contents.Content) -> Event:
        if isinstance(content, contents.ReadReceipt):
            for message_id in content.message_ids:
                self.store.mark(message_id, "read")
            return Receipt("read", content.message_ids, sender, device, event["ts"])
        mine = {self.account.address, self.account.speaks_as}
        peer = event["to"] if sender in mine else sender
        message = Message(event["message_id"], sender, device, event["to"], peer, event["ts"],
                          content, outgoing=sender in mine)
        self.store.add_message(message.message_id, peer, sender, device, message.outgoing,
                               message.ts, {**contents.to_wire(content), "from": sender,
                                            "to": event["to"]})
        self.on_message(message)
        return message

    def _open(self, sender: str, device: str, wire: bytes) -> tuple[bytes, Session, bool]:
        """Decrypt with the existing session, or accept a new one from a prekey message."""
        session = self.store.load_session(sender, device)
        info = peek_prekey(wire)
        if session is not None and (info is None or session.matches_prekey(info)):
            return session.decrypt(wire), session, False
        if info is None:
            raise VerificationError("no session with this device and no prekey message")
        # A prekey message starting a session: refuse one we accepted before (a replay),
        # then check it comes from the device's published identity.
        if self.store.seen_handshake(info.ephemeral_key):
            raise VerificationError("this session start was already used (a replay)")
        pinned = self.devices.pinned(sender, device)  # learnt by _learn_senders
        if pinned is None:
            raise VerificationError(f"{sender} has no published device {device}")
        # Both identity keys must be the device's: X3DH rests on the X25519 one, and a
        # node that swapped it could otherwise start a session in the device's name.
        if not (secrets.compare_digest(pinned[0], info.initiator_signing_key)
                and secrets.compare_digest(pinned[1], info.initiator_identity_key)):
            raise VerificationError("the prekey message is not from the device's published "
                                    "identity")
        spk = self.store.get_prekey(info.signed_prekey_id)
        if spk is None:
            raise VerificationError("unknown signed prekey")
        otk = None
        if info.one_time_prekey_id is not None:
            secret = self.store.get_prekey(info.one_time_prekey_id)
            if secret is None:
                raise VerificationError("one-time prekey already used or unknown")
            otk = X25519Key.from_private(secret)
        session, plaintext = Session.accept(self.identity, X25519Key.from_private(spk), otk,
                                            wire)
        if info.one_time_prekey_id is not None:
            self.store.delete_prekey(info.one_time_prekey_id)
        self.store.remember_handshake(info.ephemeral_key)
        return plaintext, session, True

