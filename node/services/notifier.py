"""Wake-ups for devices waiting on their event stream (long-poll and WebSocket).

A waiter registers before it reads the stream, so an event committed between the read
and the wait still wakes it. ``close`` (the node is stopping) wakes every waiter and
every later one at once, so long-polls answer and WebSocket pushers stop waiting.

Revocation: ``revoke(pk)`` ends every waiter of a device at once (its long-polls answer
401 ``DEVICE_REVOKED``, its WebSockets close with 4001). Device keys are never reused
(``AUTOINCREMENT``), so a revoked key stays revoked; ``watch_revocations`` finds
devices removed by another process (``kontor device revoke``) within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger("kontor.notifier")

REVOCATION_CHECK_SECONDS = 1.0


class Waiter:
    """One registration; ``wait`` returns True if woken, False on timeout."""

    def __init__(self, notifier: Notifier, device_pk: int) -> None:
        self._notifier = notifier
        self.device_pk = device_pk
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.revoked = device_pk in notifier._revoked

    async def wait(self, timeout: float) -> bool:
        if self.revoked:
            return True
        try:
            await asyncio.wait_for(asyncio.shield(self.future), timeout)
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self._notifier._discard(self)

    def __enter__(self) -> Waiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Notifier:
    """Per-device waiters, woken after new events for that device commit."""

    def __init__(self) -> None:
        self._waiters: dict[int, set[Waiter]] = {}
        self.closed = False
        self._revoked: set[int] = set()
        self._check = asyncio.Event()

    def waiter(self, device_pk: int) -> Waiter:
        w = Waiter(self, device_pk)
        if self.closed:
            w.future.set_result(None)
        else:
            self._waiters.setdefault(device_pk, set()).add(w)
        return w

    def close(self) -> None:
        """The node is stopping: wake every waiter now and every later one at once."""
        self.closed = True
        self.notify(list(self._waiters))

    def waiting(self, device_pk: int) -> int:
        """How many requests wait for events of the device (long-polls, sockets)."""
        return len(self._waiters.get(device_pk, ()))

    def notify(self, device_pks: Iterable[int]) -> None:
        for pk in set(device_pks):
            for w in self._waiters.pop(pk, ()):
                if not w.future.done():
                    w.future.set_result(None)

    def revoke(self, device_pks: Iterable[int]) -> None:
        """The devices are gone: wake their waiters as revoked, and any later ones."""
        for pk in set(device_pks):
            self._revoked.add(pk)
            for w in self._waiters.get(pk, ()):
                w.revoked = True
            self.notify([pk])

    def is_revoked(self, device_pk: int) -> bool:
        return device_pk in self._revoked

    def check_revocations(self) -> None:
        """Ask ``watch_revocations`` to look now (after this process removed devices)."""
        self._check.set()

    async def watch_revocations(self, live: Callable[[list[int]], Awaitable[set[int]]]
                                ) -> None:
        """Forever: revoke waited-on devices that ``live`` no longer finds."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._check.wait(), REVOCATION_CHECK_SECONDS)
            self._check.clear()
            pks = [pk for pk in self._waiters if pk not in self._revoked]
            if not pks:
                continue
            try:
                gone = set(pks) - await live(pks)
            except Exception as exc:  # a storage problem; /health reports it
                log.warning("could not check for revoked devices: %s", exc)
                continue
            if gone:
                self.revoke(gone)

    def _discard(self, w: Waiter) -> None:
        waiters = self._waiters.get(w.device_pk)
        if waiters is not None:
            waiters.discard(w)
            if not waiters:
                del self._waiters[w.device_pk]
        if not w.future.done():
            w.future.cancel()
