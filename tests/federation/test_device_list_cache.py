"""One owner of remote device lists (``node.services.remote_devices``), on the wire:
concurrent device-list requests and sends for one remote address cost one federation
fetch, a fresh list is answered without asking the peer, a stale mark (the peer's
``DEVICE_MISMATCH``) makes the next request fetch anew, and an unreachable peer's
address is answered with the last verified list marked stale."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from node.appkeys import DB
from tests.api.helpers import call, keyed_device
from tests.dnsserver import DnsServer
from tests.federation.network import node_config, start_nodes
from tests.nodes import RunningNode, eventually, running_node

DEVICES_PATH = "/_kontor/federation/v1/devices/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _counted_node(stack: AsyncExitStack, dns: DnsServer, tmp_path: Path,
                        name: str, seen: list[str]) -> RunningNode:
    """A node that notes every federation device-list request it is asked."""
    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(DEVICES_PATH):
            seen.append(request.path)
        return await handler(request)

    def customise(app: web.Application) -> None:
        app.middlewares.append(count)

    return await stack.enter_async_context(
        running_node(node_config(dns, tmp_path, name), customise))


async def _list(http: aiohttp.ClientSession, a: str, token: str) -> dict[str, Any]:
    status, body = await call(http, a, "GET", "/keys/devices/bob@b.test", token)
    assert status == 200, body
    return body


def _ids(listed: dict[str, Any]) -> list[str]:
    return sorted(d["device_id"] for d in listed["devices"])


async def _changed(http: aiohttp.ClientSession, a: str, token: str,
                   count: int) -> list[dict[str, Any]] | None:
    status, body = await call(http, a, "GET", "/sync?since=0&limit=500", token)
    assert status == 200, body
    changed = [e for e in body["events"] if e["type"] == "devices_changed"]
    return changed if len(changed) >= count else None


async def test_concurrent_lists_and_sends_cost_one_fetch(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        dns = stack.enter_context(DnsServer())
        seen: list[str] = []
        a = (await start_nodes(stack, dns, tmp_path, ["a"]))["a"].url
        b = (await _counted_node(stack, dns, tmp_path, "b", seen)).url
        http = await stack.enter_async_context(aiohttp.ClientSession())
        carl = (await keyed_device(http, a, "carl"))["access_token"]
        bob1 = (await keyed_device(http, b, "bob"))["device_id"]

        n = 8
        lists = [_list(http, a, carl) for _ in range(n)]
        sends = [call(http, a, "PUT", f"/send/t{i}", carl, {
            "to": "bob@b.test", "envelopes": {"bob@b.test": {bob1: "AAAA"}}})
            for i in range(n)]
        answers = await asyncio.gather(*lists, *sends)
        assert [_ids(listed) for listed in answers[:n]] == [[bob1]] * n
        assert all(status == 200 for status, _ in answers[n:]), answers[n:]
        assert len(seen) == 1, f"one federation fetch for {2 * n} requests, not {seen}"

        # Fresh: asked again, the list comes from the cache.
        assert _ids(await _list(http, a, carl)) == [bob1]
        assert len(seen) == 1


async def test_a_stale_mark_refetches_and_an_unreachable_peer_answers_stale(
        tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        dns = stack.enter_context(DnsServer())
        seen: list[str] = []
        a = (await start_nodes(stack, dns, tmp_path, ["a"]))["a"].url
        b_stack = await stack.enter_async_context(AsyncExitStack())
        b = (await _counted_node(b_stack, dns, tmp_path, "b", seen)).url
        http = await stack.enter_async_context(aiohttp.ClientSession())
        carl = (await keyed_device(http, a, "carl"))["access_token"]
        bob1 = (await keyed_device(http, b, "bob"))["device_id"]
        assert _ids(await _list(http, a, carl)) == [bob1] and len(seen) == 1

        bob2 = (await keyed_device(http, b, "bob", login_only=True))["device_id"]
        assert _ids(await _list(http, a, carl)) == [bob1], "fresh: a does not ask yet"
        assert len(seen) == 1
        status, body = await call(http, a, "PUT", "/send/t1", carl, {
            "to": "bob@b.test", "envelopes": {"bob@b.test": {bob1: "AAAA"}}})
        assert status == 200, body
        await eventually(lambda: _changed(http, a, carl, 1), timeout=20,
                         what="b's DEVICE_MISMATCH as devices_changed")
        assert _ids(await _list(http, a, carl)) == sorted([bob1, bob2]), "fetched anew"
        assert len(seen) == 2

        await keyed_device(http, b, "bob", login_only=True)  # a third device, unseen
        status, body = await call(http, a, "PUT", "/send/t2", carl, {
            "to": "bob@b.test", "envelopes": {"bob@b.test": {bob1: "BBBB", bob2: "CCCC"}}})
        assert status == 200, body
        await eventually(lambda: _changed(http, a, carl, 2), timeout=20,
                         what="the second devices_changed")
        await b_stack.aclose()  # b is gone; its last verified list is what a has

        listed = await _list(http, a, carl)
        assert _ids(listed) == sorted([bob1, bob2]) and listed["stale"] is True
        status, body = await call(http, a, "PUT", "/send/t3", carl, {
            "to": "bob@b.test", "envelopes": {"bob@b.test": {bob1: "DDDD", bob2: "EEEE"}}})
        assert status == 200, body  # queued for when b is back


async def test_a_send_fetches_only_what_is_missing_old_marked_or_without_keys(
        tmp_path: Path) -> None:
    """A send asks the peer when no list is kept, the kept one is older than a minute
    or marked stale, or was kept before lists carried the keys; a fresh one it takes
    as it is (``ensure_fresh`` judges all this in SQL, without reading the list)."""
    async with AsyncExitStack() as stack:
        dns = stack.enter_context(DnsServer())
        seen: list[str] = []
        node_a = (await start_nodes(stack, dns, tmp_path, ["a"]))["a"]
        b = (await _counted_node(stack, dns, tmp_path, "b", seen)).url
        http = await stack.enter_async_context(aiohttp.ClientSession())
        carl = (await keyed_device(http, node_a.url, "carl"))["access_token"]
        bob1 = (await keyed_device(http, b, "bob"))["device_id"]
        kept = sqlite3.connect(node_a.config.database_path, isolation_level=None)
        stack.callback(kept.close)
        sent = 0

        async def send() -> None:
            nonlocal sent
            sent += 1
            status, body = await call(http, node_a.url, "PUT", f"/send/s{sent}", carl, {
                "to": "bob@b.test", "envelopes": {"bob@b.test": {bob1: "AAAA"}}})
            assert status == 200, body

        await send()
        assert len(seen) == 1, "nothing kept: fetched"
        reads = node_a.app[DB].reads
        parsed = reads["get_remote_devices"]
        await send()
        assert len(seen) == 1, "fresh: not asked again"
        assert reads["get_remote_devices"] == parsed, "a fresh list is not read whole"
        kept.execute("UPDATE fed_remote_devices SET fetched_ms = fetched_ms - 61000")
        await send()
        assert len(seen) == 2, "over a minute old: fetched anew"
        kept.execute("UPDATE fed_remote_devices SET stale_ms = fetched_ms + 1")
        await send()
        assert len(seen) == 3, "marked stale: fetched anew"
        kept.execute("UPDATE fed_remote_devices SET devices = json_remove(devices, "
                     "'$[0].device_keys')")
        await send()
        assert len(seen) == 4, "kept without the keys: fetched anew"
        devices = json.loads(kept.execute("SELECT devices FROM fed_remote_devices")
                             .fetchone()[0])
        assert [d["device_id"] for d in devices] == [bob1] and "device_keys" in devices[0]
        await send()
        assert len(seen) == 4
