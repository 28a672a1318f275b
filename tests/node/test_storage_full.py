"""A full disk: writes answer 507 STORAGE_FULL (no traceback), /health says degraded
while they fail and ok once they work again, and nothing stored is lost.

The fault is real SQLite behaviour, not a mock: ``PRAGMA max_page_count`` on the node's
writer connection makes SQLite answer SQLITE_FULL exactly as on a full disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from node.appkeys import DB
from tests.api.helpers import call, keyed_device
from tests.nodes import RunningNode, eventually, running_node, write_config


@pytest.fixture
async def node(tmp_path: Path) -> Any:
    ini = write_config(tmp_path / "node", sections={"accounts": {"registration": "open"}})
    async with running_node(ini) as running:
        yield running


async def set_max_pages(node: RunningNode, pages: int | None) -> None:
    """Cap the writer connection's database size (None: at its current size)."""
    db = node.app[DB]

    def run() -> None:
        conn = db._writer_db.conn
        limit = pages or conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {limit}")
    await asyncio.get_running_loop().run_in_executor(db._writer, run)


async def health(http: aiohttp.ClientSession, node: RunningNode) -> dict[str, Any]:
    async with http.get(node.url + "/health") as r:
        assert r.status == 200
        return await r.json()


async def test_full_storage_is_507_degraded_and_loses_nothing(
        node: RunningNode, caplog: pytest.LogCaptureFixture) -> None:
    async with aiohttp.ClientSession() as http:
        anna = await keyed_device(http, node.url, "anna")
        bob = await keyed_device(http, node.url, "bob")

        def body(n: int) -> dict[str, Any]:
            return {"to": bob["address"],
                    "envelopes": {bob["address"]: {bob["device_id"]: "Q" * 30_000 + str(n)}}}
        status, first = await call(http, node.url, "PUT", "/send/s0", anna["access_token"],
                                   body(0))
        assert status == 200
        await set_max_pages(node, None)
        caplog.clear()
        refused = None
        for n in range(1, 60):  # each send needs new pages; the cap is reached quickly
            status, answer = await call(http, node.url, "PUT", f"/send/s{n}",
                                        anna["access_token"], body(n))
            if status != 200:
                refused = (n, status, answer)
                break
        assert refused is not None, "the capped database never filled"
        n, status, answer = refused
        assert status == 507 and answer["error"]["code"] == "STORAGE_FULL", answer
        assert (await health(http, node))["status"] == "degraded"
        assert "full" in (await health(http, node))["reason"]
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors and all(r.exc_info is None for r in errors), "no traceback"
        # Everything stored before is still there and readable.
        status, got = await call(http, node.url, "GET", "/sync?limit=500",
                                 bob["access_token"])
        assert status == 200 and len(got["events"]) == n
        assert got["events"][0]["message_id"] == first["message_id"]

        await set_max_pages(node, 1 << 30)

        async def recovered() -> bool:
            return (await health(http, node))["status"] == "ok"
        await eventually(recovered, timeout=5, what="/health ok again")
        status, again = await call(http, node.url, "PUT", f"/send/s{n}",
                                   anna["access_token"], body(n))
        assert status == 200, again
        status, got = await call(http, node.url, "GET", "/sync?limit=500",
                                 bob["access_token"])
        assert len(got["events"]) == n + 1
        assert got["events"][-1]["message_id"] == again["message_id"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A 3 MiB tmpfs for the node's data folder (root only; skipped otherwise)."""

    data = tmp_path / "node" / "data"
    data.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the max_page_count test covers this")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs",
                           str(data)], capture_output=True, timeout=10)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode()[:200]}")
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], capture_output=True, timeout=10)


async def test_a_really_full_disk_is_507_and_recovers(small_disk: Path,
                                                      tmp_path: Path) -> None:
    ini = write_config(tmp_path / "node", sections={"accounts": {"registration": "open"}})
    async with running_node(ini) as node, aiohttp.ClientSession() as http:
        anna = await keyed_device(http, node.url, "anna")
        bob = await keyed_device(http, node.url, "bob")
        filler = small_disk / "filler"
        free = os.statvfs(small_disk)
        filler.write_bytes(b"\0" * max(0, free.f_bavail * free.f_frsize - 400_000))

        def body(n: int) -> dict[str, Any]:
            return {"to": bob["address"],
                    "envelopes": {bob["address"]: {bob["device_id"]: "Q" * 30_000 + str(n)}}}
        refused = None
        for n in range(60):
            status, answer = await call(http, node.url, "PUT", f"/send/d{n}",
                                        anna["access_token"], body(n))
            if status != 200:
                refused = (n, status, answer)
                break
        assert refused is not None, "the small disk never filled"
        n, status, answer = refused
        assert status == 507 and answer["error"]["code"] == "STORAGE_FULL", answer
        assert (await health(http, node))["status"] == "degraded"
        filler.unlink()

        async def recovered() -> bool:
            return (await health(http, node))["status"] == "ok"
        await eventually(recovered, timeout=5, what="/health ok again")
        status, _ = await call(http, node.url, "PUT", f"/send/d{n}", anna["access_token"],
                               body(n))
        assert status == 200
        status, got = await call(http, node.url, "GET", "/sync?limit=500",
                                 bob["access_token"])
        assert len(got["events"]) == n + 1, "nothing stored was lost"
