"""``[federation] allow`` and ``deny`` govern outgoing requests too: a local client's
call that would reach a server the node does not federate with is 403
DESTINATION_DENIED, nothing is sent to that server and nothing is queued for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from federation import storage as fed_store
from node.appkeys import DB
from node.services.accounts import now_ms
from tests.api.helpers import call, keyed_device
from tests.dnsserver import DnsServer
from tests.federation.network import node_config
from tests.nodes import RunningNode, running_node

MEDIA_ID = "A" * 43
SECTIONS = {"deny": {"federation": {"deny": "b.test"}},
            "not allowed": {"federation": {"allow": "c.test"}}}


@pytest.fixture(params=list(SECTIONS))
async def pair(request: pytest.FixtureRequest, tmp_path: Path
               ) -> AsyncIterator[tuple[RunningNode, RunningNode, list[str]]]:
    """Node a refuses b (denied, or missing from a's allow list); b counts what reaches
    its federation API."""
    seen: list[str] = []

    def count(app: web.Application) -> None:
        @web.middleware
        async def counter(req: web.Request, handler: Any) -> web.StreamResponse:
            if req.path.startswith("/_kontor/federation/"):
                seen.append(req.path)
            return await handler(req)
        app.middlewares.insert(0, counter)

    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            b = await stack.enter_async_context(running_node(
                node_config(dns, tmp_path, "b"), count))
            a = await stack.enter_async_context(running_node(
                node_config(dns, tmp_path, "a", SECTIONS[request.param])))
            yield a, b, seen


async def test_calls_towards_a_refused_server_are_403_and_nothing_leaves(
        pair: tuple[RunningNode, RunningNode, list[str]]) -> None:
    a, b, seen = pair
    async with aiohttp.ClientSession() as http:
        bob = await keyed_device(http, b.url, "bob")
        anna = await keyed_device(http, a.url, "anna")
        token = anna["access_token"]
        calls = [("GET", "/keys/devices/bob@b.test", None),
                 ("POST", "/keys/claim", {"address": "bob@b.test"}),
                 ("GET", "/directory/b.test/profile", None),
                 ("GET", "/directory/b.test/catalog", None),
                 ("GET", f"/media/{MEDIA_ID}?server=b.test", None),
                 ("PUT", "/send/t1", {"to": "bob@b.test", "envelopes": {
                     "bob@b.test": {bob["device_id"]: "QQ"}}})]
        for method, path, body in calls:
            status, answer = await call(http, a.url, method, path, token, body)
            assert status == 403, (path, answer)
            assert answer["error"]["code"] == "DESTINATION_DENIED", (path, answer)
        # With bob's devices already cached (fetched before the operator denied b), the
        # send is still refused where the outbox is written, and nothing is queued.
        devices = [{"device_id": bob["device_id"]}]
        await a.app[DB].write(fed_store.store_remote_devices_txn, "bob@b.test", devices,
                              now_ms())
        status, answer = await call(http, a.url, "PUT", "/send/t2", token, {
            "to": "bob@b.test", "envelopes": {"bob@b.test": {bob["device_id"]: "QQ"}}})
        assert status == 403 and answer["error"]["code"] == "DESTINATION_DENIED", answer

    def queued(db: Any) -> int:
        return db.execute("SELECT COUNT(*) FROM fed_outbox").fetchone()[0]
    assert await a.app[DB].read(queued) == 0, "nothing queued for a refused server"
    assert seen == [], f"a refused server was contacted: {seen}"
