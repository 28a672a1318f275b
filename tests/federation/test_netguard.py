"""The outgoing-connection policy: address table, guarded resolver, guarded connector."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from federation.netguard import (
    BlockedAddress,
    GuardedResolver,
    ResolveError,
    TtlCache,
    address_allowed,
    make_connector,
)
from tests.dnsserver import DnsServer

TIMEOUT = aiohttp.ClientTimeout(total=5)
HITS = web.AppKey("hits", list[str])

PUBLIC = [
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001::1",
    "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808",
]
PRIVATE = [  # refused by default, allowed with allow_private
    "127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "169.254.169.254", "100.64.0.1", "100.127.255.254", "192.0.0.8", "192.0.2.1",
    "198.18.0.1", "198.51.100.7", "203.0.113.9", "240.0.0.1", "::1", "fc00::1", "fd12:3456::1",
    "fe80::1", "fe80::1%eth0", "fec0::1", "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "::ffff:169.254.169.254", "2002:7f00:1::", "2002:a00:1::", "64:ff9b::a00:1", "100::1",
]
NEVER = [  # refused even with allow_private
    "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "::", "ff02::1",
    "::ffff:0.0.0.0", "::ffff:224.0.0.1",
]
NOT_IPS = ["", "localhost", "example.com", "127.1", "2130706433", "0x7f.0.0.1", "1.2.3.4.5"]


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses_allowed(ip: str) -> None:
    assert address_allowed(ip, allow_private=False)
    assert address_allowed(ip, allow_private=True)


@pytest.mark.parametrize("ip", PRIVATE)
def test_private_addresses_need_the_switch(ip: str) -> None:
    assert not address_allowed(ip, allow_private=False)
    assert address_allowed(ip, allow_private=True)


@pytest.mark.parametrize("ip", NEVER + NOT_IPS)
def test_never_allowed(ip: str) -> None:
    assert not address_allowed(ip, allow_private=False)
    assert not address_allowed(ip, allow_private=True)


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
async def web_server() -> AsyncIterator[TestServer]:
    async def hello(request: web.Request) -> web.Response:
        request.app[HITS].append(request.path)
        return web.Response(text="hello")

    app = web.Application()
    app[HITS] = []
    app.router.add_get("/", hello)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_name_resolving_to_loopback_refused(dns_server: DnsServer) -> None:
    dns_server.add_a("evil.test", "127.0.0.1")
    resolver = GuardedResolver(dns_server.nameserver, allow_private=False)
    with pytest.raises(BlockedAddress) as info:
        await resolver.resolve("evil.test", 443, family=socket.AF_UNSPEC)
    assert info.value.host == "evil.test" and "127.0.0.1" in info.value.address


async def test_only_allowed_addresses_are_returned(dns_server: DnsServer) -> None:
    dns_server.add_a("mixed.test", "10.1.2.3")
    dns_server.add_a("mixed.test", "8.8.8.8")
    dns_server.add_aaaa("mixed.test", "::1")
    resolver = GuardedResolver(dns_server.nameserver, allow_private=False)
    results = await resolver.resolve("mixed.test", 8448, family=socket.AF_UNSPEC)
    assert [(r["host"], r["port"], r["hostname"]) for r in results] == [
        ("8.8.8.8", 8448, "mixed.test")
    ]


async def test_literals_and_localhost(dns_server: DnsServer) -> None:
    strict = GuardedResolver(dns_server.nameserver, allow_private=False)
    with pytest.raises(BlockedAddress):
        await strict.resolve("10.0.0.1", 80)
    with pytest.raises(BlockedAddress):
        await strict.resolve("localhost", 80, family=socket.AF_UNSPEC)
    loose = GuardedResolver(dns_server.nameserver, allow_private=True)
    hosts = [r["host"] for r in await loose.resolve("localhost", 80, family=socket.AF_UNSPEC)]
    assert hosts == ["127.0.0.1", "::1"]
    assert [r["host"] for r in await loose.resolve("localhost", 80)] == ["127.0.0.1"]
    assert dns_server.queries == []  # no DNS for literals and localhost


async def test_unknown_name_is_a_resolve_error(dns_server: DnsServer) -> None:
    resolver = GuardedResolver(dns_server.nameserver, allow_private=True)
    with pytest.raises(ResolveError):
        await resolver.resolve("missing.test", 80)


async def test_cache_by_ttl(dns_server: DnsServer) -> None:
    now = [1000.0]
    dns_server.add_a("a.test", "127.0.0.1", ttl=60)
    resolver = GuardedResolver(dns_server.nameserver, allow_private=True, clock=lambda: now[0])
    await resolver.resolve("a.test", 80)
    dns_server.remove("a.test")
    dns_server.add_a("a.test", "127.0.0.2", ttl=60)
    assert [r["host"] for r in await resolver.resolve("a.test", 80)] == ["127.0.0.1"]
    assert dns_server.query_count("a.test", "A") == 1
    now[0] += 61
    assert [r["host"] for r in await resolver.resolve("a.test", 80)] == ["127.0.0.2"]
    assert dns_server.query_count("a.test", "A") == 2


def test_ttl_cache_is_bounded() -> None:
    now = [0.0]
    cache: TtlCache[int] = TtlCache(max_entries=3, clock=lambda: now[0])
    for i in range(5):
        cache.put(str(i), i, ttl=10)
    assert len(cache) == 3 and cache.get("0") is None and cache.get("4") == (4, 10.0)
    now[0] = 10.0
    assert cache.get("4") is None


async def test_connector_reaches_loopback_when_allowed(
    dns_server: DnsServer, web_server: TestServer
) -> None:
    dns_server.add_a("peer.test", "127.0.0.1")
    resolver = GuardedResolver(dns_server.nameserver, allow_private=True)
    async with aiohttp.ClientSession(connector=make_connector(resolver, None, 10)) as session:
        url = f"http://peer.test:{web_server.port}/"
        async with session.get(url, timeout=TIMEOUT) as resp:
            assert resp.status == 200 and await resp.text() == "hello"
    assert web_server.app[HITS] == ["/"]


async def test_connector_refuses_loopback_and_literals_by_default(
    dns_server: DnsServer, web_server: TestServer
) -> None:
    dns_server.add_a("peer.test", "127.0.0.1")
    resolver = GuardedResolver(dns_server.nameserver, allow_private=False)
    async with aiohttp.ClientSession(connector=make_connector(resolver, None, 10)) as session:
        for url in (
            f"http://peer.test:{web_server.port}/",
            f"http://127.0.0.1:{web_server.port}/",
            "http://10.0.0.1:9/",
            f"http://[::ffff:127.0.0.1]:{web_server.port}/",
        ):
            with pytest.raises(aiohttp.ClientConnectorError) as info:
                await session.get(url, timeout=TIMEOUT)
            assert isinstance(info.value.os_error, BlockedAddress), url
    assert web_server.app[HITS] == []  # nothing reached the server
