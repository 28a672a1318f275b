"""When sealed history copies go up to the node: together, off the path of a send.

A message this device sends or receives is queued in the store (``history_queue``)
and sealed later; the copies that wait go up in one request, at most ``DELAY_S`` after
the first of them was queued, at once when ``BATCH_ITEMS`` wait, on ``flush()`` and
at ``Client.close``. So a device busy with many conversations makes one upload
request a second instead of one per message, and a send is answered without waiting
for its copy. A device that stops before an upload keeps the ids in its store and
sends them after its next batch (docs/sdk.md "History on new devices").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from crypto.errors import CryptoError
from node.client.errors import ClientError

log = logging.getLogger("kontor.client.history")

DELAY_S = 1.0  # the longest a queued copy waits while the device runs
BATCH_ITEMS = 100  # this many waiting go up at once (one request holds up to 100)
CLOSE_TIMEOUT_S = 5.0  # the last upload at close


class Uploader:
    """Schedules ``upload`` (seal and store what waits; returns how many) one at a
    time; ``waiting`` says how many ids wait."""

    def __init__(self, upload: Callable[[], Awaitable[int]],
                 waiting: Callable[[], int]) -> None:
        self._upload, self._waiting = upload, waiting
        self.delay_s = DELAY_S
        self._lock = asyncio.Lock()  # two uploads at once would both take the same ids
        self._timer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # set by close: the timer uploads without waiting
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once ``close`` began: ``soon`` does nothing from then on."""
        return self._closed

    async def soon(self) -> None:
        """After a send or a received batch: upload now when a full batch waits, else
        within ``delay_s`` (one timer for all that arrive meanwhile). Once closing or
        closed, nothing: what waits stays in the store for the next start."""
        waiting = self._waiting()
        if not waiting or self._closed:
            return
        if waiting >= BATCH_ITEMS or self.delay_s <= 0:
            await self.now()
        elif self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._later(), name="kontor-history-upload")

    async def now(self) -> int:
        """Upload what waits, now (after an upload under way); returns how many."""
        async with self._lock:
            return await self._upload()

    async def _later(self) -> None:
        with contextlib.suppress(TimeoutError):  # (woken early by close)
            await asyncio.wait_for(self._wake.wait(), self.delay_s)
        try:
            await self.now()
        except (ClientError, CryptoError) as exc:  # retried after the next batch
            log.info("history upload postponed: %s", exc)
        except Exception:  # a background task: say it, never lose it silently
            log.exception("history upload failed")

    async def close(self) -> None:
        """Upload what waits and end the timer (within ``CLOSE_TIMEOUT_S``; what does
        not make it stays queued in the store). A timer still waiting uploads at once;
        one whose upload is under way is awaited, not cut off in the middle of its
        request (its ids would stay queued and go up a second time)."""
        self._closed = True
        self._wake.set()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                if self._timer is not None:
                    await self._timer  # (it logs its own errors)
                if self._waiting():
                    await self.now()
        except (TimeoutError, ClientError, CryptoError) as exc:
            log.info("history upload left for the next start: %s", exc or "timed out")
