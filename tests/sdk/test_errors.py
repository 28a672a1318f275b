"""SDK errors an app can catch, and an events() stream that outlives a broken node:
connection refused, a proxy's HTML 502, then the node again."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from aiohttp import web

from node.client import (
    Client,
    ConnectionFailed,
    Forbidden,
    Message,
    NotFound,
    ServerError,
)
from tests.nodes import eventually, free_port, running_node, write_config
from tests.sdk.conftest import PASSPHRASE, PASSWORD


async def _proxy_error_page(port: int, hits: list[int]) -> web.AppRunner:
    """What a reverse proxy answers while the node behind it is down."""
    async def bad_gateway(request: web.Request) -> web.Response:
        hits.append(1)
        return web.Response(status=502, text="<html>502 Bad Gateway</html>",
                            content_type="text/html")
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", bad_gateway)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@pytest.mark.parametrize("websocket", [False, True])
async def test_events_ride_out_a_lost_node_and_a_proxys_502(tmp_path: Path,
                                                            websocket: bool) -> None:
    port = free_port()
    ini = write_config(tmp_path / "node", port=port,
                       sections={"accounts": {"registration": "open"}})
    got: list[Message] = []
    async with running_node(ini) as node:
        anna = await Client.register(node.url, "anna", PASSWORD, passphrase=PASSPHRASE,
                                     store=tmp_path / "anna.store")
        bob = await Client.register(node.url, "bob", PASSWORD, passphrase=PASSPHRASE,
                                    store=tmp_path / "bob.store")
        with pytest.raises(NotFound):
            await anna.devices.safety_numbers(f"nobody@{node.config.node.server_name}")
        with pytest.raises(Forbidden):  # a customer is no admin
            await anna.admin.stats()

    async def listen() -> None:
        async for event in bob.events(websocket=websocket, poll_timeout_ms=500):
            if isinstance(event, Message):
                got.append(event)
    listener = asyncio.create_task(listen())
    try:
        with pytest.raises(ConnectionFailed):  # nothing listens now
            await anna.send_text(bob.address, "anyone?")
        hits: list[int] = []
        proxy = await _proxy_error_page(port, hits)
        try:
            with pytest.raises(ServerError) as err:
                await anna.send_text(bob.address, "anyone?")
            assert (err.value.status, err.value.code) == (502, "BAD_RESPONSE")
            await eventually(lambda: _at_least(hits, 3), timeout=20,
                             what="the stream to keep asking through the 502s")
        finally:
            await proxy.cleanup()
        assert not listener.done(), "events() did not end on 502s and refused connections"
        async with running_node(ini):
            sent = await anna.send_text(bob.address, "back again")
            await eventually(lambda: _has(got, sent.message_id), timeout=40,
                             what="the message after the node came back")
        assert [m.message_id for m in got] == [sent.message_id]
    finally:
        await bob.close()  # close() ends events()
        async with asyncio.timeout(10):
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        await anna.close()
    assert listener.exception() is None


async def _at_least(hits: list[int], count: int) -> bool:
    return len(hits) >= count


async def _has(got: list[Message], message_id: str) -> bool:
    return any(m.message_id == message_id for m in got)
