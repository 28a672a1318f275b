"""A node serves /health on loopback and stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from node.draining import handler_budget
from tests.api.helpers import PREFIX, register
from tests.nodes import NodeProcess, running_node, write_config


async def test_health_on_a_free_loopback_port(node_ini: Path) -> None:
    async with running_node(node_ini) as node, aiohttp.ClientSession() as http:
        async with http.get(node.url + "/health") as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body["status"] == "ok"
        assert body["server_name"] == node.config.node.server_name
        assert body["schema_version"] >= 1
        assert resp.headers["X-Request-Id"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_ends_the_process_cleanly(node_ini: Path, sig: int) -> None:
    node = NodeProcess(node_ini).start()
    try:
        node.signal(sig)
        assert node.wait() == 0, node.output()
    finally:
        node.stop()
    db = node.config.database_path
    assert db.exists()
    # A clean close checkpoints the WAL and removes it.
    assert not db.with_name(db.name + "-wal").exists()


def test_stop_with_clients_connected_stays_within_the_grace(tmp_path: Path) -> None:
    """WebSockets are closed with 1001 and long-polls answered when the stop begins (while
    a request whose body never ends still runs); that request is cancelled once the
    handler budget is spent; the process exits within the grace (plus a margin of half
    the grace for a loaded machine: without the drain the stop takes twice the grace)."""
    grace = 6
    ini = write_config(tmp_path / "n", sections={"accounts": {"registration": "open"},
                                                 "http": {"shutdown_grace_seconds": grace}})
    node = NodeProcess(ini).start()
    try:
        asyncio.run(_connect_then_stop(node, grace))
        assert node.wait(5) == 0, node.output()
        budget = handler_budget(grace)
        assert f"request(s) still running after {budget:.1f}s; cancelling" in node.output()
    finally:
        node.stop()


async def _connect_then_stop(node: NodeProcess, grace: float) -> None:
    url = node.config.public_url
    async with aiohttp.ClientSession() as http:
        users = [await register(http, url, f"user{i}") for i in range(4)]
        auth = [{"Authorization": f"Bearer {u['access_token']}"} for u in users]

        async def long_poll(headers: dict[str, str]) -> tuple[int, object]:
            async with http.get(url + PREFIX + "/sync?timeout=30000", headers=headers) as r:
                return r.status, await r.json()
        polls = [asyncio.create_task(long_poll(h)) for h in auth[2:]]
        reader, stuck = await _unfinished_upload(url, auth[0])
        stuck_ended = asyncio.create_task(reader.read())  # the node's answer, or its EOF
        # The polls' requests went out before these handshakes, which the node answered.
        sockets = [await http.ws_connect(url + PREFIX + "/ws", headers=h) for h in auth[:2]]
        async with http.get(url + "/health") as r:
            assert r.status == 200
        node.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace * 1.5
        for ws in sockets:
            msg = await ws.receive(timeout=grace)
            assert (msg.type, msg.data, msg.extra) == (aiohttp.WSMsgType.CLOSE, 1001,
                                                       "GOING_AWAY")
        for poll in polls:
            status, body = await asyncio.wait_for(poll, grace)
            assert (status, body["events"], body["next"]) == (200, [], 0)
        # All of that at the start of the stop: the unfinished upload still runs (the
        # node cancels it only when the handler budget, grace less a reserve, is spent).
        assert not stuck_ended.done()
        await asyncio.wait_for(stuck_ended, grace)
        while node.proc is not None and node.proc.poll() is None:
            assert time.monotonic() < deadline, f"still running {grace * 1.5}s after SIGTERM"
            await asyncio.sleep(0.05)
        stuck.close()


async def _unfinished_upload(url: str, headers: dict[str, str]
                             ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A media upload that announces 1 MB and sends 10 bytes of it."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (f"POST {PREFIX}/media HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {headers['Authorization']}\r\n"
            "Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n")
    writer.write(head.encode() + b"0123456789")
    await writer.drain()
    return reader, writer
