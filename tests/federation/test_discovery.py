"""Server-name discovery and DNS key pins, against the real test DNS server and a real
aiohttp server for the well-known delegation (plain http, as under the dev switch)."""

from __future__ import annotations

import contextlib
import json
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st

from federation.delegation import SrvRecord, cache_ttl, choose_srv
from federation.discovery import Discovery, DiscoveryError
from federation.netguard import TtlCache, make_dns_resolver
from federation.pins import (
    PinMismatch,
    check_pin,
    lookup_pins,
    parse_pin,
    pin_record,
    pin_value,
    srv_record,
)
from federation.servername import InvalidServerName, parse_server_name
from tests.dnsserver import DnsServer

START = 1_000_000.0


@dataclass
class FakeClock:
    now: float = START

    def __call__(self) -> float:
        return self.now


@dataclass
class WellKnown:
    """What the test well-known server answers, and the requests it saw."""

    status: int = 404
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def serve(self, server: str, max_age: int | None = None) -> None:
        self.status, self.body = 200, json.dumps({"server": server}).encode()
        self.headers = {} if max_age is None else {"Cache-Control": f"max-age={max_age}"}


WK = web.AppKey("well_known", WellKnown)


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


@pytest.fixture
async def well_known() -> AsyncIterator[tuple[WellKnown, TestServer]]:
    async def handler(request: web.Request) -> web.Response:
        state = request.app[WK]
        state.hits.append(request.host)
        return web.Response(status=state.status, body=state.body, headers=state.headers)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/.well-known/kontor/server")

    app = web.Application()
    app[WK] = WellKnown()
    app.router.add_get("/.well-known/kontor/server", handler)
    app.router.add_get("/moved", redirect)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield app[WK], server
    await server.close()


Factory = Callable[..., Awaitable[Discovery]]


@pytest.fixture
async def make_discovery(
    dns_server: DnsServer, well_known: tuple[WellKnown, TestServer]
) -> AsyncIterator[Factory]:
    made: list[Discovery] = []

    async def make(**kwargs: object) -> Discovery:
        options: dict[str, object] = {
            "scheme": "http", "allow_private": True, "clock": FakeClock(),
            "well_known_port": well_known[1].port, "dns_timeout": 2.0,
            "well_known_timeout": 5.0, "rng": random.Random(7),
        }
        options.update(kwargs)
        discovery = Discovery(dns_server.nameserver, **options)  # type: ignore[arg-type]
        made.append(discovery)
        return discovery

    yield make
    for discovery in made:
        await discovery.close()


# -- server names --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "host", "port", "is_ip"),
    [
        ("shop.example", "shop.example", None, False),
        ("localhost:8481", "localhost", 8481, False),
        ("1.2.3.4", "1.2.3.4", None, True),
        ("1.2.3.4:65535", "1.2.3.4", 65535, True),
        ("[::1]", "::1", None, True),
        ("[2001:DB8::1]:8448", "2001:db8::1", 8448, True),
        ("Xn--bcher-kva.Example", "Xn--bcher-kva.Example", None, False),
    ],
)
def test_valid_server_names(text: str, host: str, port: int | None, is_ip: bool) -> None:
    assert parse_server_name(text) == (name := parse_server_name(text))
    assert (name.host, name.port, name.is_ip) == (host, port, is_ip)


@pytest.mark.parametrize(
    "text",
    [
        "", "a" * 256, "shop.example:", "shop.example:0", "shop.example:65536",
        "shop.example:+80", "shop.example:80:80", "::1", "[::1", "[::1]x", "[1.2.3.4]",
        "[fe80::1%eth0]", "1.2.3", "01.2.3.4", "256.1.1.1", "shop.example.", "-shop.example",
        "shop-.example", "sh_op.example", "shop..example", "a" * 64 + ".example",
        "shop example", "shöp.example", "shop.example/path", "user@shop.example",
    ],
)
def test_invalid_server_names(text: str) -> None:
    with pytest.raises(InvalidServerName):
        parse_server_name(text)


@given(st.text(max_size=300))
def test_parse_never_fails_otherwise(text: str) -> None:
    with contextlib.suppress(InvalidServerName):
        parse_server_name(text)


# -- steps -----------------------------------------------------------------------------


async def test_literal_and_explicit_port_skip_dns(
    make_discovery: Factory, dns_server: DnsServer, well_known: tuple[WellKnown, TestServer]
) -> None:
    dns_server.add_srv("_kontor._tcp.a.test", target="srv.test", port=9999)
    discovery = await make_discovery()
    dest = await discovery.resolve("a.test:8500")
    assert (dest.host, dest.port, dest.tls_name) == ("a.test", 8500, "a.test")
    assert dest.source == "literal"
    assert dest.base_url == "http://a.test:8500"
    ip = await discovery.resolve("[::1]")
    assert (ip.port, ip.base_url, ip.source) == (8448, "http://[::1]:8448", "literal")
    assert dns_server.queries == [] and well_known[0].hits == []


