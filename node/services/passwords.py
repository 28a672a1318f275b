"""A bounded pool for argon2id password hashing.

Each argon2id hash or check takes 64 MiB (libsodium's interactive limit) while it runs.
Run in the default executor, a burst of registrations or logins took as many of those
at once as it has threads (about 2 GiB on a 32-thread host). Here at most ``workers``
run at once, at most ``queue`` more wait, and a request beyond that is told 429
``RATE_LIMITED`` with ``Retry-After``. So the node's memory for hashing stays near
``workers * 64 MiB`` whatever the burst.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from node.errors import RateLimited

T = TypeVar("T")

HASH_MEMORY_BYTES = 64 * 1024 * 1024  # nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE


class PasswordHasher:
    """``run(fn, ...)`` on one of ``workers`` threads, with ``queue`` waiting places."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.queue = queue
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="kontor-argon2")
        self._admitted = 0  # running plus waiting
        self._seconds = 0.1  # moving average of one hash, for Retry-After

    @property
    def admitted(self) -> int:
        """Hashes running or waiting now."""
        return self._admitted

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the pool; RateLimited when the pool and its queue are full."""
        if self._admitted >= self.workers + self.queue:
            raise RateLimited("too many password checks at once; retry shortly",
                              retry_after_ms=self._retry_after_ms())
        self._admitted += 1
        try:
            start = time.monotonic()
            result = await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
            self._seconds = 0.8 * self._seconds + 0.2 * (time.monotonic() - start)
            return result
        finally:
            self._admitted -= 1

    def _retry_after_ms(self) -> int:
        rounds = math.ceil(self._admitted / self.workers)
        return max(1000, int(rounds * self._seconds * 1000))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
