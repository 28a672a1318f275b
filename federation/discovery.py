"""Server-name discovery: where to connect for a Kontor server name.

A server name is ``host`` or ``host:port``; host is a DNS name, an IPv4 address or an
IPv6 address in brackets (``parse_server_name`` validates it). ``Discovery.resolve``
turns it into a ``Destination`` by the first of these steps that answers (the
``source`` field says which):

(a) ``literal``: the host is an IP literal, or the name carries an explicit port.
    Connect to host:port (port 8448 for an IP literal without one). No DNS, no HTTP.
(b) ``srv``: DNS SRV ``_kontor._tcp.<host>``. Among the records of the lowest priority
    one is chosen at random in proportion to its weight (RFC 2782). Connect to
    target:port. As in Matrix, the TLS certificate is checked against the *server
    name's* host, not the SRV target: DNS, unauthenticated, may only say where the
    server lives, never who it is. A lone record with target ``.`` means the service
    is not offered (``DiscoveryError``). DNS failures other than "no such name / no
    such record" (timeout, SERVFAIL) raise ``DiscoveryError`` rather than falling
    through, so a DNS hiccup never sends traffic to a different address.
(c) ``well-known``: ``GET {scheme}://<host>/.well-known/kontor/server`` answering
    ``{"server": "<delegated name>"}``. No redirects, 4 KiB body limit, a total
    timeout, a strict JSON object (no duplicate keys, no NaN), and the delegated name
    is validated like any server name. Steps (a) and (b) are then applied to the
    delegated name (never a second well-known); otherwise ``<delegated host>:8448``.
    The TLS name is the delegated host: the operator of the server name vouched for
    it over authenticated HTTPS. The fetch runs through ``GuardedResolver``, so the
    outgoing-connection policy applies. ``well_known_port`` (default 443 for https,
    80 for http) is a development and test knob only: production always uses the
    scheme's default port.
    Decision: any failure of this step (connection refused, non-200, oversize, bad
    JSON, invalid delegated name) falls back to (d), logged with the reason, and that
    result is cached only briefly (``negative_ttl``), as Matrix does.
(d) ``default``: ``<host>:8448``, TLS name host.

Callers connect to ``base_url`` (host:port), send the server name in the ``Host``
header and verify the certificate against ``tls_name`` (aiohttp ``server_hostname``).
The connection itself goes through ``netguard.make_connector``, which applies the
address policy to the final addresses (including IP literals).

Caching (``clock``, default ``time.time``): SRV answers for their TTL (bounded to
[30 s, 24 h]); well-known answers per ``Cache-Control: max-age`` bounded to
[60 s, 24 h], default 1 h (and never longer than the delegated name's SRV TTL);
fallbacks to (d) after a failed well-known and ``DiscoveryError`` results for
``negative_ttl`` (60 s); literals for 24 h. The cache is bounded (LRU);
``invalidate`` drops one name. HTTP scheme ``http`` is allowed only under the
operator's development switch (the node decides; this module only takes the value).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
import random
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
import dns.exception
import dns.name
import dns.resolver

from federation.netguard import GuardedResolver, TtlCache, make_connector, make_dns_resolver

log = logging.getLogger("kontor.federation.discovery")

DEFAULT_PORT = 8448
MAX_SERVER_NAME = 255
MAX_HOST = 253
MAX_SRV_RECORDS = 16
WELL_KNOWN_PATH = "/.well-known/kontor/server"
WELL_KNOWN_MAX_BYTES = 4096
WELL_KNOWN_TTL = (60.0, 86400.0, 3600.0)  # min, max, default
SRV_TTL = (30.0, 86400.0)
LITERAL_TTL = 86400.0

Source = Literal["literal", "srv", "well-known", "default"]
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z", re.IGNORECASE)
_PORT = re.compile(r"^[0-9]{1,5}\Z")
_MAX_AGE = re.compile(r"^\s*max-age\s*=\s*\"?([0-9]{1,10})\"?\s*$", re.IGNORECASE)


class InvalidServerName(ValueError):
    """A server name that is not ``host`` or ``host:port`` by the rules."""


class DiscoveryError(Exception):
    """The server name is valid but cannot be resolved now (DNS failure, no service)."""


@dataclass(frozen=True)
class ServerName:
    """A parsed server name: host (IPv6 without brackets), optional port."""

    host: str
    port: int | None
    is_ip: bool

    @property
    def url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host


@dataclass(frozen=True)
class Destination:
    """Where to connect for a server name, and how it was found."""

    server_name: str
    host: str
    port: int
    tls_name: str
    base_url: str
    source: Source
    expires_at: float


def parse_server_name(server_name: str) -> ServerName:
    """Validate ``host[:port]``; raise InvalidServerName with the reason."""
    if not isinstance(server_name, str) or not 0 < len(server_name) <= MAX_SERVER_NAME:
        raise InvalidServerName("server name must be 1..255 characters")
    if server_name.startswith("["):
        end = server_name.find("]")
        if end < 0:
            raise InvalidServerName(f"{server_name!r}: unclosed '['")
        host, rest = server_name[1:end], server_name[end + 1 :]
        if "%" in host or not _is_ip(host, 6):
            raise InvalidServerName(f"{server_name!r}: not an IPv6 address in brackets")
        if rest and not rest.startswith(":"):
            raise InvalidServerName(f"{server_name!r}: junk after ']'")
        return ServerName(str(ipaddress.IPv6Address(host)), _port(rest[1:], rest), True)
    host, sep, port_text = server_name.partition(":")
    port = _port(port_text, sep)
    if ":" in port_text:
        raise InvalidServerName(f"{server_name!r}: IPv6 addresses need brackets")
    if re.fullmatch(r"[0-9.]+", host):
        if not _is_ip(host, 4):
            raise InvalidServerName(f"{server_name!r}: not a valid IPv4 address")
        return ServerName(host, port, True)
    if not is_dns_name(host):
        raise InvalidServerName(f"{server_name!r}: host is not a valid DNS name")
    return ServerName(host, port, False)


def is_dns_name(host: str) -> bool:
    """A DNS host name: LDH labels of 1..63, total <= 253, no trailing dot."""
    return 0 < len(host) <= MAX_HOST and all(_LABEL.match(lab) for lab in host.split("."))


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _port(text: str, sep: str) -> int | None:
    if not sep:
        return None
    if not _PORT.match(text) or not 1 <= int(text) <= 65535:
        raise InvalidServerName(f"port {text!r} is not 1..65535")
    return int(text)


@dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str


def choose_srv(records: list[SrvRecord], rng: random.Random) -> SrvRecord:
    """RFC 2782: lowest priority, then a weighted random pick.

    A number in [0, sum of weights] picks the first record, zero weights first, whose
    running sum reaches it; so a weight-0 record has the RFC's small 1/(sum+1) chance."""
    best = min(r.priority for r in records)
    group = sorted((r for r in records if r.priority == best), key=lambda r: r.weight != 0)
    point = rng.randint(0, sum(r.weight for r in group))
    running = 0
    for record in group:
        running += record.weight
        if running >= point:
            return record
    return group[-1]


