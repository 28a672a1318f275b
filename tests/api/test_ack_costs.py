"""What an acknowledgement costs: one that deletes nothing (a repeat, over HTTP or the
WebSocket) opens no write transaction, sends no second receipt, and one that deletes
something still writes, with its receipts."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from node.appkeys import DB
from tests.api.helpers import call, keyed_device, send_to
from tests.nodes import RunningNode


async def _receipts(http: aiohttp.ClientSession, node: RunningNode,
                    who: dict[str, Any]) -> list[dict[str, Any]]:
    _, got = await call(http, node.url, "GET", "/sync?since=0", who["access_token"])
    return [e for e in got["events"] if e["type"] == "receipt"]


async def test_a_repeated_ack_writes_nothing(node: RunningNode,
                                            http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    writes = node.app[DB].writes
    await send_to(http, node.url, anna, bob, "t1")
    _, got = await call(http, node.url, "GET", "/sync?since=0", bob["access_token"])
    ack = {"up_to": got["next"]}
    status, _ = await call(http, node.url, "POST", "/sync/ack", bob["access_token"], ack)
    assert status == 200
    acked = writes["_ack_txn"]
    assert len(await _receipts(http, node, anna)) == 1

    status, _ = await call(http, node.url, "POST", "/sync/ack", bob["access_token"], ack)
    assert status == 200 and writes["_ack_txn"] == acked, "a repeat over HTTP"
    url = node.url + "/_kontor/client/v1/ws?since=" + str(got["next"])
    headers = {"Authorization": f"Bearer {bob['access_token']}"}
    async with http.ws_connect(url, headers=headers) as ws:
        await ws.send_json({"type": "ack", "up_to": got["next"]})
        await ws.send_json({"type": "nonsense"})  # answered after the ack was handled
        answer = await asyncio.wait_for(ws.receive_json(), 10)
        assert answer["error"]["code"] == "INVALID_MESSAGE"
    assert writes["_ack_txn"] == acked, "a repeat over the WebSocket"
    assert len(await _receipts(http, node, anna)) == 1, "no second receipt"

    await send_to(http, node.url, anna, bob, "t2")
    _, got = await call(http, node.url, "GET", f"/sync?since={ack['up_to']}",
                        bob["access_token"])
    status, _ = await call(http, node.url, "POST", "/sync/ack", bob["access_token"],
                           {"up_to": got["next"]})
    assert status == 200 and writes["_ack_txn"] == acked + 1, "something new: a write"
    assert len(await _receipts(http, node, anna)) == 2
