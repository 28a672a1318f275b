"""The connection manager: every TCP connection the node accepts is counted and timed.

aiohttp on its own keeps any number of connections for as long as their clients like, so
a few thousand idle or slow connections from one address used up the node's file
descriptors. Here each accepted connection is a ``ManagedConnection`` (aiohttp's
``RequestHandler`` with accounting) created by one ``ConnectionManager``:

- at most ``[http] max_connections_per_address`` from one client address: the next one
  is answered ``503 TOO_MANY_CONNECTIONS`` and closed;
- at most ``[http] max_connections`` in all: a new connection first evicts the
  connection that has been idle longest (no request being handled: keep-alive, or a
  request head still arriving); when every connection is busy, the new one gets 503;
- a request head must arrive whole within ``header_timeout_seconds`` of its first byte;
- while a request body is incomplete, a gap of ``body_timeout_seconds`` between its
  chunks fails the body read with ``408 BODY_TIMEOUT`` (the connection then closes);
- an idle keep-alive connection closes after ``idle_timeout_seconds`` (aiohttp's
  keep-alive timer, which also runs from the moment a connection opens);
- an answer sent before the body was read is followed by at most ``LINGER_SECONDS`` of
  reading and dropping the rest, then the connection closes;
- ``max_connections`` is fitted to the process's file descriptor limit at start
  (``fit_descriptor_limit``), so ``accept()`` never runs out of descriptors.

A malformed request or a client gone mid-request is logged as one INFO line instead of
aiohttp's ERROR with a traceback. WebSockets are upgraded requests, hence busy: their
liveness is the heartbeat of the WebSocket handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from node.errors import BodyTimeout
from node.settings import HttpSettings

log = logging.getLogger("kontor.connections")

#: Descriptors kept free for the database, media files and outgoing connections.
RESERVED_DESCRIPTORS = 256
BACKLOG = 512
#: After an answer sent before its request's body was read (413, 401, 408), the rest of
#: the body is read and dropped for at most this long, so that the client, still
#: sending, reads the answer instead of a reset; then the connection closes.
LINGER_SECONDS = 2.0
_REFUSAL = (b'{"error": {"code": "TOO_MANY_CONNECTIONS", "message": "this node has too '
            b'many open connections; try again shortly"}}')
REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
           + str(len(_REFUSAL)).encode() + b"\r\n\r\n" + _REFUSAL)


@dataclass(frozen=True)
class Limits:
    """The connection limits of ``[http]``."""

    idle_timeout: float
    header_timeout: float
    body_timeout: float
    max_connections: int
    max_per_address: int

    @classmethod
    def from_settings(cls, http: HttpSettings) -> Limits:
        return cls(http.idle_timeout_seconds, http.header_timeout_seconds,
                   http.body_timeout_seconds, fit_descriptor_limit(http.max_connections),
                   http.max_connections_per_address)


def fit_descriptor_limit(wanted: int) -> int:
    """Raise the soft descriptor limit so ``wanted`` connections fit, as far as the hard
    limit allows; the number of connections that fit (logged when less than wanted)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + RESERVED_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY or soft >= need:
        return wanted
    fitted = max(1, soft - RESERVED_DESCRIPTORS)
    log.warning("the file descriptor limit (%d) leaves room for %d connections, not the "
                "%d of [http] max_connections; raise `ulimit -n`", soft, fitted, wanted)
    return fitted


class ManagedConnection(RequestHandler):
    """aiohttp's connection protocol, counted and timed by a ``ConnectionManager``."""

    def __init__(self, server: web.Server, manager: ConnectionManager, **kwargs: Any) -> None:
        super().__init__(server, loop=manager.loop, **kwargs)
        self.manager = manager
        self.address = ""
        self.idle_since = manager.loop.time()
        self.head_started: float | None = None  # first byte of a request head
        self.body_seen = 0.0  # the last bytes while a request is being handled
        self.admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if peer else ""
        super().connection_made(transport)
        self.admitted = self.manager.admit(self)
        if not self.admitted:
            transport.write(REFUSAL)  # type: ignore[attr-defined]
            self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.admitted:
            self.manager.release(self)
            self.admitted = False
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        now = self.manager.loop.time()
        if self.busy:
            self.body_seen = now
        elif data and self.head_started is None:
            self.head_started = now
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:
            self.head_started = None
            self.body_seen = now

    @property
    def busy(self) -> bool:
        """A request (or an upgraded WebSocket) is being handled."""
        return self._current_request is not None

    def current_body(self) -> Any:
        """The body stream of the request being handled, if it is still arriving."""
        request = self._current_request
        content = getattr(request, "content", None) if request is not None else None
        return None if content is None or content.is_eof() else content

    def log_access(self, request: Any, response: Any, time: float | None) -> None:
        self.idle_since = self.manager.loop.time()
        super().log_access(request, response, time)

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """aiohttp's "Error handling request" and "Unhandled exception": a malformed
        request or a client gone is the client's affair, one INFO line; anything else
        stays an error with its traceback."""
        exc = kw.get("exc_info")
        if isinstance(exc, HttpProcessingError):
            first = str(exc.message).strip().splitlines()[:1] or [""]
            log.info("malformed request from %s: %s %s", self.address, exc.code, first[0])
        elif isinstance(exc, BodyTimeout):  # raised again while lingering: already answered
            log.debug("closing a connection from %s: %s", self.address, exc)
        elif isinstance(exc, ConnectionError):
            log.info("client %s went away: %s", self.address, exc or type(exc).__name__)
        else:
            super().log_exception(*args, **kw)


