"""What a WebSocket push costs: a pushed batch is followed by a wait, not by a read
that finds nothing (one read of the stream per wake-up), and events that commit while
a batch is being sent are pushed next, none lost or repeated."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

import aiohttp

from node.appkeys import ACCOUNTS, DB, MESSAGING
from node.services import accounts, messaging
from tests.api.helpers import call, keyed_device, send_to
from tests.nodes import RunningNode, eventually


def _pk(node: RunningNode, device_id: str) -> int:
    with sqlite3.connect(node.config.database_path) as conn:
        return int(conn.execute("SELECT pk FROM devices WHERE device_id = ?",
                                [device_id]).fetchone()[0])


async def _pushed(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    frame = await asyncio.wait_for(ws.receive_json(), 10)
    assert frame["type"] == "events", frame
    return list(frame["events"])


async def test_a_push_is_followed_by_a_wait_not_an_empty_read(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    notifier, reads = node.app[MESSAGING].notifier, node.app[DB].reads
    bob_pk = _pk(node, bob["device_id"])
    url = node.url + "/_kontor/client/v1/ws?since=0"
    headers = {"Authorization": f"Bearer {bob['access_token']}"}
    async with http.ws_connect(url, headers=headers) as ws:
        async def waiting() -> bool:
            return notifier.waiting(bob_pk) == 1
        await eventually(waiting, what="the pusher waiting")
        before = reads["events_after"]  # the first read found nothing
        for n in range(5):
            await send_to(http, node.url, anna, bob, f"t{n}")
            assert len(await _pushed(ws)) == 1
            # (the waiter outlives the batch, so this holds at once; before, it held
            # only after the read that found nothing, which the count then shows)
            await eventually(waiting, what="the pusher waiting again")
        assert reads["events_after"] - before == 5, "one read per message pushed"


async def test_events_committed_during_pushes_all_arrive_once(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    url = node.url + "/_kontor/client/v1/ws?since=0"
    headers = {"Authorization": f"Bearer {bob['access_token']}"}
    n, got = 40, []
    async with http.ws_connect(url, headers=headers) as ws:
        await asyncio.gather(*(send_to(http, node.url, anna, bob, f"t{i}") for i in range(n)))
        for _ in range(n):  # bounded: at most one frame per message
            got += await _pushed(ws)
            if len(got) >= n:
                break
    ids = [e["message_id"] for e in got]
    assert len(ids) == n == len(set(ids))
    assert [e["pos"] for e in got] == sorted(e["pos"] for e in got)


async def test_an_ack_of_what_was_pushed_writes_at_once_and_a_repeat_only_reads(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    """An ack of events this socket pushed goes straight to its write (the look for a
    repeat would find something to delete); a repeat, or an ack beyond what was
    pushed, is looked at first and writes nothing."""
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    reads, writes = node.app[DB].reads, node.app[DB].writes
    url = node.url + "/_kontor/client/v1/ws?since=0"
    headers = {"Authorization": f"Bearer {bob['access_token']}"}

    async def acked(ws: aiohttp.ClientWebSocketResponse, up_to: int) -> None:
        await ws.send_json({"type": "ack", "up_to": up_to})
        await ws.send_json({"type": "nonsense"})  # answered after the ack was handled
        answer = await asyncio.wait_for(ws.receive_json(), 10)
        assert answer["error"]["code"] == "INVALID_MESSAGE"

    async with http.ws_connect(url, headers=headers) as ws:
        await send_to(http, node.url, anna, bob, "t1")
        pos = (await _pushed(ws))[-1]["pos"]
        await acked(ws, pos)
        assert (reads["_nothing_new"], writes["_ack_txn"]) == (0, 1)
        _, got = await call(http, node.url, "GET", "/sync?since=0", anna["access_token"])
        assert [e["type"] for e in got["events"]].count("receipt") == 1

        await acked(ws, pos)
        assert (reads["_nothing_new"], writes["_ack_txn"]) == (1, 1), "a repeat"
        await acked(ws, pos + 1000)
        assert (reads["_nothing_new"], writes["_ack_txn"]) == (2, 1), "beyond the pushed"

        await send_to(http, node.url, anna, bob, "t2")
        pos = (await _pushed(ws))[-1]["pos"]
        await acked(ws, pos)
        assert (reads["_nothing_new"], writes["_ack_txn"]) == (2, 2)


async def test_acks_between_pushed_events_cost_no_write(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    """Positions are the node's, shared by every device: between two of bob's events
    lie other devices' ones. An ack that covers none of bob's pushed events left (one
    past the first he acknowledged) is looked at and writes nothing, so a device
    cannot buy a write with every position of the gap."""
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    carl = await keyed_device(http, node.url, "carl")
    writes = node.app[DB].writes
    url = node.url + "/_kontor/client/v1/ws?since=0"
    headers = {"Authorization": f"Bearer {bob['access_token']}"}
    async with http.ws_connect(url, headers=headers) as ws:
        await send_to(http, node.url, anna, bob, "t1")
        first = (await _pushed(ws))[-1]["pos"]
        for n in range(3):
            await send_to(http, node.url, anna, carl, f"c{n}")
        await send_to(http, node.url, anna, bob, "t2")
        second = (await _pushed(ws))[-1]["pos"]
        assert second > first + 3
        before = writes["_ack_txn"]
        for up_to in (first, first + 1, first + 2, second - 1):
            await ws.send_json({"type": "ack", "up_to": up_to})
        await ws.send_json({"type": "nonsense"})  # answered after the acks were handled
        answer = await asyncio.wait_for(ws.receive_json(), 10)
        assert answer["error"]["code"] == "INVALID_MESSAGE"
        assert writes["_ack_txn"] - before == 1, "only the ack that covered an event"


async def test_a_commit_while_a_batch_is_held_wakes_the_next_read(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    """The pusher is held at its batch (as while a large frame is compressed and sent)
    when the next event commits: that event comes at once, not after the idle wait."""
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    who = await accounts.authenticate(node.app[ACCOUNTS], bob["access_token"])
    first = await send_to(http, node.url, anna, bob, "t1")
    batches = messaging.pushes(node.app[MESSAGING], who, 0, None, idle_seconds=60)
    async with contextlib.aclosing(batches):
        held = await asyncio.wait_for(anext(batches), 5)
        assert [e["message_id"] for e in held["events"]] == [first["message_id"]]
        second = await send_to(http, node.url, anna, bob, "t2")  # commits while held
        woken = await asyncio.wait_for(anext(batches), 5)  # (the idle wait is 60 s)
        assert [e["message_id"] for e in woken["events"]] == [second["message_id"]]


async def test_a_full_page_is_followed_at_once_and_another_epoch_hears_at_once(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    """More events than a batch holds come in batches one after the other; a device
    from another epoch gets a batch at once from the start, with the node's epoch."""
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    n = messaging.PUSH_LIMIT + 20
    for i in range(n):
        await send_to(http, node.url, anna, bob, f"t{i}")
    headers = {"Authorization": f"Bearer {bob['access_token']}"}
    base = node.url + "/_kontor/client/v1/ws"
    async with http.ws_connect(base + "?since=0", headers=headers) as ws:
        batches = [await _pushed(ws), await _pushed(ws)]
    assert [len(b) for b in batches] == [messaging.PUSH_LIMIT, 20]

    # Past the last position, but of another epoch: the stream starts again from 0.
    last = batches[1][-1]["pos"]
    async with http.ws_connect(f"{base}?since={last}&epoch=other", headers=headers) as ws:
        frame = await asyncio.wait_for(ws.receive_json(), 10)  # (the idle wait is 25 s)
    assert frame["epoch"] == node.app[MESSAGING].epoch
    assert [e["pos"] for e in frame["events"]] == [e["pos"] for e in batches[0]]


