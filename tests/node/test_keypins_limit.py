"""The node's key pin lookups for browsers are bounded even when many names arrive at once."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from node.errors import Unavailable
from node.services import keypins
from node.services.keypins import KeyPins


async def test_names_asked_for_in_one_loop_step_meet_the_lookup_limit() -> None:
    # A DNS server on loopback that never answers: every lookup stays in flight.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    pins = KeyPins(silent.getsockname())
    limit = keypins.MAX_INFLIGHT + keypins.MAX_WAITING
    extra = 5
    tasks = [asyncio.ensure_future(pins.lookup(f"shop{i}.test")) for i in range(limit + extra)]
    try:
        deadline = time.monotonic() + 10
        while sum(t.done() for t in tasks) < extra and time.monotonic() < deadline:
            await asyncio.wait(tasks, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
        busy = [t for t in tasks if t.done()]
        assert len(busy) == extra
        for t in busy:
            with pytest.raises(Unavailable) as err:
                t.result()
            assert err.value.code == "PIN_LOOKUPS_BUSY"
    finally:
        inner = list(pins._inflight.values())  # shielded from the callers: end them too
        for t in tasks + inner:
            t.cancel()
        await asyncio.gather(*tasks, *inner, return_exceptions=True)
        silent.close()
    assert pins._waiting == 0 and not pins._inflight, "every ended lookup gave its place back"
