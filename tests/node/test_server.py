"""A node serves /health on loopback and stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import signal
from pathlib import Path

import aiohttp
import pytest

from tests.nodes import NodeProcess, running_node


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