def _last_seen(node: RunningNode, pk: int, shift_ms: int = 0) -> int:
    """The device's ``last_seen_ms`` (after moving it ``shift_ms`` back, when given)."""
    with sqlite3.connect(node.config.database_path) as conn:
        conn.execute("UPDATE devices SET last_seen_ms = last_seen_ms - ? WHERE pk = ?",
                     [shift_ms, pk])
        return int(conn.execute("SELECT last_seen_ms FROM devices WHERE pk = ?",
                                [pk]).fetchone()[0])


async def test_an_ack_rewrites_last_seen_at_most_once_a_minute(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    """Every ack that deletes events is a write, but the device row is rewritten (a page
    of the transaction dirtied) only when its ``last_seen_ms`` is a minute old."""
    anna = await keyed_device(http, node.url, "anna")
    bob = await keyed_device(http, node.url, "bob")
    pk = _pk(node, bob["device_id"])

    async def ack_one(txn: str) -> None:
        await send_to(http, node.url, anna, bob, txn)
        _, got = await call(http, node.url, "GET", "/sync", bob["access_token"])
        status, _ = await call(http, node.url, "POST", "/sync/ack", bob["access_token"],
                               {"up_to": got["next"]})
        assert status == 200 and got["events"]

    writes, seen = node.app[DB].writes["_ack_txn"], _last_seen(node, pk, 1_000)
    await ack_one("t1")  # seen a second ago: left as it is
    assert node.app[DB].writes["_ack_txn"] == writes + 1 and _last_seen(node, pk) == seen
    stale = _last_seen(node, pk, messaging.SEEN_EVERY_MS)
    await ack_one("t2")  # a minute ago: rewritten
    assert _last_seen(node, pk) >= stale + messaging.SEEN_EVERY_MS
