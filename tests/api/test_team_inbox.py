"""The team inbox: every admin and agent device answers for the business address."""

from __future__ import annotations

import aiohttp

from node.appkeys import AUTOMATION, DB
from node.services import accounts
from tests.api.helpers import call, keyed_device
from tests.nodes import RunningNode


async def team_member(node: RunningNode, http: aiohttp.ClientSession, name: str,
                      role: str) -> dict:
    address = accounts.make_address(name, node.config.node.server_name)
    await accounts.create_account(node.app[DB], address, role, "correct horse battery")
    return await keyed_device(http, node.url, name, login_only=True)


async def test_customer_writes_to_business_and_every_agent_device_answers(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    business = node.config.business_address
    anna = await team_member(node, http, "anna", "agent")
    boss = await team_member(node, http, "boss", "admin")
    carl = await keyed_device(http, node.url, "carl")

    status, listed = await call(http, node.url, "GET", f"/keys/devices/{business}",
                                carl["access_token"])
    assert status == 200
    by_device = {d["device_id"]: d for d in listed["devices"]}
    robot = node.app[AUTOMATION].client.device_id  # the node's automation device
    assert set(by_device) == {anna["device_id"], boss["device_id"], robot}
    assert "account" not in by_device[robot], "it is the business account's own device"
    assert by_device[anna["device_id"]]["account"] == anna["address"]
    assert by_device[anna["device_id"]]["device_keys"]["address"] == anna["address"]

    status, sent = await call(http, node.url, "PUT", "/send/c1", carl["access_token"], {
        "to": business, "envelopes": {business: {anna["device_id"]: "QQ",
                                                 boss["device_id"]: "Qg", robot: "Qh"}}})
    assert status == 200, sent
    for member, text in ((anna, "QQ"), (boss, "Qg")):
        _, got = await call(http, node.url, "GET", "/sync", member["access_token"])
        [event] = [e for e in got["events"] if e["type"] == "message"]
        assert event["sender"] == carl["address"] and event["to"] == business
        assert event["ciphertext"] == text

    # A customer cannot speak as the business.
    status, err = await call(http, node.url, "PUT", "/send/c2", carl["access_token"], {
        "from": business, "to": anna["address"],
        "envelopes": {anna["address"]: {anna["device_id"]: "QQ"}}})
    assert status == 403 and err["error"]["code"] == "CANNOT_SEND_AS"

    # Anna answers as the business, and the rest of the team must get a copy.
    status, err = await call(http, node.url, "PUT", "/send/a1", anna["access_token"], {
        "from": business, "to": carl["address"],
        "envelopes": {carl["address"]: {carl["device_id"]: "Qw"}}})
    assert status == 409
    assert err["error"]["missing"] == {business: sorted([boss["device_id"], robot])}
    status, reply = await call(http, node.url, "PUT", "/send/a1", anna["access_token"], {
        "from": business, "to": carl["address"],
        "envelopes": {carl["address"]: {carl["device_id"]: "Qw"},
                      business: {boss["device_id"]: "RA", robot: "RB"}}})
    assert status == 200, reply
    _, carl_sync = await call(http, node.url, "GET", "/sync", carl["access_token"])
    [event] = [e for e in carl_sync["events"] if e["type"] == "message"]
    assert event["sender"] == business and event["sender_device"] == anna["device_id"]
    _, got = await call(http, node.url, "GET", "/sync?since=1", boss["access_token"])
    copy = [e for e in got["events"] if e.get("message_id") == reply["message_id"]]
    assert copy and copy[0]["ciphertext"] == "RA" and copy[0]["to"] == carl["address"]

    # Carl's acknowledgement reaches every team device as a delivered receipt.
    await call(http, node.url, "POST", "/sync/ack", carl["access_token"],
               {"up_to": carl_sync["next"]})
    for member in (anna, boss):
        _, got = await call(http, node.url, "GET", "/sync", member["access_token"])
        receipts = [e for e in got["events"] if e["type"] == "receipt"]
        assert [(r["message_id"], r["by"]) for r in receipts] == [
            (reply["message_id"], carl["address"])]


async def test_team_members_talk_to_each_other_as_themselves(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    anna = await team_member(node, http, "anna", "agent")
    boss = await team_member(node, http, "boss", "admin")
    status, sent = await call(http, node.url, "PUT", "/send/i1", anna["access_token"], {
        "to": boss["address"], "envelopes": {boss["address"]: {boss["device_id"]: "SQ"}}})
    assert status == 200, sent
    _, got = await call(http, node.url, "GET", "/sync", boss["access_token"])
    assert got["events"][0]["sender"] == anna["address"]


async def test_the_automation_device_keeps_its_keys_private(node: RunningNode) -> None:
    folder = node.config.data_dir / "automation"
    assert folder.stat().st_mode & 0o777 == 0o700
    for name in ("device.store", "passphrase"):
        assert (folder / name).stat().st_mode & 0o777 == 0o600, name
    device = node.app[AUTOMATION].client
    assert device.address == node.config.business_address and device.role == "automation"
