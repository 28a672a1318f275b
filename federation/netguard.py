"""Outgoing-connection policy: which addresses this node may connect to.

A peer chooses its own DNS records and well-known delegation, so without a policy it
could point our node at ``127.0.0.1:6379``, at a cloud metadata service or at a printer
on the office LAN (server-side request forgery). Every outgoing federation connection
therefore goes through two checks:

1. ``GuardedResolver`` (an aiohttp resolver) resolves a host name once, with dnspython
   (A and AAAA), drops the addresses the policy refuses and hands only the checked
   addresses to aiohttp. aiohttp connects to exactly those: there is no second lookup
   that a DNS-rebinding peer could answer differently.
2. The connector from ``make_connector`` checks the address again in its socket factory,
   just before ``connect()``. This also covers IP literals in URLs, which aiohttp never
   passes to a resolver.

Refused: loopback, private (RFC 1918, ULA fc00::/7), link-local, CGNAT 100.64/10,
documentation and benchmarking ranges, reserved ranges, and IPv6 forms that embed such an
IPv4 address (IPv4-mapped, 6to4, NAT64). With ``allow_private`` (development and tests on
loopback) these are permitted, but unspecified, multicast and broadcast addresses are
refused always: no peer lives there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import aiohttp
import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver
from aiohttp.abc import AbstractResolver, ResolveResult

from federation.errors import FederationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_ADDRESSES = 32  # per name and family; more is a bad (or hostile) answer
MAX_DNS_TTL = 3600.0

_EXTRA_BLOCKED = [
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.88.99.0/24", "198.18.0.0/15",
        "224.0.0.0/4", "240.0.0.0/4",
        "100::/64", "64:ff9b:1::/48", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10",
        "ff00::/8",
    )
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedAddress(FederationError, OSError):
    """The policy refuses every address of a host. Also an ``OSError``, so that aiohttp
    reports it as a connect error like any other failed connection."""

    status, code = 502, "ADDRESS_BLOCKED"

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"refusing to connect to {host!r} at {address}: address not allowed")
        self.host = host
        self.address = address


class ResolveError(FederationError, OSError):
    """A host name did not resolve (no such name, no address, or DNS failure); an
    ``OSError`` too, for aiohttp's connector."""

    status, code = 502, "RESOLVE_FAILED"

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"cannot resolve {host!r}: {reason}")
        self.host = host
        self.reason = reason


def parse_ip(text: str) -> IPAddress | None:
    """An IP address from text (IPv6 scope id dropped), or None when it is not one."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _never(ip: IPAddress) -> bool:
    if ip.is_unspecified or ip.is_multicast:
        return True
    return isinstance(ip, ipaddress.IPv4Address) and int(ip) == 0xFFFFFFFF


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_public(ip: IPAddress) -> bool:
    embedded = _embedded_v4(ip)
    if embedded is not None:  # the IPv4 address is where the packets go
        return _is_public(embedded)
    if not ip.is_global or ip.is_private or ip.is_reserved or ip.is_loopback:
        return False
    return not ip.is_link_local and not any(
        ip in net for net in _EXTRA_BLOCKED if net.version == ip.version
    )


def address_allowed(ip: str, allow_private: bool) -> bool:
    """Whether this node may connect to the IP address ip (text; False if not an IP)."""
    parsed = parse_ip(ip)
    if parsed is None:
        return False
    embedded = _embedded_v4(parsed)
    if _never(parsed) or (embedded is not None and _never(embedded)):
        return False
    return allow_private or _is_public(parsed)


def make_dns_resolver(
    nameserver: tuple[str, int] | None, timeout: float = 5.0
) -> dns.asyncresolver.Resolver:
    """A dnspython async resolver: the given nameserver, or the system's (resolv.conf)."""
    if nameserver is None:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        host, port = nameserver
        resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port)]
    resolver.lifetime = timeout
    resolver.timeout = min(timeout, 2.0)
    return resolver


V = TypeVar("V")