async def test_srv_is_used(make_discovery: Factory, dns_server: DnsServer) -> None:
    dns_server.add_srv("_kontor._tcp.a.test", target="node.b.test", port=8449, ttl=300)
    discovery = await make_discovery()
    dest = await discovery.resolve("a.test")
    assert (dest.host, dest.port, dest.source) == ("node.b.test", 8449, "srv")
    assert dest.tls_name == "a.test"  # the certificate is checked for the server name
    assert dest.base_url == "http://node.b.test:8449"
    assert dest.expires_at == START + 300


async def test_srv_lowest_priority_wins(make_discovery: Factory, dns_server: DnsServer) -> None:
    dns_server.add_srv("_kontor._tcp.a.test", target="backup.test", port=1, priority=20)
    dns_server.add_srv("_kontor._tcp.a.test", target="main.test", port=2, priority=10)
    dns_server.add_srv("_kontor._tcp.a.test", target="bad_target.test", port=3, priority=0)
    discovery = await make_discovery()
    for _ in range(5):
        discovery.invalidate("a.test")
        assert (await discovery.resolve("a.test")).host == "main.test"


def test_srv_weighted_choice() -> None:
    records = [SrvRecord(10, 1, 1, "a"), SrvRecord(10, 3, 2, "b"), SrvRecord(10, 0, 3, "c")]
    rng = random.Random(1)
    picks = [choose_srv(records, rng).target for _ in range(5000)]
    # RFC 2782: a number in [0, 4]; weight 0 first, so c gets 1/5, a 1/5, b 3/5
    assert 850 < picks.count("a") < 1150 and 2800 < picks.count("b") < 3200
    assert 850 < picks.count("c") < 1150
    only_zero = [SrvRecord(5, 0, 1, "x"), SrvRecord(5, 0, 2, "y")]
    assert {choose_srv(only_zero, rng).target for _ in range(50)} <= {"x", "y"}


async def test_srv_dot_target_means_no_service(
    make_discovery: Factory, dns_server: DnsServer
) -> None:
    dns_server.add_srv("_kontor._tcp.a.test", target=".", port=0)
    discovery = await make_discovery()
    with pytest.raises(DiscoveryError, match="not offered"):
        await discovery.resolve("a.test")


async def test_well_known_delegation(
    make_discovery: Factory, dns_server: DnsServer, well_known: tuple[WellKnown, TestServer]
) -> None:
    state, _ = well_known
    dns_server.add_a("wk.test", "127.0.0.1")
    state.serve("delegated.test:8500", max_age=120)
    discovery = await make_discovery()
    dest = await discovery.resolve("wk.test")
    assert (dest.host, dest.port, dest.tls_name, dest.source) == (
        "delegated.test", 8500, "delegated.test", "well-known"
    )
    assert dest.expires_at == START + 120
    assert len(state.hits) == 1 and state.hits[0].startswith("wk.test")


async def test_well_known_then_srv_of_delegated_name(
    make_discovery: Factory, dns_server: DnsServer, well_known: tuple[WellKnown, TestServer]
) -> None:
    dns_server.add_a("wk.test", "127.0.0.1")
    dns_server.add_srv("_kontor._tcp.delegated.test", target="node.test", port=7000, ttl=90)
    well_known[0].serve("delegated.test")
    dest = await (await make_discovery()).resolve("wk.test")
    assert (dest.host, dest.port, dest.tls_name, dest.source) == (
        "node.test", 7000, "delegated.test", "well-known"
    )
    assert dest.expires_at == START + 90  # the shorter of SRV TTL and well-known max-age


async def test_delegated_name_without_srv_uses_8448(
    make_discovery: Factory, dns_server: DnsServer, well_known: tuple[WellKnown, TestServer]
) -> None:
    dns_server.add_a("wk.test", "127.0.0.1")
    well_known[0].serve("delegated.test")
    dest = await (await make_discovery()).resolve("wk.test")
    assert (dest.host, dest.port, dest.source) == ("delegated.test", 8448, "well-known")
    assert dest.expires_at == START + 3600  # no Cache-Control: one hour


