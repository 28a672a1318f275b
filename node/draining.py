"""Stopping within ``[http] shutdown_grace_seconds``.

aiohttp's runner, told to stop, closes the listener and then runs ``on_shutdown``;
afterwards it waits for unfinished requests, cancels them and waits again, each time up
to its ``shutdown_timeout``, before the app's cleanup closes federation and the
database. Streams never finish by themselves (a WebSocket stays open, a long-poll waits
up to 30 s), so left to that, a stop with chat clients connected takes twice the grace
and more.

``drain`` is the app's ``on_shutdown`` step and does the waiting itself, against one
deadline:

1. every WebSocket is closed with 1001 "going away" and every waiting long-poll is
   answered at once (``Notifier.close``: no events, the client's position unchanged),
   so clients learn at the start of the stop that they must reconnect later;
2. other requests in flight get the rest of the handler budget (the grace minus a
   reserve for the cleanup) to finish;
3. whatever still runs then is cancelled.

So the runner finds nothing left to wait for, and the whole stop stays inside the grace.
``track_requests`` (a middleware) is what knows which requests are in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, web

from node.appkeys import CONFIG, NOTIFIER

log = logging.getLogger("kontor.server")

CLEANUP_RESERVE_SECONDS = 2.0
WS_CLOSE_REASON = b"GOING_AWAY"


class InFlight:
    """The tasks serving a request right now, and the open WebSockets."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[object]] = set()
        self.sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.idle = asyncio.Event()
        self.idle.set()

    def enter(self, task: asyncio.Task[object]) -> None:
        self.tasks.add(task)
        self.idle.clear()

    def leave(self, task: asyncio.Task[object]) -> None:
        self.tasks.discard(task)
        if not self.tasks:
            self.idle.set()


IN_FLIGHT = web.AppKey("in_flight", InFlight)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def install(app: web.Application) -> None:
    """Track requests and drain them on shutdown (called by ``create_app``)."""
    app[IN_FLIGHT] = InFlight()
    app.middlewares.insert(0, track_requests)
    app.on_shutdown.append(drain)


@web.middleware
async def track_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Remember the task serving ``request`` while it runs."""
    in_flight = request.app[IN_FLIGHT]
    task = asyncio.current_task()
    assert task is not None
    in_flight.enter(task)
    try:
        return await handler(request)
    finally:
        in_flight.leave(task)


def register_socket(request: web.Request, ws: web.WebSocketResponse) -> None:
    """A prepared WebSocket to close with 1001 when the node stops."""
    request.app[IN_FLIGHT].sockets.add(ws)


def handler_budget(grace: float) -> float:
    """Seconds requests may still run once a stop began: the grace less a reserve for
    closing federation and the database."""
    return max(0.0, grace - min(CLEANUP_RESERVE_SECONDS, grace / 4))


async def drain(app: web.Application) -> None:
    """Close streams, let requests finish until the budget is spent, cancel the rest."""
    loop = asyncio.get_running_loop()
    budget = handler_budget(float(app[CONFIG].http.shutdown_grace_seconds))
    deadline = loop.time() + budget
    in_flight = app[IN_FLIGHT]
    app[NOTIFIER].close()
    sockets = list(in_flight.sockets)
    if sockets:
        closes = [ws.close(code=WSCloseCode.GOING_AWAY, message=WS_CLOSE_REASON)
                  for ws in sockets]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*closes, return_exceptions=True),
                                   max(0.0, deadline - loop.time()))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(in_flight.idle.wait(), max(0.0, deadline - loop.time()))
    left = list(in_flight.tasks)
    if left:
        log.warning("stopping: %d request(s) still running after %.1fs; cancelling them",
                    len(left), budget)
        for task in left:
            task.cancel()
        await asyncio.wait(left, timeout=CLEANUP_RESERVE_SECONDS / 2)
