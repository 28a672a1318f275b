"""Sending, syncing, acknowledging and receipts over real HTTP and WebSocket."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.api.helpers import call, keyed_device
from tests.nodes import RunningNode, eventually


def envelope(session: dict[str, Any], text: str = "Q2lwaGVy") -> dict[str, dict[str, str]]:
    return {session["address"]: {session["device_id"]: text}}


async def test_send_sync_ack_and_delivered_receipt(node: RunningNode,
                                                   http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    status, sent = await call(http, node.url, "PUT", "/send/t1", anna["access_token"],
                              {"to": bob["address"], "envelopes": envelope(bob)})
    assert status == 200, sent
    status, got = await call(http, node.url, "GET", "/sync?since=0", bob["access_token"])
    assert status == 200
    [event] = got["events"]
    assert event["type"] == "message" and event["message_id"] == sent["message_id"]
    assert event["sender"] == anna["address"] and event["ciphertext"] == "Q2lwaGVy"
    # Anna's stream does not contain Bob's events, and Bob's token reads only Bob's stream.
    status, own = await call(http, node.url, "GET", "/sync?since=0", anna["access_token"])
    assert own["events"] == []
    status, _ = await call(http, node.url, "POST", "/sync/ack", bob["access_token"],
                           {"up_to": got["next"]})
    assert status == 200
    status, after = await call(http, node.url, "GET", "/sync?since=0", bob["access_token"])
    assert after["events"] == [], "acknowledged events are deleted"
    status, receipts = await call(http, node.url, "GET", "/sync?since=0", anna["access_token"])
    [receipt] = receipts["events"]
    assert receipt["type"] == "receipt" and receipt["receipt"] == "delivered"
    assert receipt["message_id"] == sent["message_id"] and receipt["by"] == bob["address"]


async def test_envelopes_must_cover_exactly_the_devices(node: RunningNode,
                                                        http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    anna2 = await keyed_device(http, node.url, "anna", login_only=True)
    bob = await keyed_device(http, node.url, "bob")
    status, err = await call(http, node.url, "PUT", "/send/t1", anna["access_token"],
                             {"to": bob["address"], "envelopes": {
                                 bob["address"]: {bob["device_id"]: "AA", "ghost": "AA"}}})
    assert status == 409 and err["error"]["code"] == "DEVICE_MISMATCH"
    assert err["error"]["missing"] == {anna["address"]: [anna2["device_id"]]}
    assert err["error"]["extra"] == {bob["address"]: ["ghost"]}
    status, got = await call(http, node.url, "GET", "/sync", bob["access_token"])
    assert got["events"] == [], "nothing is stored on a mismatch"
    full = {**envelope(bob), **envelope(anna2)}
    status, sent = await call(http, node.url, "PUT", "/send/t1", anna["access_token"],
                              {"to": bob["address"], "envelopes": full})
    assert status == 200, sent
    status, copy = await call(http, node.url, "GET", "/sync", anna2["access_token"])
    assert [e["message_id"] for e in copy["events"]] == [sent["message_id"]]
    assert copy["events"][0]["to"] == bob["address"]


async def test_txn_ids_are_idempotent(node: RunningNode, http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    body = {"to": bob["address"], "envelopes": envelope(bob)}
    first = await call(http, node.url, "PUT", "/send/same", anna["access_token"], body)
    again = await call(http, node.url, "PUT", "/send/same", anna["access_token"], body)
    assert first == again and first[0] == 200
    status, got = await call(http, node.url, "GET", "/sync", bob["access_token"])
    assert len(got["events"]) == 1, "a retried transaction is stored once"
    changed = {"to": bob["address"], "envelopes": envelope(bob, "T3RoZXI")}
    status, err = await call(http, node.url, "PUT", "/send/same", anna["access_token"],
                             changed)
    assert status == 409 and err["error"]["code"] == "TXN_CONFLICT"


async def test_long_poll_wakes_on_a_new_message(node: RunningNode,
                                                http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    poll = asyncio.create_task(call(http, node.url, "GET", "/sync?since=0&timeout=20000",
                                    bob["access_token"]))
    await waiting_for(node, bob)  # the poll is parked: the send must wake it
    status, sent = await call(http, node.url, "PUT", "/send/t1", anna["access_token"],
                              {"to": bob["address"], "envelopes": envelope(bob)})
    status, got = await asyncio.wait_for(poll, 10)
    assert [e["message_id"] for e in got["events"]] == [sent["message_id"]]


async def test_websocket_push_and_ack(node: RunningNode, http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    url = node.url + "/_kontor/client/v1/ws?since=0"
    headers = {"Authorization": f"Bearer {bob['access_token']}"}
    async with http.ws_connect(url, headers=headers) as ws:
        ids = []
        for i in range(3):
            status, sent = await call(http, node.url, "PUT", f"/send/w{i}",
                                      anna["access_token"],
                                      {"to": bob["address"], "envelopes": envelope(bob)})
            ids.append(sent["message_id"])
        seen: list[str] = []
        last = 0
        while len(seen) < 3:
            msg = await asyncio.wait_for(ws.receive_json(), 10)
            assert msg["type"] == "events"
            seen += [e["message_id"] for e in msg["events"]]
            last = msg["next"]
        assert seen == ids, "pushed in order, each once"
        await ws.send_json({"type": "ack", "up_to": last})

        async def receipts() -> list[dict[str, Any]] | None:
            _, got = await call(http, node.url, "GET", "/sync", anna["access_token"])
            return got["events"] if len(got["events"]) == 3 else None
        got = await eventually(receipts, what="three delivered receipts")
        assert {e["message_id"] for e in got} == set(ids)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url)
    assert refused.value.status == 401


async def test_websocket_token_as_subprotocol(node: RunningNode,
                                             http: aiohttp.ClientSession) -> None:
    """Browsers cannot set Authorization on a WebSocket: the token rides as a subprotocol."""
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    url = node.url + "/_kontor/client/v1/ws?since=0"
    protocols = ("kontor.v1", "kontor-bearer." + bob["access_token"])
    async with http.ws_connect(url, protocols=protocols) as ws:
        assert ws.protocol == "kontor.v1"
        status, sent = await call(http, node.url, "PUT", "/send/p1", anna["access_token"],
                                  {"to": bob["address"], "envelopes": envelope(bob)})
        msg = await asyncio.wait_for(ws.receive_json(), 10)
        assert [e["message_id"] for e in msg["events"]] == [sent["message_id"]]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url, protocols=("kontor.v1", "kontor-bearer.ki_wrong"))
    assert refused.value.status == 401


async def test_offline_device_catches_up(node: RunningNode,
                                         http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    ids = []
    for i in range(120):
        status, sent = await call(http, node.url, "PUT", f"/send/o{i}", anna["access_token"],
                                  {"to": bob["address"], "envelopes": envelope(bob)})
        ids.append(sent["message_id"])
    received: list[str] = []
    since = 0
    for _ in range(10):
        _, got = await call(http, node.url, "GET", f"/sync?since={since}&limit=50",
                            bob["access_token"])
        if not got["events"]:
            break
        received += [e["message_id"] for e in got["events"]]
        since = got["next"]
    assert received == ids


async def test_retention_removes_undelivered_ciphertext_after_its_days(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    from node.appkeys import DB
    from node.services import retention

    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    status, _ = await call(http, node.url, "PUT", "/send/r1", anna["access_token"],
                           {"to": bob["address"], "envelopes": envelope(bob)})
    assert status == 200
    db = node.app[DB]
    assert (await retention.sweep(db, node.config))["events"] == 0, "fresh ciphertext stays"
    days = node.config.retention.undelivered_days
    later = retention.now_ms() + (days + 1) * retention.DAY_MS
    removed = await retention.sweep(db, node.config, now=later)
    assert removed["events"] == 1 and removed["send_txns"] == 1
    _, got = await call(http, node.url, "GET", "/sync", bob["access_token"])
    assert got["events"] == []


async def waiting_for(node: RunningNode, session: dict[str, Any]) -> None:
    """Until a request of ``session``'s device waits for events (long-poll or socket)."""
    from node.appkeys import DB, NOTIFIER
    from node.storage import accounts as account_store

    pks = await node.app[DB].read(account_store.keyed_device_ids, session["address"])
    pk = pks[session["device_id"]]

    async def parked() -> bool | None:
        return True if node.app[NOTIFIER].waiting(pk) else None
    await eventually(parked, timeout=10, what="the long-poll to wait")