async def test_fallback_to_8448(
    make_discovery: Factory, dns_server: DnsServer, well_known: tuple[WellKnown, TestServer]
) -> None:
    dns_server.add_a("plain.test", "127.0.0.1")  # well-known answers 404
    dest = await (await make_discovery()).resolve("plain.test")
    assert (dest.host, dest.port, dest.tls_name, dest.source) == (
        "plain.test", 8448, "plain.test", "default"
    )
    assert dest.base_url == "http://plain.test:8448" and dest.expires_at == START + 60
    assert len(well_known[0].hits) == 1


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (200, b"not json", "bad JSON"),
        (200, b'["server"]', "not an object"),
        (200, b'{"server": 5}', "server not a string"),
        (200, b'{"server": "a.test", "server": "b.test"}', "duplicate key"),
        (200, b'{"server": "bad name!"}', "invalid delegated name"),
        (200, b'{"server": "x.test", "pad": "' + b"x" * 5000 + b'"}', "oversize"),
        (200, b"[" * 3000, "deep nesting"),
        (200, b'{"server": NaN}', "NaN"),
        (200, b'\xff{"server": "x.test"}', "not UTF-8"),
        (500, b'{"server": "x.test"}', "server error"),
    ],
)
async def test_bad_well_known_falls_back(
    make_discovery: Factory, dns_server: DnsServer, well_known: tuple[WellKnown, TestServer],
    status: int, body: bytes, why: str,
) -> None:
    dns_server.add_a("wk.test", "127.0.0.1")
    well_known[0].status, well_known[0].body = status, body
    dest = await (await make_discovery()).resolve("wk.test")
    assert (dest.host, dest.port, dest.source) == ("wk.test", 8448, "default"), why


async def test_well_known_redirect_not_followed(
    make_discovery: Factory, dns_server: DnsServer, well_known: tuple[WellKnown, TestServer]
) -> None:
    state, _ = well_known
    dns_server.add_a("wk.test", "127.0.0.1")
    state.status, state.body = 302, b""
    state.headers = {"Location": "/.well-known/kontor/server"}
    dest = await (await make_discovery()).resolve("wk.test")
    assert dest.source == "default" and len(state.hits) == 1


async def test_well_known_fetch_obeys_address_policy(
    make_discovery: Factory, dns_server: DnsServer, well_known: tuple[WellKnown, TestServer]
) -> None:
    dns_server.add_a("wk.test", "127.0.0.1")
    well_known[0].serve("delegated.test:8500")
    dest = await (await make_discovery(allow_private=False)).resolve("wk.test")
    assert dest.source == "default" and well_known[0].hits == []


def test_cache_control_bounds() -> None:
    assert cache_ttl(None) == 3600
    assert cache_ttl("public, max-age=600") == 600
    assert cache_ttl("max-age=5") == 60
    assert cache_ttl("max-age=99999999") == 86400
    assert cache_ttl("no-store") == 3600


# -- cache -----------------------------------------------------------------------------


async def test_cache_honours_ttl(make_discovery: Factory, dns_server: DnsServer) -> None:
    clock = FakeClock()
    dns_server.add_srv("_kontor._tcp.a.test", target="one.test", port=1000, ttl=60)
    discovery = await make_discovery(clock=clock)
    assert (await discovery.resolve("a.test")).host == "one.test"
    assert dns_server.query_count("_kontor._tcp.a.test", "SRV") == 1
    dns_server.remove("_kontor._tcp.a.test")
    dns_server.add_srv("_kontor._tcp.a.test", target="two.test", port=2000, ttl=60)
    clock.now += 59
    again = await discovery.resolve("a.test")
    assert again.host == "one.test" and again.expires_at == START + 60
    assert dns_server.query_count("_kontor._tcp.a.test", "SRV") == 1
    clock.now += 2
    assert (await discovery.resolve("a.test")).host == "two.test"
    assert dns_server.query_count("_kontor._tcp.a.test", "SRV") == 2
    discovery.invalidate("a.test")
    await discovery.resolve("a.test")
    assert dns_server.query_count("_kontor._tcp.a.test", "SRV") == 3


