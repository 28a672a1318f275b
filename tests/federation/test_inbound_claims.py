"""What a federation request merely claims reserves nothing: connections that name a
real peer in their keyid but never finish their body hold up no one but their own
client address (node.api.fedauth, node.services.inbound)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import nacl.signing
import pytest

from node.appkeys import FEDERATION
from tests.dnsserver import DnsServer
from tests.federation.network import node_config
from tests.federation.test_inbound_security import PATH, put, signed, stored_rows, transaction
from tests.nodes import RunningNode, eventually, running_node

ATTACKER = "127.0.0.2"  # loopback too, another client address than the real peer's
FORGED = 8  # [federation] max_unverified_per_address (default)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[RunningNode, RunningNode]]:
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            a = await stack.enter_async_context(running_node(node_config(dns, tmp_path, "a")))
            b = await stack.enter_async_context(running_node(node_config(dns, tmp_path, "b")))
            yield a, b


async def _forged_request(a: RunningNode, b: RunningNode, txn_id: str
                          ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A request claiming to come from a.test (its real key id, a stranger's signature)
    whose body stops half way."""
    stranger = nacl.signing.SigningKey.generate()
    body = json.dumps(transaction()).encode()
    headers = signed(a, txn_id, body, sign=lambda m: stranger.sign(m).signature)
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", b.config.http.listen_port, local_addr=(ATTACKER, 0))
    head = f"PUT {PATH}{txn_id} HTTP/1.1\r\nHost: b.test\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode() + body[: len(body) // 2])
    await writer.drain()
    return reader, writer


async def test_forged_never_ending_requests_do_not_delay_the_real_peer(
        pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    inbound = b.app[FEDERATION].inbound
    held = [await _forged_request(a, b, f"forged{i}") for i in range(FORGED)]
    try:
        await eventually(lambda: _async(inbound.unverified.get(ATTACKER) == FORGED),
                         what="the forged requests being read")
        # The same address gets no more places; it is told so at once.
        extra = await _forged_request(a, b, "forged-extra")
        answer = await asyncio.wait_for(extra[0].read(), 5)
        assert answer.startswith(b"HTTP/1.1 429"), answer
        extra[1].close()
        # The real peer, named in all those keyids, is served at once.
        before = await stored_rows(b)
        body = json.dumps(transaction()).encode()
        start = time.monotonic()
        assert await put(b, "real1", body, signed(a, "real1", body)) == (200, "")
        assert time.monotonic() - start < 1.0
        assert (await stored_rows(b))[0] == before[0] + 1  # the transaction is stored
        assert not any(reader.at_eof() for reader, _ in held)  # they are still open
    finally:
        for _, writer in held:
            writer.close()


async def test_a_body_that_does_not_arrive_whole_in_time_is_refused(
        tmp_path: Path) -> None:
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            a = await stack.enter_async_context(running_node(node_config(dns, tmp_path, "a")))
            b = await stack.enter_async_context(running_node(node_config(
                dns, tmp_path, "b", {"http": {"body_timeout_seconds": 1}})))
            reader, writer = await _forged_request(a, b, "slow")
            start = time.monotonic()
            while time.monotonic() - start < 5 and not reader.at_eof():
                writer.write(b" ")  # a trickle: never a gap, never the end
                try:
                    answer = await asyncio.wait_for(reader.read(65536), 0.3)
                    break
                except TimeoutError:
                    continue
            assert answer.startswith(b"HTTP/1.1 408") and b"BODY_TIMEOUT" in answer
            assert time.monotonic() - start < 3
            writer.close()
            assert not b.app[FEDERATION].inbound.unverified


async def _async(value: bool) -> bool:
    return value
