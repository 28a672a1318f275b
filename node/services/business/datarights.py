"""Data rights: export everything the node holds about one customer, or erase it.

Export gathers the conversation record (labels, notes), orders, automation marks, the
business message log and response-time samples that name the customer, blocks, and
from messaging and federation the message metadata, queued events (ids and sizes, no
ciphertext), outbox items, media and send records, plus the account and its devices
when the customer is local.

Erasure removes all of that in one transaction (the account too, when local: its
devices, keys and queue go with it), with the team's sealed history copies of the
conversation (and the customer's own history), and tells every team device (an
``erased`` event) so that its SDK deletes its local copies; then it deletes the
customer's media files. Each table's owner removes its own rows (``erase_customer_txn``
of the business store, ``erase_address_txn`` of messaging's and federation's); this
module only composes them. Daily counters stay: they name no one. A block on exactly
this address is lifted with the rest (a server block stays). The business's team
cannot be erased this way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from federation import storage as fed_store
from node.errors import InvalidParameter
from node.protocol.names import server_of
from node.services import automation_device, erasure_log, history, remote_devices
from node.services.accounts import Requester, now_ms
from node.services.business import conversations
from node.services.business import validate as v
from node.services.business.context import Business, require_admin
from node.services.media import blob_path
from node.storage import accounts as account_store
from node.storage import business as store
from node.storage import messages as message_store

log = logging.getLogger("kontor.business.datarights")


def _local_account(db: Any, biz: Business, address: str) -> dict[str, Any] | None:
    if server_of(address) != biz.server_name:
        return None
    account = account_store.get_account(db, address)
    if account is None:
        return None
    devices = [{"device_id": d["device_id"], "name": d["name"], "created_ms": d["created_ms"],
                "last_seen_ms": d["last_seen_ms"], "has_keys": bool(d["has_keys"])}
               for d in account_store.list_devices(db, address)]
    return {"address": address, "role": account["role"], "created_ms": account["created_ms"],
            "devices": devices}


def _export_read(db: Any, biz: Business, address: str) -> dict[str, Any]:
    records = store.customer_records(db, address)
    conversation = records.pop("conversation")
    held = message_store.address_records(db, address)
    federated = fed_store.address_records(db, address)
    return {
        "address": address, "exported_ms": now_ms(), "server_name": biz.server_name,
        "conversation": conversations.to_json(conversation) if conversation else None,
        **records,
        "messages": held["messages"], "queued_events": held["queued_events"],
        "outbox": federated["outbox"], "media": held["media"],
        "send_txns": held["send_txns"],
        "account": _local_account(db, biz, address),
        "remote_devices": remote_devices.exported(db, address),
    }


def _customer(value: Any) -> str:
    return v.address(value, "address")


async def export(biz: Business, who: Requester | None, address: Any) -> dict[str, Any]:
    """Everything about ``address``; ``who`` None is the operator's CLI."""
    if who is not None:
        require_admin(who)
    return await biz.db.read_heavy(_export_read, biz, _customer(address))


def _forget_offline(biz: Business) -> Forget:
    async def forget(customer: str) -> int:
        return await asyncio.to_thread(automation_device.forget_customer, biz.config, customer)
    return forget


def _erase_txn(db: Any, biz: Business, address: str) -> dict[str, Any]:
    if conversations.is_team(db, biz.address, address):
        raise InvalidParameter(f"{address} is on the business's team; remove it with "
                               "kontor account tools instead", code="CANNOT_ERASE")
    logged, removed = store.erase_customer_txn(db, address)
    media, held = message_store.erase_address_txn(db, address, logged)
    removed |= held | fed_store.erase_address_txn(db, address)
    removed["invites"] = account_store.forget_invite_use_txn(db, address)
    removed = {k: n for k, n in removed.items() if n}
    removed["history_copies"], told = history.erase_conversation_txn(
        db, biz.address, address, now_ms())
    if _local_account(db, biz, address) is not None:
        account_store.delete_account_txn(db, address)
        removed["account"] = 1
    # told: the team devices that delete their local copies
    return {"media": media, "removed": removed, "told": told}


Forget = Callable[[str], Awaitable[int]]


async def erase(biz: Business, who: Requester | None, address: Any,
                forget: Forget | None = None) -> dict[str, Any]:
    """Remove everything about ``address``; returns what was removed, per kind, and
    whether the write-ahead log was truncated after it (``log_truncated``: False when
    it stayed busy, so old copies of the erased rows stay in it until a checkpoint
    starts it over; erasing again later truncates it).

    ``forget`` clears the customer from the automation device's store: the running
    device's own (so that it cannot write the customer back), or, from the CLI, the
    store file opened here."""
    if who is not None:
        require_admin(who)
    customer = _customer(address)
    result = await biz.db.write(_erase_txn, biz, customer)
    biz.notifier.notify(result.pop("told"))
    # Beside the database, so that a restore from an older backup erases them again.
    await asyncio.to_thread(erasure_log.record, biz.config, customer, now_ms())
    biz.notifier.check_revocations()  # the erased account's sockets close at once
    truncated = await biz.db.checkpoint()  # no old copy of the erased rows stays in the log
    files = 0
    for media_id in result["media"]:
        path = blob_path(biz.config.data_dir, media_id)
        if path.exists():
            path.unlink()
            files += 1
    try:
        result["removed"]["automation_device"] = await (forget or _forget_offline(biz))(
            customer)
    except (automation_device.DeviceStoreError, OSError) as exc:
        # the rest is erased; say what was not
        log.error("could not clear %s from the automation device: %s", customer, exc)
        result["removed"]["automation_device_failed"] = str(exc)[:200]
    removed = result["removed"]
    if files:
        removed["media_files"] = files
    return {"address": customer, "removed": removed, "log_truncated": truncated}
