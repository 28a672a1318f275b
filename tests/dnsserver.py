"""A small authoritative DNS server for tests, on 127.0.0.1, over UDP and TCP.

It answers from an in-memory zone that tests change while it runs; every name is "ours"
(authoritative answers, AA set). It runs in background threads, so it serves asyncio
tests and node subprocesses alike::

    with DnsServer() as dns:
        dns.add_srv("_kontor._tcp.a.test", target="a.test", port=8449, ttl=60)
        dns.add_a("a.test", "127.0.0.1")
        resolver_nameserver = ("127.0.0.1", dns.port)   # or dns.address, "127.0.0.1:PORT"

Answers: the records for (name, type); NOERROR with an empty answer when the name exists
with other types (or is an empty non-terminal such as ``_tcp.a.test``); NXDOMAIN for an
unknown name. Over UDP a response larger than the client's limit (512 bytes, or its EDNS
payload size) is sent empty with TC set, and the client retries over TCP, which carries
any size. ``queries`` logs every question received, for cache tests.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

HOST = "127.0.0.1"
UDP_LIMIT = 512
TCP_IDLE_SECONDS = 2.0
POLL_SECONDS = 0.05
BIND_ATTEMPTS = 20


@dataclass(frozen=True)
class Query:
    """One question the server received."""

    name: str
    rdtype: str
    transport: str  # "udp" or "tcp"


def _name(name: str) -> dns.name.Name:
    return dns.name.from_text(name.rstrip(".") + ".")


def _rdtype(rdtype: str | dns.rdatatype.RdataType) -> dns.rdatatype.RdataType:
    return dns.rdatatype.RdataType.make(rdtype)


def _txt_rdata(text: str) -> str:
    """TXT presentation text, split into <=255-byte character-strings."""
    raw = text.encode()
    chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    return " ".join('"' + "".join(map(_txt_char, chunk)) + '"' for chunk in chunks)


def _txt_char(byte: int) -> str:
    if 0x20 <= byte < 0x7F and chr(byte) not in '"\\':
        return chr(byte)
    return f"\\{byte:03d}"


class Zone:
    """Thread-safe records: (name, type) -> list of (ttl, rdata)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[tuple[dns.name.Name, int], list[tuple[int, dns.rdata.Rdata]]] = {}

    def add(self, name: str, rdtype: str, text: str, ttl: int) -> None:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, _rdtype(rdtype), text)
        with self._lock:
            self._records.setdefault((_name(name), _rdtype(rdtype)), []).append((ttl, rdata))

    def remove(self, name: str, rdtype: str | None = None) -> None:
        key_name = _name(name)
        with self._lock:
            for key in list(self._records):
                if key[0] == key_name and (rdtype is None or key[1] == _rdtype(rdtype)):
                    del self._records[key]

    def lookup(self, qname: dns.name.Name, rdtype: int) -> dns.rrset.RRset | int:
        """The answer RRset, or an rcode (NOERROR: name exists, no such type)."""
        with self._lock:
            entries = list(self._records.get((qname, rdtype), []))
            exists = any(name.is_subdomain(qname) for name, _ in self._records)
        if not entries:
            return dns.rcode.NOERROR if exists else dns.rcode.NXDOMAIN
        rrset = dns.rrset.RRset(qname, dns.rdataclass.IN, rdtype)
        for ttl, rdata in entries:
            rrset.add(rdata, ttl)
        rrset.ttl = min(ttl for ttl, _ in entries)
        return rrset


