"""How many guest accounts one client address may create (``[webchat]`` per hour and
per day), counted in memory.

An IPv4 address counts on its own, an IPv6 address by its /64 (one household or phone
gets a whole /64). Only created guests are counted: ``take`` records one after the
proof verified, ``give_back`` undoes it when the creation failed after all.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from node.errors import RateLimited

HOUR = 3600.0
DAY = 24 * HOUR
MAX_TRACKED = 100_000


class GuestLimit(RateLimited):
    """429 ``GUEST_LIMIT``; ``scope`` says which limit: ``hour``, ``day`` or ``node``."""

    code = "GUEST_LIMIT"

    def __init__(self, message: str, *, retry_after_ms: int, scope: str) -> None:
        super().__init__(message, retry_after_ms=retry_after_ms)
        self.details["scope"] = scope


def network_of(remote: str) -> str:
    """The key an address is counted under: the IPv4 address, or the IPv6 /64."""
    try:
        ip = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return remote[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class GuestLimits:
    """Guests created per network in the last hour and day."""

    def __init__(self, per_hour: int, per_day: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour, self.per_day, self.clock = per_hour, per_day, clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, network: str, now: float) -> deque[float]:
        times = self._seen.pop(network, deque())
        while times and times[0] <= now - DAY:
            times.popleft()
        self._seen[network] = times
        while len(self._seen) > MAX_TRACKED:
            self._seen.popitem(last=False)
        return times

    def check(self, network: str) -> None:
        """Raise GuestLimit when ``network`` may not create a guest now."""
        now = self.clock()
        times = self._recent(network, now)
        if len(times) >= self.per_day:
            wait = times[len(times) - self.per_day] + DAY - now
            raise GuestLimit(f"this address created {self.per_day} guest accounts today; "
                             "try again later", retry_after_ms=int(wait * 1000) + 1,
                             scope="day")
        last_hour = [t for t in times if t > now - HOUR]
        if len(last_hour) >= self.per_hour:
            wait = last_hour[len(last_hour) - self.per_hour] + HOUR - now
            raise GuestLimit(f"this address created {self.per_hour} guest accounts in the "
                             "last hour; try again later", retry_after_ms=int(wait * 1000) + 1,
                             scope="hour")

    def take(self, network: str) -> float:
        """Check, then count one guest for ``network``; returns its mark for give_back."""
        self.check(network)
        now = self.clock()
        self._seen[network].append(now)
        return now

    def give_back(self, network: str, mark: float) -> None:
        """Uncount a guest whose creation failed."""
        times = self._seen.get(network)
        if times is not None and mark in times:
            times.remove(mark)
