"""History on every new device: who holds an owner's history key, and sealed copies.

The node never sees a history key nor a plaintext. It keeps, per *owner* (a customer's
or person's account; for team devices the business address), the numbered epochs of
the owner's history key, which devices were given which epoch's key, and the sealed
copies devices upload (``crypto/history.py``). It enforces:

- who may hold a key: the owner's own devices (for the business: its admins' and
  agents' devices, never the node's automation device);
- who may give it to a new device: any holder of the account's key for an account; for
  the team as ``[business] history_approval`` says (``admin``: an admin's device;
  ``team``: any team device that holds the key). The key itself travels end to end, as
  a ratchet message the node only forwards (a ``history_keys`` event);
- rotation: once a device that held the current epoch's key is removed, no copy is
  taken for that epoch any more (409 ``HISTORY_KEY_ROTATION``) until a remaining
  holder starts the next epoch and gives its key to the other remaining holders;
- only a device that was given a key may read the sealed copies.

A new device that uploads its keys is announced (``device_added``) to the owner's
other devices, so people see "a new device was added" and can approve it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from crypto.encoding import b64encode
from node.errors import Conflict, Forbidden, NotFound
from node.protocol.names import TEAM_ROLES, Role
from node.services import team
from node.services.accounts import Requester, now_ms
from node.services.notifier import Notifier
from node.storage import history as store
from node.storage import messages as message_store
from node.storage.db import Database

MAX_ITEMS_PER_PUT = 100
MAX_PAGE = 200


@dataclass(frozen=True)
class History:
    """What history needs: the database, wake-ups, the business and its policy."""

    db: Database
    notifier: Notifier
    business: str
    approval: str = "admin"


def owner_of(who: Requester, business: str) -> str:
    """The owner whose history a device keeps: the business for team devices."""
    return business if who.role in TEAM_ROLES else who.address


def members(db: Any, owner: str, business: str) -> dict[str, tuple[int, str]]:
    """Device id -> (pk, account) of the devices that may hold the owner's key."""
    if owner == business:
        return {d: (pk, account) for d, pk, account in team.listed_devices(db, owner, business)
                if account != business}  # the automation device never holds it
    return {d: (pk, owner) for d, pk in team.devices(db, owner, business).items()}


def _member(db: Any, h: History, who: Requester) -> str:
    owner = owner_of(who, h.business)
    if who.device_id not in members(db, owner, h.business):
        raise Forbidden("this device cannot keep history (it has no keys, or it is the "
                        "business's automation device)", code="HISTORY_FORBIDDEN")
    return owner


def _rotation_due(db: Any, owner: str, epoch: int, business: str) -> bool:
    """A device given the epoch's key is no longer a member: removed, or its account
    left the team (an agent removed or made a customer)."""
    current = {pk for pk, _ in members(db, owner, business).values()}
    return not set(store.holders(db, owner, epoch)) <= current


def _orphaned(db: Any, owner: str, epoch: int, business: str) -> bool:
    """No device that may hold the owner's key holds the current epoch's any more (all
    its holders were removed): a device allowed to approve may start the next epoch."""
    current = {pk for pk, _ in members(db, owner, business).values()}
    return epoch > 0 and not set(store.holders(db, owner, epoch)) & current


def _may_approve(db: Any, h: History, who: Requester, owner: str) -> bool:
    if owner != h.business or h.approval == "team":
        return True
    return who.role == Role.ADMIN


def state_read(db: Any, h: History, who: Requester) -> dict[str, Any]:
    owner = _member(db, h, who)
    epoch = store.current_epoch(db, owner)
    held = store.held_epochs(db, owner, who.device_pk)
    return {"owner": owner, "epoch": epoch, "held": held,
            "rotate": epoch > 0 and _rotation_due(db, owner, epoch, h.business),
            "restart": _orphaned(db, owner, epoch, h.business),
            "may_approve": _may_approve(db, h, who, owner),
            "approval": h.approval if owner == h.business else "account"}


def devices_read(db: Any, h: History, who: Requester) -> dict[str, Any]:
    """The owner's devices and which epochs' keys each was given."""
    owner = _member(db, h, who)
    epoch = store.current_epoch(db, owner)
    out = []
    for device_id, (pk, account) in sorted(members(db, owner, h.business).items()):
        held = store.held_epochs(db, owner, pk)
        out.append({"device_id": device_id, "account": account, "epochs": held,
                    "current": epoch in held})
    return {"owner": owner, "epoch": epoch, "devices": out}


def _start_epoch_txn(db: Any, h: History, who: Requester, epoch: int,
                     now: int) -> dict[str, Any]:
    owner = _member(db, h, who)
    current = store.current_epoch(db, owner)
    if epoch != current + 1:
        raise Conflict(f"the current epoch is {current}; the next one is {current + 1}",
                       code="EPOCH_EXISTS", details={"epoch": current})
    restart = current == 0 or _orphaned(db, owner, current, h.business)
    if restart and not _may_approve(db, h, who, owner):
        raise Forbidden("only an admin's device may start the team's history",
                        code="HISTORY_FORBIDDEN")
    if not restart and current not in store.held_epochs(db, owner, who.device_pk):
        raise Forbidden("only a device holding the current key may start the next one",
                        code="HISTORY_FORBIDDEN")
    store.create_epoch_txn(db, owner, epoch, who.device_pk, now)
    return {"owner": owner, "epoch": epoch}