def cache_ttl(cache_control: str | None) -> float:
    """Seconds to keep a well-known answer, from Cache-Control max-age, bounded."""
    low, high, default = WELL_KNOWN_TTL
    for directive in (cache_control or "").split(","):
        match = _MAX_AGE.match(directive)
        if match:
            return min(max(float(match.group(1)), low), high)
    return default


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in JSON object")
    return dict(pairs)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_well_known(body: bytes) -> ServerName:
    """The delegated server name from a well-known body; ValueError/InvalidServerName."""
    doc = json.loads(
        body.decode("utf-8"), object_pairs_hook=_strict_object, parse_constant=_reject_constant
    )
    if not isinstance(doc, dict) or not isinstance(doc.get("server"), str):
        raise ValueError('well-known must be a JSON object with a string "server"')
    return parse_server_name(doc["server"])


class Discovery:
    """Resolve server names to destinations, with a bounded TTL cache."""

    def __init__(
        self,
        nameserver: tuple[str, int] | None = None,
        http: Callable[[], aiohttp.ClientSession] | None = None,
        *,
        scheme: Literal["https", "http"] = "https",
        allow_private: bool = False,
        clock: Callable[[], float] = time.time,
        well_known_port: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        rng: random.Random | None = None,
        dns_timeout: float = 5.0,
        well_known_timeout: float = 10.0,
        negative_ttl: float = 60.0,
        max_entries: int = 4096,
    ) -> None:
        """nameserver None uses the system resolver. http, when given, returns the
        session for well-known fetches (called once; not closed here) and must be built
        on ``netguard.make_connector``; by default Discovery builds and owns one."""
        if scheme not in ("https", "http"):
            raise ValueError(f"scheme must be https or http, not {scheme!r}")
        self.scheme = scheme
        self.clock = clock
        self.negative_ttl = negative_ttl
        self.well_known_port = well_known_port or (443 if scheme == "https" else 80)
        self._nameserver = nameserver
        self._allow_private = allow_private
        self._ssl_context = ssl_context
        self._http_factory = http
        self._session: aiohttp.ClientSession | None = None
        self._owns_session = http is None
        self._rng = rng or random.Random()
        self._dns = make_dns_resolver(nameserver, dns_timeout)
        self._timeout = aiohttp.ClientTimeout(total=well_known_timeout)
        self._cache: TtlCache[Destination | str] = TtlCache(max_entries, clock)

    async def resolve(self, server_name: str) -> Destination:
        """The destination for server_name; InvalidServerName, DiscoveryError."""
        name = parse_server_name(server_name)
        cached = self._cache.get(server_name)
        if cached is not None:
            value, expires_at = cached
            if isinstance(value, str):
                raise DiscoveryError(value)
            return _with_expiry(value, expires_at)
        try:
            found, ttl = await self._discover(server_name, name)
        except DiscoveryError as exc:
            self._cache.put(server_name, str(exc), self.negative_ttl)
            raise
        expires_at = self._cache.put(server_name, found, ttl)
        return _with_expiry(found, expires_at)

    def invalidate(self, server_name: str) -> None:
        """Forget the cached result for server_name (e.g. after connection failures)."""
        self._cache.pop(server_name)

    async def close(self) -> None:
        """Close the session this Discovery created (if any)."""
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    async def _discover(self, server_name: str, name: ServerName) -> tuple[Destination, float]:
        direct = self._direct(server_name, name, name.host, "literal")
        if direct is not None:
            return direct, LITERAL_TTL
        via_srv = await self._srv(server_name, name.host, name.host, "srv")
        if via_srv is not None:
            return via_srv
        delegated, reason, wk_ttl = await self._well_known(name.host)
        if delegated is None:
            log.info("discovery of %s: no usable well-known (%s), using port %d",
                     server_name, reason, DEFAULT_PORT)
            dest = self._dest(server_name, name.host, DEFAULT_PORT, name.host, "default")
            return dest, self.negative_ttl
        found, ttl = await self._delegated(server_name, delegated)
        return found, min(ttl, wk_ttl)

    async def _delegated(
        self, server_name: str, delegated: ServerName
    ) -> tuple[Destination, float]:
        direct = self._direct(server_name, delegated, delegated.host, "well-known")
        if direct is not None:
            return direct, LITERAL_TTL
        via_srv = await self._srv(server_name, delegated.host, delegated.host, "well-known")
        if via_srv is not None:
            return via_srv
        dest = self._dest(server_name, delegated.host, DEFAULT_PORT, delegated.host, "well-known")
        return dest, LITERAL_TTL

    def _direct(
        self, server_name: str, name: ServerName, tls_name: str, source: Source
    ) -> Destination | None:
        if not name.is_ip and name.port is None:
            return None
        return self._dest(server_name, name.host, name.port or DEFAULT_PORT, tls_name, source)

    def _dest(
        self, server_name: str, host: str, port: int, tls_name: str, source: Source
    ) -> Destination:
        return Destination(
            server_name=server_name, host=host, port=port, tls_name=tls_name,
            base_url=f"{self.scheme}://{_url_host(host)}:{port}", source=source, expires_at=0.0,
        )

    async def _srv(
        self, server_name: str, host: str, tls_name: str, source: Source
    ) -> tuple[Destination, float] | None:
        records, ttl = await self.lookup_srv(host)
        if not records:
            return None
        chosen = choose_srv(records, self._rng)
        dest = self._dest(server_name, chosen.target, chosen.port, tls_name, source)
        return dest, min(max(ttl, SRV_TTL[0]), SRV_TTL[1])

    async def lookup_srv(self, host: str) -> tuple[list[SrvRecord], float]:
        """Valid ``_kontor._tcp`` records of host and their TTL; [] when none exist."""
        qname = f"_kontor._tcp.{host}."
        try:
            answer = await self._dns.resolve(qname, "SRV", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return [], 0.0
        except dns.exception.DNSException as exc:
            raise DiscoveryError(f"SRV lookup of {qname} failed: {exc}") from exc
        rrset = answer.rrset
        if rrset is None or len(rrset) == 0:
            return [], 0.0
        if len(rrset) > MAX_SRV_RECORDS:
            raise DiscoveryError(f"{qname}: {len(rrset)} SRV records, limit {MAX_SRV_RECORDS}")
        if len(rrset) == 1 and next(iter(rrset)).target == dns.name.root:
            raise DiscoveryError(f"{qname}: service explicitly not offered (target '.')")
        records = [r for r in map(_srv_record, rrset) if r is not None]
        if not records:
            raise DiscoveryError(f"{qname}: no valid SRV record")
        return records, float(rrset.ttl)

    async def _well_known(self, host: str) -> tuple[ServerName | None, str, float]:
        """(delegated name, "", ttl) or (None, reason, 0)."""
        url = f"{self.scheme}://{_url_host(host)}:{self.well_known_port}{WELL_KNOWN_PATH}"
        try:
            async with self._http().get(
                url, allow_redirects=False, timeout=self._timeout
            ) as resp:
                if resp.status != 200:
                    return None, f"HTTP {resp.status}", 0.0
                body = await _read_limited(resp, WELL_KNOWN_MAX_BYTES)
                ttl = cache_ttl(resp.headers.get("Cache-Control"))
            return parse_well_known(body), "", ttl
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return None, f"fetch failed: {type(exc).__name__}: {exc}", 0.0
        except (ValueError, RecursionError) as exc:
            return None, f"invalid well-known: {exc}", 0.0

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            if self._http_factory is not None:
                self._session = self._http_factory()
            else:
                resolver = GuardedResolver(self._nameserver, allow_private=self._allow_private)
                self._session = aiohttp.ClientSession(
                    connector=make_connector(resolver, self._ssl_context, limit=20)
                )
        return self._session


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _with_expiry(dest: Destination, expires_at: float) -> Destination:
    return dataclasses.replace(dest, expires_at=expires_at)


def _srv_record(rdata: Any) -> SrvRecord | None:
    """One SRV rdata as a record, or None (logged) when its target or port is unusable."""
    target = rdata.target.to_text(omit_final_dot=True)
    try:
        parsed = parse_server_name(target)
    except InvalidServerName:
        parsed = None
    if parsed is None or parsed.port is not None or not 1 <= rdata.port <= 65535:
        log.warning("ignoring SRV record with target %r port %s", target[:300], rdata.port)
        return None
    return SrvRecord(rdata.priority, rdata.weight, rdata.port, parsed.host)


async def _read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or ValueError when it is larger than limit bytes."""
    if resp.content_length is not None and resp.content_length > limit:
        raise ValueError(f"body of {resp.content_length} bytes, limit {limit}")
    body = b""
    while len(body) <= limit:
        chunk = await resp.content.read(limit + 1 - len(body))
        if not chunk:
            return body
        body += chunk
    raise ValueError(f"body larger than {limit} bytes")