class DnsServer:
    """Authoritative DNS on 127.0.0.1 (UDP and TCP, same ephemeral port)."""

    def __init__(self) -> None:
        self.zone = Zone()
        self._queries: list[Query] = []
        self._qlock = threading.Lock()
        self._udp: socketserver.UDPServer | None = None
        self._tcp: socketserver.TCPServer | None = None
        self._threads: list[threading.Thread] = []

    # -- records ---------------------------------------------------------------------

    def add_a(self, name: str, address: str, ttl: int = 60) -> None:
        self.zone.add(name, "A", address, ttl)

    def add_aaaa(self, name: str, address: str, ttl: int = 60) -> None:
        self.zone.add(name, "AAAA", address, ttl)

    def add_srv(
        self, name: str, target: str, port: int, ttl: int = 60, priority: int = 10,
        weight: int = 10,
    ) -> None:
        target_name = target if target == "." else target.rstrip(".") + "."
        self.zone.add(name, "SRV", f"{priority} {weight} {port} {target_name}", ttl)

    def add_txt(self, name: str, text: str, ttl: int = 60) -> None:
        """One TXT record; text longer than 255 bytes becomes several strings."""
        self.zone.add(name, "TXT", _txt_rdata(text), ttl)

    def add(self, name: str, rdtype: str, rdata_text: str, ttl: int = 60) -> None:
        """Any record type, from presentation text (e.g. ``add(n, "CNAME", "b.test.")``)."""
        self.zone.add(name, rdtype, rdata_text, ttl)

    def remove(self, name: str, rdtype: str | None = None) -> None:
        """Remove the records of one type at name, or all of them when rdtype is None."""
        self.zone.remove(name, rdtype)

    # -- query log -------------------------------------------------------------------

    @property
    def queries(self) -> list[Query]:
        with self._qlock:
            return list(self._queries)

    def query_count(self, name: str | None = None, rdtype: str | None = None) -> int:
        """How many questions matched name and type (None matches anything)."""
        want = _name(name) if name is not None else None
        count = 0
        for q in self.queries:
            if want is not None and _name(q.name) != want:
                continue
            if rdtype is not None and q.rdtype != rdtype.upper():
                continue
            count += 1
        return count

    def clear_queries(self) -> None:
        with self._qlock:
            self._queries.clear()

    # -- answering -------------------------------------------------------------------

    def answer(self, wire: bytes, transport: str) -> bytes | None:
        """The response wire for one request, or None for garbage (dropped)."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if query.flags & dns.flags.QR:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
        elif len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
        else:
            self._fill(query.question[0], response, transport)
        return self._to_wire(query, response, transport)

    def _fill(
        self, question: dns.rrset.RRset, response: dns.message.Message, transport: str
    ) -> None:
        with self._qlock:
            self._queries.append(
                Query(question.name.to_text(), dns.rdatatype.to_text(question.rdtype), transport)
            )
        if question.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            return
        found = self.zone.lookup(question.name, question.rdtype)
        if isinstance(found, dns.rrset.RRset):
            response.answer.append(found)
        else:
            response.set_rcode(found)

    @staticmethod
    def _to_wire(
        query: dns.message.Message, response: dns.message.Message, transport: str
    ) -> bytes:
        if transport == "tcp":
            return response.to_wire(max_size=65535)
        limit = max(UDP_LIMIT, query.payload) if query.edns >= 0 else UDP_LIMIT
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            response.answer.clear()
            response.additional.clear()
            response.flags |= dns.flags.TC
            return response.to_wire(max_size=limit)

    # -- lifecycle -------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._udp is not None, "server not started"
        return self._udp.server_address[1]

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def nameserver(self) -> tuple[str, int]:
        return (HOST, self.port)

    def start(self) -> DnsServer:
        """Bind UDP and TCP on one free port and serve in daemon threads."""
        self._udp, self._tcp = _bind_pair(self)
        for server in (self._udp, self._tcp):
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
                name=f"dnsserver-{type(server).__name__}", daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and close the sockets (bounded by timeout)."""
        for server in (self._udp, self._tcp):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _UdpHandler(socketserver.BaseRequestHandler):
    server: _UdpServer

    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.dns.answer(data, "udp")
        if reply is not None:
            with suppress(OSError):
                sock.sendto(reply, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    server: _TcpServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(TCP_IDLE_SECONDS)
        with suppress(OSError):
            for wire in _tcp_messages(sock):
                reply = self.server.dns.answer(wire, "tcp")
                if reply is None:
                    return
                sock.sendall(struct.pack("!H", len(reply)) + reply)


def _tcp_messages(sock: socket.socket, max_messages: int = 100) -> Iterator[bytes]:
    """Length-prefixed messages from one connection, until EOF, idle timeout or limit."""
    for _ in range(max_messages):
        header = _recv_exact(sock, 2)
        if header is None:
            return
        body = _recv_exact(sock, struct.unpack("!H", header)[0])
        if body is None:
            return
        yield body


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, dns_server: DnsServer, port: int) -> None:
        self.dns = dns_server
        super().__init__((HOST, port), _UdpHandler)


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, dns_server: DnsServer, port: int) -> None:
        self.dns = dns_server
        super().__init__((HOST, port), _TcpHandler)


def _bind_pair(dns_server: DnsServer) -> tuple[_UdpServer, _TcpServer]:
    """A UDP and a TCP server on the same free port (retrying a bounded number of times)."""
    last: OSError | None = None
    for _ in range(BIND_ATTEMPTS):
        udp = _UdpServer(dns_server, 0)
        try:
            return udp, _TcpServer(dns_server, udp.server_address[1])
        except OSError as exc:
            last = exc
            udp.server_close()
    raise RuntimeError(f"no free port for UDP and TCP together: {last}")
