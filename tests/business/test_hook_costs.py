"""The business hooks open no write transaction when a message or receipt is not theirs."""

from __future__ import annotations

import aiohttp

from node.services.business import stats
from tests.api.helpers import call
from tests.business.helpers import biz, customer, customer_sends, fire_message, team_member
from tests.nodes import RunningNode

HOOK_WRITES = ("_on_message_txn", "_delivered_txn")  # what the two hooks write with


async def test_hooks_with_nothing_to_do_write_nothing(node: RunningNode,
                                                      http: aiohttp.ClientSession) -> None:
    carl = await customer(node, http, "carl")
    dora = await customer(node, http, "dora")
    anna = await team_member(node, http, "anna", "agent")
    business, db = biz(node).address, biz(node).db

    def hook_writes() -> list[int]:
        return [db.writes[name] for name in HOOK_WRITES]
    before = hook_writes()
    status, sent = await call(http, node.url, "PUT", "/send/plain-1", carl["access_token"], {
        "to": dora["address"], "envelopes": {dora["address"]: {dora["device_id"]: "QQ"}}})
    assert status == 200, sent
    _, got = await call(http, node.url, "GET", "/sync", dora["access_token"])
    status, _ = await call(http, node.url, "POST", "/sync/ack", dora["access_token"],
                           {"up_to": got["next"]})
    assert status == 200
    # The core's hooks ran for that send and its receipt; the same payloads again, and
    # a team member writing to the business address.
    await fire_message(node, carl["address"], dora["address"], sent["message_id"], sent["ts"])
    await fire_message(node, anna["address"], business, "team-note-1", sent["ts"])
    await stats.on_receipt_delivered(biz(node), message_id=sent["message_id"], ts=sent["ts"])
    assert hook_writes() == before
    # A business message is still logged, in a write of its own, and counted once delivered.
    incoming = await customer_sends(node, http, carl, "to-shop-1")
    assert hook_writes() == [before[0] + 1, before[1]]
    await fire_message(node, business, carl["address"], "reply-1", incoming["ts"])
    await stats.on_receipt_delivered(biz(node), message_id="reply-1", ts=incoming["ts"])
    assert hook_writes() == [before[0] + 2, before[1] + 1]
    await stats.on_receipt_delivered(biz(node), message_id="reply-1", ts=incoming["ts"])
    assert hook_writes() == [before[0] + 2, before[1] + 1]  # delivered already
