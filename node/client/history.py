"""``client.archive``: history on every new device, end to end (docs/crypto.md §11).

Each device that holds its owner's current history key (the owner is the account, or
the business for a team member's device) seals every message it sends or receives and
stores the copy on its node, which sees only ciphertext. A new device is announced to
the others (``DeviceAdded``); one of them calls ``approve(device_id)``, which gives it
every epoch's key over their pairwise ratchet session; the new device then calls
``download()`` and finds the old messages in ``client.history(peer)``.

The work that needs the network (rotating the key after a device was removed,
repairing a fan-out) runs after each received batch and each send; sealed copies go up
together, within a second (``node.client.history_upload``). What cannot be done now
(no key yet, node unreachable) waits in the store for the next time. Nothing here
raises into the receive loop: a failure is logged and retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from crypto import history as sealing
from crypto.canonicaljson import encode_canonical, loads_strict
from crypto.encoding import b64decode, b64encode
from crypto.errors import CryptoError
from node.client import content as contents
from node.client import history_upload
from node.client.errors import (
    ApiError,
    ClientError,
    ContentError,
    DeliveryFailed,
    is_transient,
)
from node.client.history_pages import Reader
from node.client.history_queue import MAX_QUEUED
from node.client.models import ArchiveEvent, Message, event_to_json
from node.protocol.names import TEAM_ROLES

if TYPE_CHECKING:
    from node.client.client import Client

log = logging.getLogger("kontor.client.history")

PENDING = "history_pending"  # (before history_queue: the ids waiting, as one list)
REPAIRS = "fanout_repairs"  # devices_changed reports waiting to be repaired
KEYS = "history_keys"
TO_GIVE = "history_to_give"  # the key this device started, to give to the others
UPLOAD_BYTES = 600 * 1024
UPLOAD_ITEMS = 100  # one PUT /history/items holds up to this many


class Archive:
    """The history namespace of a ``Client``; see the module docstring."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.store = client.store
        self._state: dict[str, Any] | None = None
        self._checked = False  # whether this run asked if the history must start
        self._starting = asyncio.Lock()  # one ``start`` at a time (sends and receives)
        self._forget_due: list[str] = []
        self.reader = Reader(self)
        self.queue = client.store.history_queue
        self.uploader = history_upload.Uploader(self._upload, self._waiting)
        self._queue_from_list()
        self._keys: dict[int, bytes] | None = None  # (see ``keys``)

    # ----- keys ---------------------------------------------------------------------

    def keys(self) -> dict[int, bytes]:
        """Epoch -> history key this device holds (empty: not approved yet). Kept in
        memory once read outside a local transaction (asked several times a message);
        a change drops the copy, so a rolled-back change is never kept."""
        if self._keys is not None:
            return dict(self._keys)
        saved = self.store.get_json(KEYS) or {}
        keys = {int(e): b64decode(k, 32) for e, k in (saved.get("keys") or {}).items()}
        if not self.store.in_batch:
            self._keys = keys
        return dict(keys)

    def _add_keys(self, owner: str, keys: dict[int, bytes]) -> None:
        self._keys = None
        saved = self.store.get_json(KEYS) or {"owner": owner, "keys": {}}
        saved["keys"].update({str(e): b64encode(k) for e, k in keys.items()})
        self.store.put_json(KEYS, saved)

    @property
    def owner(self) -> str:
        """Whose history this device keeps: the business for a team member's device."""
        account = self.client.account
        return account.speaks_as if account.role in TEAM_ROLES else account.address

    # ----- received events (inside the receiver's transaction: nothing awaits) ------------

    def on_event(self, event: dict[str, Any]) -> ArchiveEvent | None:
        """A node event of a kind this namespace handles, turned into an app event."""
        kind = event.get("type")
        try:
            if kind == "history_keys":
                return self._receive_keys(event)
            if kind == "device_added" and isinstance(event.get("device_id"), str):
                return ArchiveEvent("device_added", str(event.get("address")),
                                    event["device_id"], str(event.get("name", "")),
                                    int(event.get("ts", 0)))
            if kind == "erased":
                return self._erase(str(event.get("conversation_sha256", "")),
                                   int(event.get("ts", 0)))
            if kind == "devices_changed":
                self._note_repair(event)
        except (CryptoError, ClientError, KeyError, TypeError, ValueError) as exc:
            log.warning("dropped a %s event: %s", kind, exc)
        return None

    def note(self, message: Message) -> None:
        """A message was stored: seal it when this device holds the key and the message
        belongs to the owner's history (for the team: a conversation of the business)."""
        if self.keys() and self._belongs(message.sender, message.to):
            self.queue.add([message.message_id])

    def _belongs(self, sender: str, to: str) -> bool:
        owner = self.owner
        return owner == self.client.address or owner in (sender, to)

    def _queue_from_list(self) -> None:
        """A store from before ``history_queue``: its sealed list of ids moves in, in order."""
        pending = self.store.get_json(PENDING)
        if pending is not None:
            with self.store.batch():
                self.queue.add(pending)
                self.store.delete_secret(PENDING)

    def _backfill(self) -> None:
        """Queue what this device stored before it held a key (from before the owner's
        history began), newest first; the node keeps once what others stored already."""
        with self.store.batch(synced=False):  # (one commit, not one per id)
            self.queue.add(self.store.message_ids(MAX_QUEUED))

    def _receive_keys(self, event: dict[str, Any]) -> ArchiveEvent | None:
        owner, device = self.owner, event.get("sender_device")
        if event.get("owner") != owner or event.get("sender") != owner \
                or not isinstance(device, str):
            raise ContentError("history keys for another owner")
        receiver = self.client._receiver
        plaintext, session, _ = receiver._open(owner, device, b64decode(event["ciphertext"]))
        self.store.save_session(owner, device, session)
        body = loads_strict(sealing.unpad(plaintext))
        if not isinstance(body, dict) or body.get("type") != "history_keys" or \
                {body.get("from"), body.get("to"), body.get("owner")} != {owner}:
            raise ContentError("not a history keys message for this owner")
        keys = {int(e): b64decode(k, 32) for e, k in body["keys"].items()}
        first = not self.keys()
        self._add_keys(owner, keys)
        self._state = None
        if first:  # approved (or joined): fetch the history, seal what was kept before
            self.reader.begin()
            self._backfill()
        return ArchiveEvent("history_approved", owner, device, "", int(event.get("ts", 0)))

    def _erase(self, digest: str, ts: int) -> ArchiveEvent | None:
        for conversation in self.store.conversations():
            peer = conversation["peer"]
            if b64encode(hashlib.sha256(peer.encode()).digest()) == digest:
                self._forget_due.append(peer)  # after the batch: forget checkpoints
                return ArchiveEvent("erased", peer, "", "", ts)
        return None

    def _note_repair(self, event: dict[str, Any]) -> None:
        missing = [d for d in event.get("missing") or [] if isinstance(d, str)]
        if missing and isinstance(event.get("message_id"), str):
            repairs = self.store.get_json(REPAIRS) or []
            repairs.append({"message_id": event["message_id"], "to": event.get("to"),
                            "missing": missing[:100]})
            self.store.put_json(REPAIRS, repairs[-1000:])

    # ----- work after a batch or a send --------------------------------------------------

    async def after_batch(self) -> None:
        """Repair fan-outs, then seal and store what is waiting (errors are logged)."""
        while self._forget_due:  # an erase: before the app hears of it
            self.store.forget(self._forget_due.pop())
        try:
            await self._repair_all()
            if not self._checked:  # (again after the next batch if it failed)
                await self.start()
                self._checked = True
            if self.reader.due():  # approved: the history, newest first, resumed
                await self.reader.download()
            await self.uploader.soon()
        except (ClientError, CryptoError) as exc:
            log.info("history work postponed: %s", exc)

    async def state(self) -> dict[str, Any]:
        if self._state is None:
            self._state = await self.client.http.request("GET", "/history")
        return self._state

    async def start(self) -> bool:
        """Start the owner's history when there is none (or every holder of its key is
        gone) and this device may (an account's device, an admin's device for the team):
        the other devices the owner has now join it (at a restart: those approved
        before), and what this device kept from before is sealed (``_backfill``; when
        its upload fails, the key is given all the same and the copies go up with a
        later upload). The key is given from the store (``_give_started``), so a node
        unreachable meanwhile delays it to a later batch. True when this device holds
        a key."""
        async with self._starting:
            return await self._start()

    async def _start(self) -> bool:
        if self.keys():
            if self.store.get_json(TO_GIVE):
                await self._give_started()
            return True
        self._state = None
        state = await self.state()
        if not (state["epoch"] == 0 or state.get("restart")) or not state.get("may_approve"):
            return False
        epoch = state["epoch"] + 1
        try:
            await self.client.http.request("POST", "/history/epochs", {"epoch": epoch})
        except ApiError as err:
            if err.code in ("EPOCH_EXISTS", "HISTORY_FORBIDDEN"):
                self._state = None
                return False
            raise
        with self.store.batch():
            self._add_keys(self.owner, {epoch: sealing.new_key()})
            self.store.put_json(TO_GIVE, {"epoch": epoch})
        self._state = None
        self._backfill()
        try:  # before the others get the key and download; a failure must not keep
            await self.flush()  # the key from them: the copies wait and go up later
        except (ClientError, CryptoError) as exc:
            log.info("history backfill postponed: %s", exc)
        await self._give_started()
        return True

    async def _give_started(self) -> None:
        """Give the key of the epoch ``start`` began to the owner's other devices. What
        is left to do stays in the store (``TO_GIVE``) until each device got it or the
        node refused it (it can be approved later); a failed connection, a 429 or a
        5xx raises, and the next batch resumes."""
        due = self.store.get_json(TO_GIVE)
        epoch = due["epoch"]
        if "devices" not in due:
            listed = await self.client.http.request("GET", "/history/devices")
            # At the first start every device predates the history; at a restart only
            # devices approved before get the new key (the others still need approval).
            due["devices"] = [d["device_id"] for d in listed["devices"]
                              if d["device_id"] != self.client.device_id
                              and not d["current"] and (epoch == 1 or d["epochs"])]
            self.store.put_json(TO_GIVE, due)
        while due["devices"]:
            try:
                await self._give(due["devices"][0], {epoch: self.keys()[epoch]})
            except (ClientError, CryptoError) as exc:
                if is_transient(exc):
                    raise  # (kept: the next batch resumes)
                log.info("history key not given to a device: %s", exc)
            due["devices"].pop(0)
            self.store.put_json(TO_GIVE, due)
        self.store.delete_secret(TO_GIVE)

    async def flush(self) -> int:
        """Seal waiting messages to the current key and store them now (rather than
        with the next upload, ``history_upload``); returns how many."""
        return await self.uploader.now()

    def _waiting(self) -> int:
        """How many copies wait to go up (counted up to a full batch: all ``soon`` asks)."""
        return self.queue.waiting(history_upload.BATCH_ITEMS) if self.keys() else 0

    async def _upload(self) -> int:
        keys = self.keys()
        pending = self.queue.oldest(UPLOAD_ITEMS) if keys else []
        if not pending:
            return 0
        epoch = max(keys)
        items, size, taken = [], 0, 0
        for position, message_id in pending:
            taken = position
            item = self._sealed(message_id, epoch, keys[epoch])
            if item is not None:
                size += len(item["sealed"])
                items.append(item)
            if size > UPLOAD_BYTES:
                break
        if items:
            try:
                await self.client.http.request("PUT", "/history/items", {"items": items})
            except ApiError as err:
                if err.code == "HISTORY_KEY_ROTATION":
                    await self.rotate(epoch)
                    return 0
                if err.code not in ("STALE_EPOCH", "HISTORY_KEY_MISSING"):
                    raise
                return 0  # the next epoch's key is on its way
        self.queue.done(taken)
        return len(items) + (await self._upload() if self.queue.waiting(1) else 0)

    def _sealed(self, message_id: str, epoch: int, key: bytes) -> dict[str, Any] | None:
        row = self.store.get_message(message_id)
        if row is None:
            return None  # forgotten (erased) meanwhile
        to = row["content"].get("to", row["peer"])
        if not self._belongs(row["sender"], to):
            return None  # an agent's own chat with a colleague: not the team's history
        record = {k: row[k] for k in ("message_id", "sender", "sender_device", "peer", "ts",
                                      "outgoing", "content")}
        record["to"] = to
        sealed = sealing.seal(key, epoch, self.owner, message_id, row["peer"], row["ts"],
                              encode_canonical(record))
        return {"item_id": message_id, "conversation": row["peer"], "ts": row["ts"],
                "epoch": epoch, "sealed": b64encode(sealed)}

    async def rotate(self, epoch: int) -> None:
        """A device that held the key of ``epoch`` was removed: start the next epoch and
        give its key to the other remaining holders (unless another device did)."""
        try:
            await self.client.http.request("POST", "/history/epochs", {"epoch": epoch + 1})
        except ApiError as err:
            if err.code == "EPOCH_EXISTS":
                return  # another device rotated; its key reaches us as history_keys
            raise
        key = sealing.new_key()
        self._add_keys(self.owner, {epoch + 1: key})
        listed = await self.client.http.request("GET", "/history/devices")
        for device in listed["devices"]:
            if epoch in device["epochs"] and device["device_id"] != self.client.device_id:
                await self._give(device["device_id"], {epoch + 1: key})
        self._state = None

    # ----- approving and downloading -----------------------------------------------------

    async def pending_devices(self) -> list[dict[str, Any]]:
        """The owner's devices that hold no history key yet (to approve)."""
        listed = await self.client.http.request("GET", "/history/devices")
        return [d for d in listed["devices"] if not d["epochs"]
                and d["device_id"] != self.client.device_id]

    async def approve(self, device_id: str) -> list[int]:
        """Give ``device_id`` (another device of this owner) every history key this
        device holds; returns the epochs given. The node refuses (``ApiError``) when the
        policy does not let this device approve (``[business] history_approval``)."""
        if not await self.start():
            raise ClientError("this device holds no history key to give")
        await self.flush()  # what waits goes up first: the new device downloads it all
        return await self._give(device_id, self.keys())

    async def _give(self, device_id: str, keys: dict[int, bytes]) -> list[int]:
        owner = self.owner
        body = {"type": "history_keys", "from": owner, "to": owner, "owner": owner,
                "keys": {str(e): b64encode(k) for e, k in sorted(keys.items())}}
        if self.store.get_session(owner, device_id) is None:
            started = await self.client.devices.start_sessions(owner, [device_id])
            self.store.save_session(owner, device_id, started[device_id])
        with self.store.batch():
            session = self.store.load_session(owner, device_id)
            assert session is not None
            wire = session.encrypt(sealing.pad(encode_canonical(body)))
            self.store.save_session(owner, device_id, session)
        answer = await self.client.http.request("POST", "/history/keys", {
            "device_id": device_id, "epochs": sorted(keys), "ciphertext": b64encode(wire)})
        return list(answer["epochs"])

    async def download(self, *, max_pages: int = 1000) -> int:
        """Fetch the sealed history, newest first, resuming an unfinished download
        (``history_pages``); returns how many messages were new."""
        return await self.reader.download(max_pages=max_pages)

    # ----- fan-out repair ----------------------------------------------------------------

    async def _repair_all(self) -> None:
        repairs = self.store.get_json(REPAIRS) or []
        for repair in repairs:
            try:
                await self._repair(repair)
            except DeliveryFailed as failed:
                self.store.push_event(event_to_json(failed))
            except ApiError as err:
                self.store.push_event(event_to_json(DeliveryFailed(
                    f"message {repair['message_id']} to {repair['to']} did not reach every "
                    f"device: {err.code}", message_id=repair["message_id"],
                    to=str(repair["to"]), reason=err.code)))
            self.store.put_json(REPAIRS, (self.store.get_json(REPAIRS) or [])[1:])

    async def _repair(self, repair: dict[str, Any]) -> None:
        """Encrypt the message again for the devices that lacked an envelope."""
        row = self.store.get_message(repair["message_id"])
        if row is None:
            return  # not kept (a read receipt) or forgotten: nothing to repair
        to, sender = repair["to"], row["sender"]
        content = contents.from_wire(row["content"])
        plaintext = contents.encode(content, sender, to)
        await self.client._sender.repair(sender, to, plaintext, repair["message_id"],
                                         set(repair["missing"]))
