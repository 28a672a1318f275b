"""Shutdown of the remote device lists' owner: a fetch under way is stopped, its
callers hear 503 ``SHUTTING_DOWN`` (not a hang, not a bare cancel), and no fetch starts
after. A real SQLite database; the peer is a function that never answers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from node.errors import Unavailable
from node.services.remote_devices import RemoteDevices
from node.storage.db import Database
from tests.nodes import eventually


async def test_close_stops_the_fetches_under_way_and_refuses_new_ones(
        tmp_path: Path) -> None:
    db = Database.open(tmp_path / "node.db")
    started: list[str] = []
    stopped: list[str] = []

    async def never_answers(address: str) -> list[dict[str, Any]]:
        started.append(address)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopped.append(address)
            raise
        return []

    devices = RemoteDevices(db, never_answers)
    try:
        waiting = [asyncio.ensure_future(devices.get("bob@b.test")) for _ in range(3)]
        await eventually(lambda: asyncio.sleep(0, started or None), what="the fetch")
        await asyncio.wait_for(devices.close(), 5)
        assert stopped == ["bob@b.test"] and started == ["bob@b.test"]  # one, stopped
        for caller in waiting:
            with pytest.raises(Unavailable) as refused:
                await asyncio.wait_for(caller, 5)
            assert refused.value.code == "SHUTTING_DOWN" and refused.value.status == 503
        with pytest.raises(Unavailable):
            await devices.get("carl@c.test")
        assert started == ["bob@b.test"]
    finally:
        db.close()


async def test_a_caller_cancelled_alone_does_not_stop_the_fetch(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "node.db")
    release = asyncio.Event()

    async def slow(address: str) -> list[dict[str, Any]]:
        await release.wait()
        return []

    devices = RemoteDevices(db, slow)
    try:
        first = asyncio.ensure_future(devices.get("bob@b.test"))
        second = asyncio.ensure_future(devices.get("bob@b.test"))
        await eventually(lambda: asyncio.sleep(0, devices.fetches or None),
                         what="the fetch under way")
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        release.set()
        assert await asyncio.wait_for(second, 5) == {"address": "bob@b.test",
                                                     "devices": []}
        assert devices.fetches == 1
    finally:
        await devices.close()
        db.close()