def _give_keys_txn(db: Any, h: History, who: Requester, target: str, epochs: list[int],
                   ciphertext: str, now: int) -> tuple[dict[str, Any], list[int]]:
    owner = _member(db, h, who)
    device = members(db, owner, h.business).get(target)
    if device is None or target == who.device_id:
        raise NotFound(f"{target} is not another device of {owner}", code="UNKNOWN_DEVICE")
    mine = set(store.held_epochs(db, owner, who.device_pk))
    if not epochs or not set(epochs) <= mine:
        raise Forbidden("a device can give only the keys it was given", code="NOT_HELD")
    if not store.held_epochs(db, owner, device[0]) and not _may_approve(db, h, who, owner):
        raise Forbidden("[business] history_approval = admin: only an admin's device may "
                        "approve a new team device", code="APPROVAL_REFUSED")
    store.grant_txn(db, owner, sorted(epochs), device[0], who.device_pk, now)
    payload = {"owner": owner, "sender": owner, "sender_device": who.device_id,
               "sender_account": who.address, "to": owner, "epochs": sorted(epochs),
               "ciphertext": ciphertext, "ts": now}
    message_store.append_events_txn(db, [(device[0], "history_keys", None, payload)], now)
    return {"owner": owner, "device_id": target, "epochs": sorted(epochs)}, [device[0]]


def _put_items_txn(db: Any, h: History, who: Requester, items: list[dict[str, Any]],
                   now: int) -> dict[str, Any]:
    owner = _member(db, h, who)
    epoch = store.current_epoch(db, owner)
    if epoch == 0 or epoch not in store.held_epochs(db, owner, who.device_pk):
        raise Conflict("this device does not hold the current history key",
                       code="HISTORY_KEY_MISSING", details={"epoch": epoch})
    if _rotation_due(db, owner, epoch, h.business):
        raise Conflict("a device that held this history key was removed: start the next "
                       "epoch first", code="HISTORY_KEY_ROTATION", details={"epoch": epoch})
    stale = [i["item_id"] for i in items if i["epoch"] != epoch]
    if stale:
        raise Conflict(f"copies must be sealed to the current epoch {epoch}",
                       code="STALE_EPOCH", details={"epoch": epoch})
    return {"stored": store.put_items_txn(db, owner, items, now), "epoch": epoch}


def items_read(db: Any, h: History, who: Requester, conversation: str | None,
               before: tuple[int, str] | None, limit: int) -> dict[str, Any]:
    owner = _member(db, h, who)
    if not store.held_epochs(db, owner, who.device_pk):
        raise Forbidden("this device was not approved for the history yet",
                        code="NOT_APPROVED")
    items = store.items_before(db, owner, conversation, before, limit)
    last = items[-1] if len(items) == limit else None
    return {"owner": owner, "items": items,
            "next": f"{last['ts']}.{last['item_id']}" if last else None}


def announce_device_txn(db: Any, business: str, who: Requester, name: str,
                        now: int) -> list[int]:
    """Tell the owner's other devices (and the account's own) that a device was added."""
    owner = owner_of(who, business)
    targets = {pk for d, (pk, _) in members(db, owner, business).items()
               if d != who.device_id}
    targets |= {pk for d, pk in team.devices(db, who.address, business).items()
                if d != who.device_id}
    payload = {"owner": owner, "address": who.address, "device_id": who.device_id,
               "name": name, "ts": now}
    events = [(pk, "device_added", None, payload) for pk in sorted(targets)]
    return message_store.append_events_txn(db, events, now)


def erase_conversation_txn(db: Any, business: str, customer: str, now: int
                           ) -> tuple[int, list[int]]:
    """Delete the team's sealed copies of a customer's conversation (and the customer's
    own history when it is an account here), and tell every team device to delete its
    local copies. Returns (copies removed, device pks told)."""
    removed = store.erase_conversation_txn(db, business, customer)
    removed += store.erase_owner_txn(db, customer)
    # Not the address itself: after an erase no row names the customer. Devices hash
    # their peers' addresses to find it; the event is gone once acknowledged.
    digest = b64encode(hashlib.sha256(customer.encode()).digest())
    payload = {"conversation_sha256": digest, "ts": now}
    events = [(pk, "erased", None, payload)
              for _, pk, _ in team.listed_devices(db, business, business)]
    return removed, message_store.append_events_txn(db, events, now)


async def state(h: History, who: Requester) -> dict[str, Any]:
    return await h.db.read(state_read, h, who)


async def devices(h: History, who: Requester) -> dict[str, Any]:
    return await h.db.read(devices_read, h, who)


async def start_epoch(h: History, who: Requester, epoch: int) -> dict[str, Any]:
    return await h.db.write(_start_epoch_txn, h, who, epoch, now_ms())


async def give_keys(h: History, who: Requester, target: str, epochs: list[int],
                    ciphertext: str) -> dict[str, Any]:
    answer, pks = await h.db.write(_give_keys_txn, h, who, target, epochs, ciphertext,
                                   now_ms())
    h.notifier.notify(pks)
    return answer


async def put_items(h: History, who: Requester, items: list[dict[str, Any]]
                    ) -> dict[str, Any]:
    return await h.db.write(_put_items_txn, h, who, items, now_ms())


async def items(h: History, who: Requester, conversation: str | None,
                before: tuple[int, str] | None, limit: int) -> dict[str, Any]:
    return await h.db.read(items_read, h, who, conversation, before, limit)
