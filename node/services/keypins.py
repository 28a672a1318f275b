"""DNS key pins looked up by the node for browsers, which cannot query DNS.

``GET /keypins/{server}`` answers the ``_kontor-key.<host>`` TXT pins of a server
(``federation/pins.py``) as this node's resolver sees them (``[federation]
dns_nameserver``, else the system's), so that kontor.js can give a business profile the
same "verified" mark as the Python SDK: the browser checks the pin against the key that
signed the document itself. The node fetches nothing named by a request: it sends one DNS
query for a validated server name. Answers are cached by their TTL (clamped to
60 s .. 24 h; no record: 60 s; a failed lookup: 10 s), identical lookups in flight are
shared, and at most ``MAX_INFLIGHT`` names are looked up at once with ``MAX_WAITING``
more waiting; beyond that the caller is told to try again (503).

Trust: the node answers the pin, so a browser trusts its node for it, as it trusts the
node for the code it runs (docs/web.md, "Trust model").
"""

from __future__ import annotations

import asyncio

from federation import pins
from federation.netguard import TtlCache, make_dns_resolver
from federation.servername import InvalidServerName, parse_server_name
from node.errors import InvalidParameter, Unavailable

MAX_INFLIGHT = 8
MAX_WAITING = 64
FAILURE_TTL = 10.0
DNS_TIMEOUT = 5.0


class KeyPins:
    """The node's cached, bounded lookups of servers' DNS key pins."""

    def __init__(self, nameserver: tuple[str, int] | None, max_entries: int = 4096) -> None:
        self._dns = make_dns_resolver(nameserver, DNS_TIMEOUT)
        self._cache: TtlCache[frozenset[str] | None] = TtlCache(max_entries)
        self._failures: TtlCache[str] = TtlCache(max_entries)
        self._inflight: dict[str, asyncio.Task[frozenset[str] | None]] = {}
        self._slots = asyncio.Semaphore(MAX_INFLIGHT)
        self._waiting = 0

    @classmethod
    def for_nameserver(cls, value: str | None) -> KeyPins:
        """Lookups at ``[federation] dns_nameserver`` (``HOST:PORT``), else the system's
        resolver."""
        if not value:
            return cls(None)
        host, _, port = value.rpartition(":")
        return cls((host.strip("[]"), int(port)))

    async def lookup(self, server_name: str) -> tuple[list[str], bool]:
        """(the valid pins, sorted; whether any pin record is published). The pins are
        empty for a server that publishes none (or an IP literal or localhost).
        InvalidParameter for a bad server name; Unavailable when DNS fails or too many
        lookups are under way."""
        try:
            host = parse_server_name(server_name).host.lower().rstrip(".")
        except InvalidServerName as exc:
            raise InvalidParameter(str(exc), code="INVALID_SERVER_NAME") from None
        failed = self._failures.get(host)
        if failed is not None:
            raise Unavailable(failed[0], code="PIN_LOOKUP_FAILED")
        task = self._inflight.get(host)
        if task is None:
            if self._waiting >= MAX_INFLIGHT + MAX_WAITING:
                raise Unavailable("too many key pin lookups at once; try again in a few "
                                  "seconds", code="PIN_LOOKUPS_BUSY")
            self._waiting += 1  # counted now: names asked for in one loop step count too
            task = asyncio.ensure_future(self._resolve(server_name))
            self._inflight[host] = task
            task.add_done_callback(lambda _: self._done(host))
        try:
            found = await asyncio.shield(task)
        except pins.PinLookupError as exc:
            message = f"the node could not look up the key pin of {host} in DNS ({exc}); " \
                      "try again later"
            self._failures.put(host, message, FAILURE_TTL)
            raise Unavailable(message, code="PIN_LOOKUP_FAILED") from None
        return sorted(found or ()), found is not None

    def _done(self, host: str) -> None:
        self._waiting -= 1
        self._inflight.pop(host, None)

    async def _resolve(self, server_name: str) -> frozenset[str] | None:
        async with self._slots:
            return await pins.lookup_pins(self._dns, server_name, cache=self._cache)
