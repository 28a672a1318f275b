"""``Client.events()`` and ``Client.messages()``: the stream of a device's events.

Over a WebSocket when possible, else by long-poll; lost connections, 5xx, garbled
answers and 429 are waited out with backoff; each event the receiver stored is handed
over once (``receiving``). A mixin of ``Client``, kept apart to keep that module small.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from node.client.errors import ApiError, ClientError, DeviceRevoked, is_transient, retry_delay
from node.client.models import Event, Message
from node.client.transport import HttpTransport

if TYPE_CHECKING:
    from node.client.receiving import Receiver
    from node.client.transport import Transport

log = logging.getLogger("kontor.client")

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0


class Streaming:
    """What ``Client`` gives ``events()``; see the module docstring."""

    transport: Transport
    _receiver: Receiver
    _recv_lock: asyncio.Lock
    _closed: asyncio.Event

    @property
    def http(self) -> HttpTransport:
        raise NotImplementedError

    async def events(self, *, websocket: bool = True,
                     poll_timeout_ms: int = 25_000) -> AsyncIterator[Event]:
        """Messages, receipts and ``DeliveryFailed`` events as they arrive, each once,
        until ``close()``: over a WebSocket when possible, else by long-poll. Rides out
        lost connections, 5xx, garbled answers and 429 by itself; raises only what
        retrying cannot fix (a revoked device: ``Unauthorized``)."""
        backoff = FIRST_BACKOFF
        websocket = websocket and isinstance(self.transport, HttpTransport)
        while not self._closed.is_set():
            while handed := self._handed():
                yield handed[0]
            try:
                if websocket:
                    async for _ in self._websocket_batches():
                        backoff = FIRST_BACKOFF
                        while handed := self._handed():
                            yield handed[0]
                else:
                    async with self._recv_lock:
                        await self._receiver.fetch(poll_timeout_ms)
                    backoff = FIRST_BACKOFF
                    continue
            except ClientError as exc:
                if isinstance(exc, DeviceRevoked):
                    raise  # (the store is wiped already: _revoked)
                if self._closed.is_set():
                    return
                if isinstance(exc, ApiError) and exc.code == "WEBSOCKET_REFUSED":
                    websocket = False  # a proxy that passes no WebSocket: long-poll
                    continue
                if not is_transient(exc):
                    raise
                log.info("receiving failed (%s); retrying in %.1fs", exc, backoff)
                await self._pause(retry_delay(exc, backoff))
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            await self._pause(backoff)  # the socket closed: reconnect after a pause
            backoff = min(backoff * 2, MAX_BACKOFF)


    def _handed(self) -> list[Event]:
        """The next waiting event, taken out of the inbox (empty: none, or closed)."""
        return [] if self._closed.is_set() else self._receiver.take(1)

    async def _websocket_batches(self) -> AsyncIterator[None]:
        """Store each pushed batch and acknowledge it; yields after each."""
        async with self._recv_lock:
            await self._receiver.ack()
            if self._receiver.after_batch is not None:  # work left from before (history)
                await self._receiver.after_batch()
        async for batch in self.http.websocket(self._receiver.position(),
                                               self._receiver.epoch()):
            if batch.get("type") != "events":
                continue
            async with self._recv_lock:
                await self._receiver.follow_epoch(batch)
                await self._receiver.store_batch(batch.get("events") or [],
                                                 batch.get("next"))
                await self._receiver.ack(self.http.ws_ack)
            yield None

    async def _pause(self, seconds: float) -> None:
        """Wait before reconnecting (backoff, not synchronisation); ends early on close."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)

    async def messages(self, *, websocket: bool = True,
                       poll_timeout_ms: int = 25_000) -> AsyncIterator[Message]:
        """Only the messages of ``events()`` (receipts are applied to the history)."""
        async for event in self.events(websocket=websocket, poll_timeout_ms=poll_timeout_ms):
            if isinstance(event, Message):
                yield event