async def test_dns_failure_is_an_error_cached_briefly(
    well_known: tuple[WellKnown, TestServer],
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()
    clock = FakeClock()
    discovery = Discovery(dead, scheme="http", clock=clock, dns_timeout=1.0)
    try:
        with pytest.raises(DiscoveryError, match="SRV lookup"):
            await discovery.resolve("a.test")
        with pytest.raises(DiscoveryError, match="SRV lookup"):
            await discovery.resolve("a.test")  # from the negative cache, no wait
    finally:
        await discovery.close()
    assert well_known[0].hits == []


def test_only_https_or_http() -> None:
    with pytest.raises(ValueError):
        Discovery(None, scheme="ftp")  # type: ignore[arg-type]


# -- pins ------------------------------------------------------------------------------

KEY_A = bytes(32)
KEY_B = bytes(range(32))
PIN_A = "Zmh6rfhivXdsj8GLjp-OIAiXFIVu4jOzkCpZHQ1fKSU"  # SHA-256 of 32 zero bytes
PIN_B = "Yw3NKWbEM2aRElRIu7JbT_QSpJxzLbLIq8G4WBvXEN0"


def test_pin_value_and_records() -> None:
    assert pin_value(KEY_A) == PIN_A
    assert pin_record("shop.example:8448", KEY_A) == (
        f'_kontor-key.shop.example. 3600 IN TXT "v=kontor1 ed25519={PIN_A}"'
    )
    assert srv_record("shop.example", "node.shop.example", 8449) == (
        "_kontor._tcp.shop.example. 3600 IN SRV 10 10 8449 node.shop.example."
    )
    with pytest.raises(ValueError):
        srv_record("shop.example:8448", "node.shop.example", 8449)
    with pytest.raises(ValueError):
        pin_record("1.2.3.4", KEY_A)
    with pytest.raises(ValueError):
        pin_value(b"short")


@pytest.mark.parametrize(
    "text",
    [
        "", "ed25519=" + PIN_A, f"v=kontor1 ed25519={PIN_A}=", f"v=kontor1 ed25519={PIN_A[:-1]}",
        f"v=kontor1 ed25519={PIN_A} ed25519={PIN_B}", "v=kontor1", f"v=kontor1 ed25519={PIN_A}+",
        "v=kontor1 ed25519=" + PIN_A[:-1] + "V",  # non-canonical trailing bits
    ],
)
def test_malformed_pins(text: str) -> None:
    with pytest.raises(ValueError):
        parse_pin(text)


async def test_lookup_pins_through_dns(dns_server: DnsServer) -> None:
    record = pin_record("a.test", KEY_A)
    name, ttl, _, _, rdata = record.split(" ", 4)
    dns_server.add(name, "TXT", rdata, ttl=int(ttl))  # the printed line, served as is
    dns_server.add_txt("_kontor-key.a.test", f"v=kontor1 ed25519={PIN_B} note=rotation")
    dns_server.add_txt("_kontor-key.a.test", "v=kontor1 ed25519=garbage")
    dns_server.add_txt("_kontor-key.a.test", "v=kontor2 x25519=future")
    dns_server.add_txt("_kontor-key.a.test", "hello world")
    resolver = make_dns_resolver(dns_server.nameserver, timeout=2.0)
    pins = await lookup_pins(resolver, "a.test:8448")
    assert pins == frozenset({PIN_A, PIN_B})
    check_pin(pins, KEY_A)
    check_pin(pins, KEY_B)
    with pytest.raises(PinMismatch):
        check_pin(frozenset({PIN_A}), KEY_B)


async def test_absent_and_invalid_pins(dns_server: DnsServer) -> None:
    resolver = make_dns_resolver(dns_server.nameserver, timeout=2.0)
    assert await lookup_pins(resolver, "none.test") is None
    assert await lookup_pins(resolver, "127.0.0.1:8448") is None
    dns_server.add_txt("_kontor-key.localhost", "v=kontor1 ed25519=" + PIN_A)
    before = dns_server.query_count()
    assert await lookup_pins(resolver, "localhost:8448") is None, "localhost is not in DNS"
    assert dns_server.query_count() == before
    dns_server.add_txt("_kontor-key.typo.test", "v=kontor1 ed25519=oops")
    assert await lookup_pins(resolver, "typo.test") == frozenset()
    check_pin(None, KEY_A)
    check_pin(frozenset(), KEY_A)


async def test_pins_cached_by_ttl(dns_server: DnsServer) -> None:
    clock = FakeClock()
    cache: TtlCache[frozenset[str] | None] = TtlCache(clock=clock)
    resolver = make_dns_resolver(dns_server.nameserver, timeout=2.0)
    dns_server.add_txt("_kontor-key.a.test", f"v=kontor1 ed25519={PIN_A}", ttl=300)
    assert await lookup_pins(resolver, "a.test", cache=cache) == {PIN_A}
    dns_server.remove("_kontor-key.a.test")
    assert await lookup_pins(resolver, "a.test", cache=cache) == {PIN_A}
    assert dns_server.query_count("_kontor-key.a.test", "TXT") == 1
    clock.now += 301
    assert await lookup_pins(resolver, "a.test", cache=cache) is None
    assert dns_server.query_count("_kontor-key.a.test", "TXT") == 2