class TtlCache(Generic[V]):
    """A bounded mapping whose entries expire (least recently used dropped first)."""

    def __init__(self, max_entries: int = 1024, clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> tuple[V, float] | None:
        """(value, expires_at), or None when absent or expired."""
        item = self._items.get(key)
        if item is None:
            return None
        expires_at, value = item
        if self.clock() >= expires_at:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value, expires_at

    def put(self, key: str, value: V, ttl: float) -> float:
        """Store value for ttl seconds (not at all when ttl <= 0); return expires_at."""
        expires_at = self.clock() + ttl
        if ttl <= 0:
            self._items.pop(key, None)
            return expires_at
        self._items[key] = (expires_at, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
        return expires_at

    def pop(self, key: str) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


class GuardedResolver(AbstractResolver):
    """aiohttp resolver: dnspython lookups filtered by ``address_allowed``, cached by TTL."""

    def __init__(
        self,
        nameserver: tuple[str, int] | None = None,
        *,
        allow_private: bool = False,
        timeout: float = 5.0,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow_private = allow_private
        self._dns = make_dns_resolver(nameserver, timeout)
        self._cache: TtlCache[list[str]] = TtlCache(max_entries, clock)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Checked addresses of host; BlockedAddress if none is allowed, ResolveError."""
        name = host.rstrip(".").lower()
        addresses = await self.addresses(name)
        if family == socket.AF_INET:
            addresses = [a for a in addresses if ":" not in a]
        elif family == socket.AF_INET6:
            addresses = [a for a in addresses if ":" in a]
        if not addresses:
            raise ResolveError(host, f"no address of family {family.name}")
        allowed = [a for a in addresses if address_allowed(a, self.allow_private)]
        if not allowed:
            raise BlockedAddress(host, ", ".join(addresses))
        return [_result(host, a, port) for a in allowed]

    async def addresses(self, name: str) -> list[str]:
        """All addresses of a name (IPv4 first), before the policy; cached by TTL."""
        literal = parse_ip(name.strip("[]"))
        if literal is not None:
            return [str(literal)]
        if name == "localhost":
            return ["127.0.0.1", "::1"]
        cached = self._cache.get(name)
        if cached is not None:
            return cached[0]
        answers = await asyncio.gather(self._query(name, "A"), self._query(name, "AAAA"))
        found = [a for addrs, _ in answers for a in addrs]
        if not found:
            raise ResolveError(name, "no A or AAAA record")
        self._cache.put(name, found, min(min(ttl for _, ttl in answers), MAX_DNS_TTL))
        return found

    async def _query(self, name: str, rdtype: str) -> tuple[list[str], float]:
        try:
            answer = await self._dns.resolve(name, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return [], MAX_DNS_TTL
        except dns.exception.DNSException as exc:
            raise ResolveError(name, f"{rdtype} lookup failed: {exc}") from exc
        if answer.rrset is None or len(answer.rrset) > MAX_ADDRESSES:
            raise ResolveError(name, f"bad {rdtype} answer")
        return [rdata.address for rdata in answer.rrset], float(answer.rrset.ttl)

    def invalidate(self, host: str) -> None:
        self._cache.pop(host.rstrip(".").lower())

    async def close(self) -> None:
        """Nothing to release (dnspython opens a socket per query)."""


def _result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(
        hostname=host, host=address, port=port, family=family, proto=0,
        flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
    )


def guarded_socket_factory(allow_private: bool) -> Callable[[Any], socket.socket]:
    """An aiohttp socket factory that refuses addresses the policy does not allow."""

    def factory(addr_info: Any) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address = str(sockaddr[0])
        if not address_allowed(address, allow_private):
            raise BlockedAddress(address, address)
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


def make_connector(
    resolver: GuardedResolver, ssl_context: ssl.SSLContext | None = None, limit: int = 100
) -> aiohttp.TCPConnector:
    """A TCPConnector that resolves through resolver and checks every address it dials."""
    return aiohttp.TCPConnector(
        resolver=resolver,
        use_dns_cache=False,  # the resolver caches by the records' own TTL
        ssl=ssl_context if ssl_context is not None else True,
        limit=limit,
        socket_factory=guarded_socket_factory(resolver.allow_private),
    )
