"""The node's side of federation: remote device lists and claims, inbound transactions.

``FederationLink`` is what the rest of the node uses to reach other nodes: it fetches
(and caches) remote device lists, proxies one-time prekey claims, and wakes the outbox.
``receive_transaction`` stores an inbound transaction exactly once per (origin, txn id)
and delivers its items to local devices.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from federation import storage as fed_store
from federation.client import DeniedRemote
from federation.policy import DestinationDenied
from federation.sender import Sender
from node.errors import BadRequest, Conflict, Forbidden, Unavailable
from node.events import Hooks
from node.services import keycheck, team
from node.services.accounts import now_ms, split_address
from node.services.messaging import body_hash, receipt_events, server_of
from node.services.notifier import Notifier
from node.storage import accounts as account_store
from node.storage import business as business_store
from node.storage import messages as message_store
from node.storage.db import Database
from node.text import bad_text_path, is_clean_id

log = logging.getLogger("kontor.federation")

FED_PREFIX = "/_kontor/federation/v1"
MAX_ITEMS = 500
MAX_DEVICES = 100


class FederationClient(Protocol):
    """Signed requests to other nodes (``federation.client.FederationClient``)."""

    async def request(self, destination: str, method: str, path: str,
                      body: dict[str, Any] | None = None) -> Any: ...


@dataclass
class FederationLink:
    """Reaching other nodes on behalf of local clients."""

    db: Database
    client: FederationClient
    sender: Sender
    server_name: str

    def wake(self, destination: str) -> None:
        self.sender.wake(destination)

    async def refresh_devices(self, address: str, max_age_ms: int) -> None:
        """Fetch ``address``'s device list unless the cached one is fresh enough."""
        cached = await self.db.read(fed_store.get_remote_devices, address)
        if cached is None or now_ms() - cached[1] > max_age_ms:
            await self.fetch_devices(address)  # answers from the cache when unreachable

    async def fetch_devices(self, address: str) -> dict[str, Any]:
        """The remote account's devices, verified, and cached for sends. When its node
        cannot be reached, the last verified list is answered (sends then queue)."""
        try:
            answer = await self._call(server_of(address), "GET",
                                      f"{FED_PREFIX}/devices/{quote(address)}")
        except Unavailable:
            cached = await self.db.read(fed_store.get_remote_devices, address)
            if cached is None or not all("device_keys" in d for d in cached[0]):
                raise
            return {"address": address, "devices": cached[0], "stale": True}
        devices = self._checked_devices(address, answer)
        await self.db.write(fed_store.store_remote_devices_txn, address, devices, now_ms())
        return {"address": address, "devices": devices}

    async def claim(self, address: str, device_ids: list[str] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"address": address}
        if device_ids is not None:
            body["device_ids"] = device_ids
        answer = await self._call(server_of(address), "POST", f"{FED_PREFIX}/claim", body)
        devices = self._checked_devices(address, answer, claimed=True)
        return {"address": address, "devices": devices}

    async def _call(self, destination: str, method: str, path: str,
                    body: dict[str, Any] | None = None) -> Any:
        try:
            return await self.client.request(destination, method, path, body)
        except Exception as exc:  # noqa: BLE001 - reported to the client as unavailable
            code = getattr(exc, "code", "") or "REMOTE_UNAVAILABLE"
            status = getattr(exc, "status", 0)
            if status == 404:
                raise Forbidden(f"{destination} does not know that account",
                                code="UNKNOWN_ACCOUNT", status=404) from None
            if isinstance(exc, DeniedRemote):  # our own policy: nothing was sent
                raise Forbidden(str(DestinationDenied(destination)), code=code) from None
            if status == 403:  # refused by the peer (BLOCKED, ORIGIN_DENIED): say so
                raise Forbidden(f"{destination} refuses this: {exc}", code=code) from None
            raise Unavailable(f"cannot reach {destination}: {exc}", code=code) from None

    def _checked_devices(self, address: str, answer: Any,
                         claimed: bool = False) -> list[dict[str, Any]]:
        devices = answer.get("devices") if isinstance(answer, dict) else None
        if not isinstance(devices, list) or len(devices) > MAX_DEVICES:
            raise Unavailable(f"{server_of(address)} sent a malformed device list",
                              code="REMOTE_MALFORMED")
        out = []
        for device in devices:
            try:
                keycheck.check_bundle(device, address, claimed)
            except BadRequest as exc:
                log.warning("dropping a device of %s with bad keys: %s", address, exc.message)
                continue
            out.append(device)
        return out


# --- inbound ---------------------------------------------------------------------------