class ConnectionManager:
    """Admits, times and evicts the node's connections (module docstring)."""

    def __init__(self, server: web.Server, limits: Limits, **handler_args: Any) -> None:
        self.server = server
        self.limits = limits
        self.loop = asyncio.get_running_loop()
        self.connections: set[ManagedConnection] = set()
        self.per_address: Counter[str] = Counter()
        self.refused = 0
        self._args = {"keepalive_timeout": limits.idle_timeout,
                      "lingering_time": LINGER_SECONDS,
                      "access_log": None, **handler_args}
        self._sweeper: asyncio.Task[None] | None = None

    def __call__(self) -> ManagedConnection:
        """A protocol for one new connection (the ``loop.create_server`` factory)."""
        return ManagedConnection(self.server, self, **self._args)

    def admit(self, conn: ManagedConnection) -> bool:
        """Count ``conn`` in, evicting the longest idle connection when full."""
        if self.per_address[conn.address] >= self.limits.max_per_address:
            return self._refuse(conn, "per address")
        if len(self.connections) >= self.limits.max_connections:
            idle = [c for c in self.connections if not c.busy]
            if not idle:
                return self._refuse(conn, "in all")
            oldest = min(idle, key=lambda c: c.head_started or c.idle_since)
            self.release(oldest)
            oldest.force_close()
        self.connections.add(conn)
        self.per_address[conn.address] += 1
        return True

    def _refuse(self, conn: ManagedConnection, which: str) -> bool:
        self.refused += 1
        log.warning("refused a connection from %s: too many connections %s",
                    conn.address, which)
        return False

    def release(self, conn: ManagedConnection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            conn.admitted = False
            self.per_address[conn.address] -= 1
            if self.per_address[conn.address] <= 0:
                del self.per_address[conn.address]

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="connections")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

    async def _sweep_forever(self) -> None:
        tick = min(1.0, max(0.05, min(self.limits.header_timeout,
                                      self.limits.body_timeout) / 4))
        while True:
            await asyncio.sleep(tick)
            self.sweep(self.loop.time())

    def sweep(self, now: float) -> None:
        """Close slow request heads; fail stalled request bodies."""
        for conn in list(self.connections):
            if not conn.busy:
                started = conn.head_started
                if started is not None and now - started > self.limits.header_timeout:
                    log.debug("closing a connection from %s: request head not complete "
                             "after %s s", conn.address, self.limits.header_timeout)
                    self.release(conn)
                    conn.force_close()
                continue
            conn.head_started = None
            body = conn.current_body()
            if body is not None and now - conn.body_seen > self.limits.body_timeout:
                body.set_exception(BodyTimeout(self.limits.body_timeout))
                conn.body_seen = now  # once per stall


class ManagedSite(web.BaseSite):
    """A TCP listener whose connections a ``ConnectionManager`` creates."""

    def __init__(self, runner: web.BaseRunner, manager: ConnectionManager, host: str,
                 port: int, ssl_context: Any = None) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=BACKLOG)
        self.manager, self.host, self.port = manager, host, port

    @property
    def name(self) -> str:
        return f"{'https' if self._ssl_context else 'http'}://{self.host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        self._server = await asyncio.get_running_loop().create_server(
            self.manager, self.host, self.port, ssl=self._ssl_context,
            backlog=self._backlog, reuse_address=True,
            ssl_handshake_timeout=self.manager.limits.header_timeout
            if self._ssl_context else None)
        self.manager.start()

    async def stop(self) -> None:
        await self.manager.close()
        await super().stop()
