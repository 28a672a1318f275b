"""The team's accounts, devices and invites, run by the business's admins from their app
(``/business/team``, ``/business/invites``): what ``kontor account``, ``kontor device``
and ``kontor invite`` do at the node's shell, for the team only.

Removing an account or revoking a device goes through ``accounts`` (the erasure log
notes it, so a restore removes it again) and ends the device's waiting requests and
sockets at once (401/close ``DEVICE_REVOKED``). An admin cannot remove their own account
(another admin or the operator can), and customers are not the team's to remove: their
data goes with ``DELETE /business/customers/{address}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.config import Config
from node.errors import Conflict, InvalidParameter, NotFound
from node.protocol.names import TEAM_ROLES
from node.services import accounts
from node.services.accounts import Requester, now_ms
from node.services.business.context import require_admin
from node.services.notifier import Notifier
from node.storage import accounts as store
from node.storage.db import Database

DAY_MS = 24 * 3600 * 1000
MAX_INVITE_DAYS = 90


@dataclass(frozen=True)
class TeamAdmin:
    """What the team's administration needs of the running node."""

    db: Database
    config: Config
    notifier: Notifier


def _team_read(db: Any) -> list[dict[str, Any]]:
    members = [a for a in store.list_accounts(db) if a["role"] in TEAM_ROLES]
    return [{"address": a["address"], "role": a["role"], "created_ms": a["created_ms"],
             "devices": [_device(d) for d in store.list_devices(db, a["address"])]}
            for a in members]


def _device(d: dict[str, Any]) -> dict[str, Any]:
    return {"device_id": d["device_id"], "name": d["name"], "created_ms": d["created_ms"],
            "last_seen_ms": d["last_seen_ms"], "has_keys": bool(d["has_keys"])}


async def team(t: TeamAdmin, who: Requester) -> dict[str, Any]:
    """The admins and agents with their devices (``current`` marks the caller's)."""
    require_admin(who)
    members = await t.db.read(_team_read)
    for member in members:
        for d in member["devices"]:
            d["current"] = member["address"] == who.address and d["device_id"] == who.device_id
    return {"members": members}


async def _member(t: TeamAdmin, address: str) -> list[dict[str, Any]]:
    """The devices of the team account ``address``; 404 for anything else."""
    account = await t.db.read(store.get_account, address)
    if account is None:
        raise NotFound(f"no account {address}", code="UNKNOWN_ACCOUNT")
    if account["role"] not in TEAM_ROLES:
        raise Conflict(f"{address} is not on the team (a {account['role']} account); a "
                       "customer's data is erased with DELETE /business/customers/{address}",
                       code="NOT_TEAM")
    return list(await t.db.read(store.list_devices, address))


async def remove_member(t: TeamAdmin, who: Requester, address: str) -> dict[str, Any]:
    """Delete a team account with its devices; its devices are told DEVICE_REVOKED."""
    require_admin(who)
    address = accounts.make_address(address, t.config.node.server_name)
    if address == who.address:
        raise Conflict("you cannot remove your own account; another admin or the operator "
                       "(kontor account remove) can", code="CANNOT_REMOVE_SELF")
    devices = await _member(t, address)
    await accounts.remove_account(t.db, address, t.config)
    t.notifier.revoke([d["pk"] for d in devices])
    return {"address": address, "removed_devices": len(devices)}


async def revoke_member_device(t: TeamAdmin, who: Requester, address: str,
                               device_id: str) -> dict[str, Any]:
    """Log one device of a team account out (its token, keys and queue go)."""
    require_admin(who)
    address = accounts.make_address(address, t.config.node.server_name)
    devices = {d["device_id"]: d for d in await _member(t, address)}
    if device_id not in devices:
        raise NotFound(f"{address} has no device {device_id}", code="UNKNOWN_DEVICE")
    await accounts.revoke_device(t.db, address, device_id, t.config)
    t.notifier.revoke([devices[device_id]["pk"]])
    return {"address": address, "device_id": device_id}


def _check_invites_on(config: Config) -> None:
    mode = config.accounts.registration
    if mode != "invite":
        raise Conflict(f"registration on this node is {mode!r}: an invite works only with "
                       "[accounts] registration = invite in the node's config (ask its "
                       "operator)", code="INVITES_OFF")


async def create_invite(t: TeamAdmin, who: Requester, role: str, days: int) -> dict[str, Any]:
    """A one-time registration token for ``role``, valid ``days``; shown once."""
    require_admin(who)
    _check_invites_on(t.config)
    if not 1 <= days <= MAX_INVITE_DAYS:
        raise InvalidParameter(f"days must be 1 to {MAX_INVITE_DAYS}")
    token = await accounts.create_invite(t.db, role, days * DAY_MS)
    invite_id = accounts.token_hash(token)[:store.INVITE_ID_CHARS]
    now = now_ms()
    listed = [i for i in await t.db.read(store.list_invites) if i["invite_id"] == invite_id]
    made = listed[0] if listed else {  # not among the listed ones: what was just stored
        "invite_id": invite_id, "role": role, "created_ms": now,
        "expires_ms": now + days * DAY_MS, "used_by": None}
    return {**_invite(made, now), "token": token}


def _invite(row: dict[str, Any], now: int) -> dict[str, Any]:
    used = row["used_by"] is not None
    state = "used" if used else "expired" if row["expires_ms"] <= now else "open"
    return {"invite_id": row["invite_id"], "role": row["role"], "created_ms": row["created_ms"],
            "expires_ms": row["expires_ms"], "state": state, "used_by": row["used_by"] or None}


async def invites(t: TeamAdmin, who: Requester) -> dict[str, Any]:
    """Every invite (newest first, at most 1000) by id and state; never a token."""
    require_admin(who)
    now = now_ms()
    return {"registration": t.config.accounts.registration,
            "invites": [_invite(r, now) for r in await t.db.read(store.list_invites)]}


async def revoke_invite(t: TeamAdmin, who: Requester, invite_id: str) -> dict[str, Any]:
    """Withdraw an unused invite; a used one is 404 (its account is on the team list)."""
    require_admin(who)
    if not await t.db.write(store.delete_unused_invite_txn, invite_id):
        raise NotFound(f"no unused invite {invite_id}", code="UNKNOWN_INVITE")
    return {"invite_id": invite_id}
