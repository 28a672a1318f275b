"""The test DNS server answers like an authoritative server, over UDP and TCP."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from federation.netguard import make_dns_resolver
from tests.dnsserver import DnsServer

TIMEOUT = 3.0


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


def ask(server: DnsServer, name: str, rdtype: str, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, "127.0.0.1", timeout=TIMEOUT, port=server.port)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_answers_srv_txt_a(dns_server: DnsServer, tcp: bool) -> None:
    dns_server.add_srv("_kontor._tcp.a.test", target="a.test", port=8449, ttl=60)
    dns_server.add_a("a.test", "127.0.0.1", ttl=30)
    dns_server.add_txt("_kontor-key.a.test", "v=kontor1 ed25519=abc")

    srv = ask(dns_server, "_kontor._tcp.a.test", "SRV", tcp).answer[0]
    assert [(r.port, r.target.to_text()) for r in srv] == [(8449, "a.test.")]
    assert srv.ttl == 60
    a = ask(dns_server, "a.test", "A", tcp)
    assert a.flags & dns.flags.AA
    assert [r.address for r in a.answer[0]] == ["127.0.0.1"] and a.answer[0].ttl == 30
    txt = ask(dns_server, "_kontor-key.a.test", "TXT", tcp).answer[0]
    assert [b"".join(r.strings) for r in txt] == [b"v=kontor1 ed25519=abc"]
    assert dns_server.query_count("a.test", "A") == 1
    assert {q.transport for q in dns_server.queries} == {"tcp" if tcp else "udp"}


def test_nxdomain_and_empty_answers(dns_server: DnsServer) -> None:
    dns_server.add_srv("_kontor._tcp.a.test", target="a.test", port=8449)
    assert ask(dns_server, "nothing.test", "A").rcode() == dns.rcode.NXDOMAIN
    other_type = ask(dns_server, "_kontor._tcp.a.test", "A")
    assert other_type.rcode() == dns.rcode.NOERROR and not other_type.answer
    empty_non_terminal = ask(dns_server, "_tcp.a.test", "SRV")
    assert empty_non_terminal.rcode() == dns.rcode.NOERROR and not empty_non_terminal.answer


def test_record_changes_are_visible(dns_server: DnsServer) -> None:
    dns_server.add_a("a.test", "127.0.0.1")
    dns_server.add_a("a.test", "127.0.0.2")
    assert sorted(r.address for r in ask(dns_server, "a.test", "A").answer[0]) == [
        "127.0.0.1", "127.0.0.2"
    ]
    dns_server.remove("a.test", "A")
    assert ask(dns_server, "a.test", "A").rcode() == dns.rcode.NXDOMAIN
    dns_server.add_a("A.Test.", "127.0.0.3")
    assert [r.address for r in ask(dns_server, "a.test", "A").answer[0]] == ["127.0.0.3"]


def test_large_answer_truncated_over_udp_complete_over_tcp(dns_server: DnsServer) -> None:
    for i in range(12):
        dns_server.add_txt("big.test", f"record {i} " + "x" * 60)
    udp = ask(dns_server, "big.test", "TXT")
    assert udp.flags & dns.flags.TC and not udp.answer
    assert len(ask(dns_server, "big.test", "TXT", tcp=True).answer[0]) == 12
    response, used_tcp = dns.query.udp_with_fallback(
        dns.message.make_query("big.test", "TXT"), "127.0.0.1", timeout=TIMEOUT,
        port=dns_server.port,
    )
    assert used_tcp and len(response.answer[0]) == 12


def test_long_txt_is_split_into_strings(dns_server: DnsServer) -> None:
    dns_server.add_txt("long.test", "y" * 600)
    rdata = next(iter(ask(dns_server, "long.test", "TXT", tcp=True).answer[0]))
    assert [len(s) for s in rdata.strings] == [255, 255, 90]


async def test_async_resolver_follows_truncation(dns_server: DnsServer) -> None:
    for i in range(12):
        dns_server.add_txt("big.test", f"record {i} " + "x" * 60)
    resolver = make_dns_resolver(dns_server.nameserver, timeout=TIMEOUT)
    answer = await resolver.resolve("big.test.", "TXT")
    assert len(answer.rrset) == 12
    assert dns_server.query_count("big.test", "TXT") == 2  # UDP (truncated), then TCP
    with pytest.raises(dns.resolver.NXDOMAIN):
        await resolver.resolve("missing.test.", "A")


def test_garbage_is_dropped_and_server_keeps_serving(dns_server: DnsServer) -> None:
    dns_server.add_a("a.test", "127.0.0.1")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x00\x01garbage", ("127.0.0.1", dns_server.port))
    assert ask(dns_server, "a.test", "A").answer


def test_stop_is_bounded_and_frees_the_port() -> None:
    server = DnsServer().start()
    port, threads = server.port, list(server._threads)
    server.stop(timeout=2.0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))
    assert threads and all(not t.is_alive() for t in threads)
