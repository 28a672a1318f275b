"""The team's administration by its admins over the client API: the team with its
devices, revoking a device and removing an account (their requests end with
DEVICE_REVOKED at once), and one-time invites (create, list, use once, withdraw), which
work only when the node registers by invite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.api.helpers import call, login
from tests.business.helpers import B, biz, customer, team_member
from tests.nodes import RunningNode, running_node, write_config


@pytest.fixture
async def invite_node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    ini = write_config(tmp_path / "inv", sections={
        "accounts": {"registration": "invite"}, "business": {"account": "shop"}})
    async with running_node(ini) as running:
        yield running


async def test_admins_see_the_team_and_revoke_a_device(node: RunningNode,
                                                       http: aiohttp.ClientSession) -> None:
    boss = await team_member(node, http, "boss", "admin")
    anna = await team_member(node, http, "anna", "agent")
    anna2 = await login(http, node.url, "anna")
    carl = await customer(node, http, "carl")
    status, listed = await call(http, node.url, "GET", B + "/team", boss["access_token"])
    assert status == 200, listed
    members = {m["address"]: m for m in listed["members"]}
    assert set(members) == {boss["address"], anna["address"]}  # no customer, no business
    assert members[anna["address"]]["role"] == "agent"
    assert [d["device_id"] for d in members[anna["address"]]["devices"]] == [
        anna["device_id"], anna2["device_id"]]
    assert [d["current"] for d in members[boss["address"]]["devices"]] == [True]
    for who in (anna, carl):
        status, err = await call(http, node.url, "GET", B + "/team", who["access_token"])
        assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")

    # Anna's first device waits on its stream; revoking it ends that request at once.
    waiting = asyncio.create_task(call(http, node.url, "GET", "/sync?timeout=25000",
                                       anna["access_token"]))
    path = f"{B}/team/{anna['address']}/devices/{anna['device_id']}"
    status, err = await call(http, node.url, "DELETE", path, anna2["access_token"])
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    status, done = await call(http, node.url, "DELETE", path, boss["access_token"])
    assert (status, done) == (200, {"address": anna["address"], "device_id": anna["device_id"]})
    async with asyncio.timeout(10):
        status, err = await waiting
    assert (status, err["error"]["code"]) == (401, "DEVICE_REVOKED")
    status, err = await call(http, node.url, "GET", "/account", anna["access_token"])
    assert (status, err["error"]["code"]) == (401, "DEVICE_REVOKED")
    status, _ = await call(http, node.url, "GET", "/account", anna2["access_token"])
    assert status == 200, "the other device stays"

    for target, expected in (
            (path, (404, "UNKNOWN_DEVICE")),
            (f"{B}/team/{carl['address']}/devices/{carl['device_id']}", (409, "NOT_TEAM")),
            (f"{B}/team/nobody/devices/ABC", (404, "UNKNOWN_ACCOUNT")),
            (f"{B}/team/anna/devices/no%20spaces", (400, "INVALID_PARAMETER")),
            (f"{B}/team/anna@elsewhere.example/devices/ABC", (400, "NOT_LOCAL"))):
        status, err = await call(http, node.url, "DELETE", target, boss["access_token"])
        assert (status, err["error"]["code"]) == expected, target
    status, _ = await call(http, node.url, "GET", "/account", carl["access_token"])
    assert status == 200, "a refused request changed nothing"

    status, err = await call(http, node.url, "POST", B + "/invites", boss["access_token"],
                             {"role": "agent"})
    assert (status, err["error"]["code"]) == (409, "INVITES_OFF")
    assert "registration = invite" in err["error"]["message"]


async def test_an_admin_removes_a_team_account(node: RunningNode,
                                               http: aiohttp.ClientSession) -> None:
    boss = await team_member(node, http, "boss", "admin")
    anna = await team_member(node, http, "anna", "agent")
    carl = await customer(node, http, "carl")
    token = boss["access_token"]
    for address, expected in ((boss["address"], (409, "CANNOT_REMOVE_SELF")),
                              (carl["address"], (409, "NOT_TEAM")),
                              (biz(node).address, (409, "NOT_TEAM")),
                              ("nobody", (404, "UNKNOWN_ACCOUNT"))):
        status, err = await call(http, node.url, "DELETE", f"{B}/team/{address}", token)
        assert (status, err["error"]["code"]) == expected, address
    status, err = await call(http, node.url, "DELETE", f"{B}/team/{boss['address']}",
                             anna["access_token"])
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")

    status, done = await call(http, node.url, "DELETE", f"{B}/team/anna", token)
    assert (status, done) == (200, {"address": anna["address"], "removed_devices": 1})
    status, err = await call(http, node.url, "GET", "/account", anna["access_token"])
    assert (status, err["error"]["code"]) == (401, "DEVICE_REVOKED")
    status, listed = await call(http, node.url, "GET", B + "/team", token)
    assert [m["address"] for m in listed["members"]] == [boss["address"]]
    status, _ = await call(http, node.url, "POST", "/login", body={
        "username": "anna", "password": "correct horse battery"})
    assert status == 401


async def test_invites_are_made_used_once_and_withdrawn(invite_node: RunningNode,
                                                        http: aiohttp.ClientSession) -> None:
    node = invite_node
    boss = await team_member(node, http, "boss", "admin")
    token = boss["access_token"]
    status, made = await call(http, node.url, "POST", B + "/invites", token,
                              {"role": "agent", "days": 3})
    assert status == 200, made
    assert made["token"].startswith("ki_") and (made["role"], made["state"]) == ("agent", "open")
    assert made["expires_ms"] - made["created_ms"] == 3 * 24 * 3600 * 1000
    status, listed = await call(http, node.url, "GET", B + "/invites", token)
    assert listed["registration"] == "invite"
    assert [(i["invite_id"], i["state"]) for i in listed["invites"]] == [
        (made["invite_id"], "open")]
    assert "token" not in listed["invites"][0]

    register = {"username": "dora", "password": "correct horse battery",
                "invite": made["token"], "device_name": "Chromium on Linux"}
    status, dora = await call(http, node.url, "POST", "/register", body=register)
    assert (status, dora["role"]) == (200, "agent"), dora
    status, again = await call(http, node.url, "POST", "/register",
                               body={**register, "username": "eve"})
    assert (status, again["error"]["code"]) == (403, "INVALID_INVITE")
    status, listed = await call(http, node.url, "GET", B + "/invites", token)
    assert [(i["state"], i["used_by"]) for i in listed["invites"]] == [("used", dora["address"])]
    status, err = await call(http, node.url, "DELETE", f"{B}/invites/{made['invite_id']}", token)
    assert (status, err["error"]["code"]) == (404, "UNKNOWN_INVITE"), "a used one stays"

    status, second = await call(http, node.url, "POST", B + "/invites", token, {})
    assert (status, second["role"]) == (200, "agent")
    status, err = await call(http, node.url, "DELETE", f"{B}/invites/{second['invite_id']}",
                             dora["access_token"])
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    status, done = await call(http, node.url, "DELETE", f"{B}/invites/{second['invite_id']}",
                              token)
    assert (status, done) == (200, {"invite_id": second["invite_id"]})
    status, err = await call(http, node.url, "POST", "/register",
                             body={**register, "username": "eve", "invite": second["token"]})
    assert (status, err["error"]["code"]) == (403, "INVALID_INVITE")

    for body, code in (({"role": "automation"}, "INVALID_ROLE"), ({"days": 0}, "INVALID_PARAMETER"),
                       ({"days": 91}, "INVALID_PARAMETER"), ({"days": "7"}, "INVALID_PARAMETER"),
                       ({"colour": "red"}, "UNKNOWN_FIELD")):
        status, err = await call(http, node.url, "POST", B + "/invites", token, body)
        assert (status, err["error"]["code"]) == (400, code), body
    for bad in ("nothex", "ABCDEF0123456789"):
        status, err = await call(http, node.url, "DELETE", f"{B}/invites/{bad}", token)
        assert (status, err["error"]["code"]) == (400, "INVALID_PARAMETER"), bad
    status, err = await call(http, node.url, "POST", B + "/invites", dora["access_token"],
                             {"role": "admin"})
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    status, listed = await call(http, node.url, "GET", B + "/invites", token)
    assert [i["state"] for i in listed["invites"]] == ["used"], "refusals made nothing"
