"""Server-name discovery: where to connect for a Kontor server name.

A server name is ``host`` or ``host:port`` (``federation.servername`` validates it);
``Discovery.resolve``
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
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import aiohttp
import dns.exception
import dns.name
import dns.resolver

from federation.delegation import (
    InvalidWellKnown,
    SrvRecord,
    cache_ttl,
    choose_srv,
    parse_well_known,
    srv_record,
)
from federation.errors import FederationError
from federation.netguard import GuardedResolver, TtlCache, make_connector, make_dns_resolver
from federation.servername import InvalidServerName, ServerName, parse_server_name

log = logging.getLogger("kontor.federation.discovery")

DEFAULT_PORT = 8448
MAX_SRV_RECORDS = 16
WELL_KNOWN_PATH = "/.well-known/kontor/server"
WELL_KNOWN_MAX_BYTES = 4096
SRV_TTL = (30.0, 86400.0)
LITERAL_TTL = 86400.0

Source = Literal["literal", "srv", "well-known", "default"]


class DiscoveryError(FederationError):
    """The server name is valid but cannot be resolved now (DNS failure, no service)."""

    status, code = 502, "DISCOVERY_FAILED"


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
        records = [r for r in map(srv_record, rrset) if r is not None]
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
        except InvalidServerName as exc:  # also an oversize body (InvalidWellKnown)
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


async def _read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or InvalidWellKnown when it is larger than limit bytes."""
    if resp.content_length is not None and resp.content_length > limit:
        raise InvalidWellKnown(f"body of {resp.content_length} bytes, limit {limit}")
    body = b""
    while len(body) <= limit:
        chunk = await resp.content.read(limit + 1 - len(body))
        if not chunk:
            return body
        body += chunk
    raise InvalidWellKnown(f"body larger than {limit} bytes")
