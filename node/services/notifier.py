"""Wake-ups for devices waiting on their event stream (long-poll and WebSocket).

A waiter registers before it reads the stream, so an event committed between the read
and the wait still wakes it. ``close`` (the node is stopping) wakes every waiter and
every later one at once, so long-polls answer and WebSocket pushers stop waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


class Waiter:
    """One registration; ``wait`` returns True if woken, False on timeout."""

    def __init__(self, notifier: Notifier, device_pk: int) -> None:
        self._notifier = notifier
        self.device_pk = device_pk
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def wait(self, timeout: float) -> bool:
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

    def _discard(self, w: Waiter) -> None:
        waiters = self._waiters.get(w.device_pk)
        if waiters is not None:
            waiters.discard(w)
            if not waiters:
                del self._waiters[w.device_pk]
        if not w.future.done():
            w.future.cancel()
