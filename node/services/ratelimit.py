"""Token-bucket rate limits, per account and per client address, in memory."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from node.errors import RateLimited

MAX_TRACKED = 100_000


class RateLimiter:
    """``per_minute`` requests per key, with bursts up to the same amount."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(per_minute)
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def check(self, key: str, what: str) -> None:
        """Take one token for ``key``; raise RateLimited when there is none."""
        now = self.clock()
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            wait_ms = int((1.0 - tokens) / self.rate * 1000) + 1
            raise RateLimited(f"too many requests for this {what}; retry in {wait_ms} ms",
                              retry_after_ms=wait_ms)
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)

    def exhausted(self, key: str) -> bool:
        """Whether ``key`` has no token left now (nothing is taken)."""
        tokens, last = self._buckets.get(key, (self.burst, self.clock()))
        return min(self.burst, tokens + (self.clock() - last) * self.rate) < 1.0
