"""Helpers for business tests: team members, customers, and real sends both ways."""

from __future__ import annotations

from typing import Any

import aiohttp

from node.appkeys import BUSINESS, DB, HOOKS
from node.services import accounts
from node.services.business.context import Business
from tests.api.helpers import call, keyed_device
from tests.nodes import RunningNode

B = "/business"


def biz(node: RunningNode) -> Business:
    return node.app[BUSINESS]


async def team_member(node: RunningNode, http: aiohttp.ClientSession, name: str,
                      role: str = "agent") -> dict[str, Any]:
    """An admin or agent account with one keyed device, logged in."""
    address = accounts.make_address(name, node.config.node.server_name)
    await accounts.create_account(node.app[DB], address, role, "correct horse battery")
    return await keyed_device(http, node.url, name, login_only=True)


async def customer(node: RunningNode, http: aiohttp.ClientSession,
                   name: str) -> dict[str, Any]:
    """A self-registered customer with one keyed device."""
    return await keyed_device(http, node.url, name)


async def team_device_ids(node: RunningNode, http: aiohttp.ClientSession,
                          token: str) -> list[str]:
    status, listed = await call(http, node.url, "GET",
                                f"/keys/devices/{biz(node).address}", token)
    assert status == 200, listed
    return [d["device_id"] for d in listed["devices"]]


async def customer_sends(node: RunningNode, http: aiohttp.ClientSession,
                         who: dict[str, Any], txn: str) -> dict[str, Any]:
    """``who`` writes to the business address, one envelope per team device."""
    business = biz(node).address
    devices = await team_device_ids(node, http, who["access_token"])
    status, sent = await call(http, node.url, "PUT", f"/send/{txn}", who["access_token"], {
        "to": business, "envelopes": {business: {d: "QQ" for d in devices}}})
    assert status == 200, sent
    return sent


async def business_replies(node: RunningNode, http: aiohttp.ClientSession,
                           agent: dict[str, Any], to: dict[str, Any],
                           txn: str) -> dict[str, Any]:
    """``agent`` answers ``to`` as the business; the rest of the team gets copies."""
    business = biz(node).address
    others = [d for d in await team_device_ids(node, http, agent["access_token"])
              if d != agent["device_id"]]
    envelopes = {to["address"]: {to["device_id"]: "Qg"}}
    if others:
        envelopes[business] = {d: "Qw" for d in others}
    status, sent = await call(http, node.url, "PUT", f"/send/{txn}", agent["access_token"],
                              {"from": business, "to": to["address"], "envelopes": envelopes})
    assert status == 200, sent
    return sent


async def fire_message(node: RunningNode, sender: str, to: str, message_id: str, ts: int,
                       sender_device: str = "DEV") -> None:
    """Run the ``message.stored`` transaction hooks (the business inbox) in a write, as
    the core runs them inside the write that stores a message, then their after-commit
    work."""
    hooks = node.app[HOOKS]
    after = await node.app[DB].write(hooks.run_txn, "message.stored", sender=sender, to=to,
                                     message_id=message_id, sender_device=sender_device,
                                     ts=ts)
    hooks.after_commit(after)
