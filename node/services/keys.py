"""Device key documents: upload, listing and atomic one-time prekey claims.

The node checks every document's signatures (``node.services.keycheck``) before it
stores it, so a client that fetches keys from the node gets only documents their
device signed; clients still verify them themselves, since the node is not trusted with
identities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.errors import Conflict, InvalidParameter, NotFound
from node.services import history, keycheck, team
from node.services.accounts import Requester, now_ms
from node.services.notifier import Notifier
from node.storage import accounts as store
from node.storage.db import Database

MAX_PREKEYS_PER_UPLOAD = 200
MAX_PREKEYS_STORED = 1000


@dataclass(frozen=True)
class Keys:
    """The key service of a running node (built once in ``create_app``): its database,
    the notifier that tells an account's other devices of a new one, and the business
    address (whose team devices answer for it)."""

    db: Database
    notifier: Notifier
    business: str


@dataclass(frozen=True)
class KeyUpload:
    """What one ``PUT /keys`` brings: identity keys, a signed prekey, one-time prekeys."""

    device_keys: dict[str, Any] | None
    signed_prekey: dict[str, Any] | None
    prekeys: list[tuple[str, dict[str, Any]]]  # (prekey id, document)


def _upload_txn(db: Any, who: Requester, business: str,
                up: KeyUpload) -> tuple[int, list[int]]:
    device_keys, signed_prekey, prekeys = up.device_keys, up.signed_prekey, up.prekeys
    current, _ = store.get_device_keys(db, who.device_pk)
    if device_keys is not None and current is not None and current != device_keys:
        raise Conflict("this device already has identity keys; log in as a new device to "
                       "use new ones", code="KEYS_EXIST")
    identity = device_keys or current
    if identity is None and (signed_prekey is not None or prekeys):
        raise InvalidParameter("upload device_keys before prekeys", code="INVALID_KEYS")
    if signed_prekey is not None or prekeys:
        device = keycheck.check_device_keys(identity, who.address, who.device_id)
        if signed_prekey is not None:
            keycheck.check_signed_prekey(signed_prekey, device)
        for _, doc in prekeys:
            keycheck.check_one_time_prekey(doc, device)
    store.set_device_keys_txn(db, who.device_pk, device_keys, signed_prekey)
    held = store.count_one_time_prekeys(db, who.device_pk)
    if held + len(prekeys) > MAX_PREKEYS_STORED:
        raise InvalidParameter(f"a device holds at most {MAX_PREKEYS_STORED} one-time "
                               "prekeys", code="TOO_MANY_PREKEYS")
    told: list[int] = []
    if current is None and device_keys is not None:  # a new device: tell the others
        told = history.announce_device_txn(db, business, who, _device_name(db, who), now_ms())
    return store.add_one_time_prekeys_txn(db, who.device_pk, prekeys), told


def _device_name(db: Any, who: Requester) -> str:
    return next((d["name"] for d in store.list_devices(db, who.address)
                 if d["pk"] == who.device_pk), "")


async def upload(k: Keys, who: Requester, body: dict[str, Any]) -> dict[str, int]:
    """Store the device's identity, signed prekey and new one-time prekeys, each checked
    for valid signatures first."""
    device_keys = body.get("device_keys")
    if device_keys is not None:
        keycheck.check_device_keys(device_keys, who.address, who.device_id)
    signed_prekey = body.get("signed_prekey")
    raw_prekeys = body.get("one_time_prekeys") or []
    if not isinstance(raw_prekeys, list) or len(raw_prekeys) > MAX_PREKEYS_PER_UPLOAD:
        raise InvalidParameter(f"one_time_prekeys is a list of at most "
                               f"{MAX_PREKEYS_PER_UPLOAD}", code="TOO_MANY_PREKEYS")
    prekeys = [(keycheck.prekey_id(doc), doc) for doc in raw_prekeys]
    count, told = await k.db.write(_upload_txn, who, k.business,
                                   KeyUpload(device_keys, signed_prekey, prekeys))
    k.notifier.notify(told)
    return {"one_time_prekeys": count}


async def count(k: Keys, who: Requester) -> dict[str, int]:
    return {"one_time_prekeys": await k.db.read(store.count_one_time_prekeys, who.device_pk)}


def _entry(db: Any, device_id: str, pk: int, account: str, address: str) -> dict[str, Any]:
    device_keys, signed_prekey = store.get_device_keys(db, pk)
    entry = {"device_id": device_id, "device_keys": device_keys,
             "signed_prekey": signed_prekey}
    if account != address:
        entry["account"] = account  # a team member's device answering for the business
    return entry


def _devices_of(db: Any, address: str, business: str) -> list[dict[str, Any]]:
    return [_entry(db, device_id, pk, account, address)
            for device_id, pk, account in team.listed_devices(db, address, business)]


async def device_list(k: Keys, address: str) -> dict[str, Any]:
    """Every device of a local account that has keys, with its bundle (no prekey); for
    the business address, every team device."""
    if await k.db.read(store.get_account, address) is None:
        raise NotFound(f"no account {address}", code="UNKNOWN_ACCOUNT")
    return {"address": address, "devices": await k.db.read(_devices_of, address, k.business)}


def _claim_txn(db: Any, address: str, business: str,
               device_ids: list[str] | None) -> list[dict[str, Any]]:
    out = []
    for device_id, pk, account in team.listed_devices(db, address, business):
        if device_ids is not None and device_id not in device_ids:
            continue
        entry = _entry(db, device_id, pk, account, address)
        entry["one_time_prekey"] = store.claim_one_time_prekey_txn(db, pk)
        out.append(entry)
    return out


async def claim(k: Keys, address: str, device_ids: list[str] | None) -> dict[str, Any]:
    """Bundles of a local account's devices, each with one one-time prekey taken."""
    if await k.db.read(store.get_account, address) is None:
        raise NotFound(f"no account {address}", code="UNKNOWN_ACCOUNT")
    return {"address": address,
            "devices": await k.db.write(_claim_txn, address, k.business, device_ids)}