def check_items(origin: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The transaction's items; every author must live on ``origin`` (else the whole
    transaction is refused). A malformed item does not sink the others: it is answered
    INVALID_ITEM on its own (``item_problem``)."""
    items = body.get("items")
    if not isinstance(items, list) or not 0 < len(items) <= MAX_ITEMS:
        raise BadRequest(f"items must be a list of 1 to {MAX_ITEMS} items",
                         code="INVALID_TRANSACTION")
    for item in items:
        author = item.get(AUTHOR.get(_kind(item), "")) if isinstance(item, dict) else None
        if isinstance(author, str) and server_of(author).lower() != origin.lower() \
                and author.count("@") == 1:
            raise Forbidden(f"{author[:320]} does not live on {origin}",
                            code="SENDER_NOT_ON_ORIGIN")
    return items


AUTHOR = {"message": "sender", "receipt": "by"}


def _kind(item: dict[str, Any]) -> str:
    kind = item.get("kind")
    return kind if isinstance(kind, str) else ""


def _short_str(value: Any, limit: int = 64) -> bool:
    """An id: 1..``limit`` characters, no whitespace, control, bidi or surrogate."""
    return isinstance(value, str) and 0 < len(value) <= limit and is_clean_id(value)


def _ts(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def item_problem(origin: str, item: Any) -> str | None:
    """Why an item cannot be taken (None when it is well formed)."""
    if not isinstance(item, dict) or _kind(item) not in AUTHOR:
        return "every item is an object of kind message or receipt"
    bad = bad_text_path(item)
    if bad is not None:
        return f"{bad} is not valid Unicode text"
    for key in (AUTHOR[item["kind"]], "to"):
        value = item.get(key)
        if not isinstance(value, str) or len(value) > 320:
            return f"{key} must be an address"
        try:
            split_address(value)
        except BadRequest as exc:
            return exc.message
        if value != value.lower():  # one spelling per address (blocks, conversations)
            return f"{key} must be written in lower case"
    if server_of(item[AUTHOR[item["kind"]]]) != origin:
        return "the author does not live on the origin"
    if not (_short_str(item.get("message_id")) and _ts(item.get("ts"))):
        return "message_id (1-64 visible characters) and ts (ms) are required"
    if item["kind"] == "receipt":
        if item.get("receipt") != "delivered" or not _short_str(item.get("device")):
            return "a receipt is delivered, with the device that got the message"
        return None
    envelopes = item.get("envelopes")
    if not (_short_str(item.get("sender_device")) and isinstance(envelopes, dict)
            and 0 < len(envelopes) <= MAX_DEVICES
            and all(_short_str(k) and isinstance(v, str) and 0 < len(v) <= 64 * 1024
                    for k, v in envelopes.items())):
        return f"a message needs sender_device and 1 to {MAX_DEVICES} envelopes"
    if item.get("repair", False) is not True and "repair" in item:
        return "repair is true when present"
    return None


@dataclass
class _Delivered:
    """What a transaction stored: device wake-ups and the items that went in."""

    pks: list[int]
    messages: list[dict[str, Any]]
    receipts: list[dict[str, Any]]


def _deliver_item_txn(db: Any, server_name: str, business: str, origin: str,
                      item: dict[str, Any], now: int, done: _Delivered) -> dict[str, Any]:
    problem = item_problem(origin, item)
    if problem is not None:
        return {"error": "INVALID_ITEM", "message": problem}
    to = item["to"]
    if server_of(to) != server_name or account_store.get_account(db, to) is None:
        return {"error": "UNKNOWN_ACCOUNT"}
    if business_store.is_blocked_txn(db, item[AUTHOR[item["kind"]]]):
        return {"error": "BLOCKED"}  # refused at the door: nothing of it is stored
    if item["kind"] == "receipt":
        payload = {k: item[k] for k in ("receipt", "message_id", "by", "device", "ts")}
        events = receipt_events(db, to, business, payload)
        message_store.append_events_txn(db, events, now)
        done.pks += [e[0] for e in events]
        done.receipts.append(payload)
        return {}
    devices = team.devices(db, to, business)
    payload = {k: item[k] for k in ("message_id", "sender", "sender_device", "to", "ts")}
    events = [(devices[d], "message", item["message_id"], {**payload, "ciphertext": c})
              for d, c in item["envelopes"].items() if d in devices]
    message_store.record_message_txn(db, item["message_id"], item["sender"],
                                     item["sender_device"], to, now)
    message_store.append_events_txn(db, events, now)
    done.pks += [e[0] for e in events]
    repair = item.get("repair") is True  # completes an earlier item: only the named devices
    if not repair:
        done.messages.append(payload)
    missing = [] if repair else sorted(set(devices) - set(item["envelopes"]))
    extra = sorted(set(item["envelopes"]) - set(devices))
    if missing or extra:
        return {"error": "DEVICE_MISMATCH", "missing": missing, "extra": extra}
    return {}


def _receive_txn(db: Any, server_name: str, business: str, origin: str, txn_id: str,
                 digest: str, items: list[Any], now: int) -> tuple[dict[str, Any], _Delivered]:
    done = _Delivered([], [], [])
    previous = fed_store.get_inbound_txn(db, origin, txn_id)
    if previous is not None:
        if previous[0] != digest:
            raise Conflict("transaction id reused with a different body", code="TXN_CONFLICT")
        return previous[1], done
    results = [_deliver_item_txn(db, server_name, business, origin, item, now, done)
               for item in items]
    response = {"results": results}
    fed_store.record_inbound_txn(db, origin, txn_id, digest, response, now)
    return response, done


async def receive_transaction(db: Database, notifier: Notifier, hooks: Hooks,
                              server_name: str, business: str, origin: str, txn_id: str,
                              body: dict[str, Any]) -> dict[str, Any]:
    """Store an inbound transaction once; answer only after the commit."""
    items = check_items(origin, body)
    now = now_ms()
    response, done = await db.write(_receive_txn, server_name, business, origin, txn_id,
                                    body_hash(body), items, now)
    notifier.notify(done.pks)
    # Hooks see only what was stored, stamped with our clock, not the peer's.
    for item in done.messages:
        await hooks.fire("message.stored", sender=item["sender"], to=item["to"],
                         message_id=item["message_id"], sender_device=item["sender_device"],
                         ts=now)
    for receipt in done.receipts:
        await hooks.fire("receipt.delivered", message_id=receipt["message_id"],
                         by=receipt["by"], device=receipt["device"], ts=now)
    return response
