"""argon2id hashing runs on its own bounded pool: a burst beyond its workers and queue
is told 429 RATE_LIMITED with Retry-After, and never more hashes run at once than
``[limits] password_hash_workers``. (Memory under a burst is measured by
bench/passwords.py, not asserted here.)"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from node.appkeys import PASSWORDS
from tests.api.helpers import PREFIX
from tests.nodes import RunningNode, running_node, write_config

BURST = 12


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    ini = write_config(tmp_path / "node", sections={
        "accounts": {"registration": "open"},
        "limits": {"password_hash_workers": 1, "password_hash_queue": 2}})
    async with running_node(ini) as running:
        yield running


async def test_a_registration_burst_queues_then_gets_429(node: RunningNode) -> None:
    most = 0

    async def watch() -> None:
        nonlocal most
        while True:
            most = max(most, node.app[PASSWORDS].admitted)
            await asyncio.sleep(0.001)

    async def register(http: aiohttp.ClientSession, i: int) -> tuple[int, str, str]:
        async with http.post(node.url + PREFIX + "/register", json={
                "username": f"user{i}", "password": "correct horse battery"}) as r:
            body = await r.json()
            code = body.get("error", {}).get("code", "")
            return r.status, code, r.headers.get("Retry-After", "")

    watcher = asyncio.create_task(watch())
    try:
        async with aiohttp.ClientSession() as http:
            results = await asyncio.wait_for(
                asyncio.gather(*(register(http, i) for i in range(BURST))), 60)
    finally:
        watcher.cancel()
    ok = [r for r in results if r[0] == 200]
    limited = [r for r in results if r[0] == 429]
    assert len(ok) + len(limited) == BURST, results
    assert len(ok) >= 3, "one running and two queued get through"
    assert limited, "beyond the queue a burst is refused, not piled up"
    assert all(code == "RATE_LIMITED" and int(retry) >= 1 for _, code, retry in limited)
    assert most <= 3, "never more admitted than workers plus queue"
    pool = [t for t in threading.enumerate() if t.name.startswith("kontor-argon2")]
    assert len(pool) <= 1, "one hashing thread, as configured"
