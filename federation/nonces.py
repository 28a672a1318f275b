"""Replay protection: remember each (origin, nonce) until its signature can no longer pass.

A verified federation request (``signatures.verify_kontor_request``) carries a nonce
and ``accept_until``, the last moment its signature would still be accepted. The
receiver calls ``NonceCache.check_and_remember(origin, nonce, accept_until, now)``
before acting on the request: a nonce seen before raises ``ReplayError``
(``REPLAYED_NONCE``). Entries are dropped once ``now`` passes their expiry; after that
the signature check itself refuses the request, so forgetting is safe.

Memory is bounded; unexpired entries are never evicted (evicting one would reopen a
replay). Instead, when there is no room the new nonce is refused with
``NonceCapacityError`` (``NONCE_CACHE_FULL``; the node answers 429 and the peer retries):

- one origin holds at most ``max_per_origin`` entries;
- above a high-water mark (90% of ``max_entries``) an origin holding more than its fair
  share (``total / origins``) is refused, so the noisiest origins are turned away first
  and quieter ones keep working;
- at ``max_entries`` every new nonce is refused.

Expiry is kept in one-second buckets, so remembering and purging cost O(1) amortised
per entry. ``window_seconds`` is the longest an entry may be kept: a nonce whose expiry
lies further ahead is refused with ``NonceError`` rather than forgotten early. Set it to
at least the verifier's ``max_lifetime + 2 * max_skew`` (the furthest ``accept_until``
can lie ahead of ``now``).
"""

from __future__ import annotations

import math
from collections import Counter

from federation.errors import FederationError

MAX_ORIGIN_LENGTH = 255
MAX_NONCE_LENGTH = 128
HIGH_WATER = 0.9


class NonceError(FederationError):
    """A nonce cannot be accepted; ``code`` says why (an over-long origin or nonce, or
    an expiry further ahead than the window: ``MALFORMED_SIGNATURE``)."""

    status, code = 400, "MALFORMED_SIGNATURE"


class ReplayError(NonceError):
    """The (origin, nonce) pair was seen before."""

    status, code = 401, "REPLAYED_NONCE"


class NonceCapacityError(NonceError):
    """No room to remember the nonce; the request should be retried later (429, in a
    second)."""

    status, code = 429, "NONCE_CACHE_FULL"

    def __init__(self, message: str) -> None:
        super().__init__(message, details={"retry_after_ms": 1000})


class NonceCache:
    """Bounded memory of recently seen (origin, nonce) pairs."""

    def __init__(self, window_seconds: float, max_entries: int,
                 max_per_origin: int | None = None) -> None:
        if window_seconds <= 0 or max_entries <= 0:
            raise ValueError("window_seconds and max_entries must be positive")
        self.window_seconds = window_seconds
        self.max_entries = max_entries
        self.max_per_origin = max_per_origin or max(1, max_entries // 4)
        self._expiry: dict[tuple[str, str], int] = {}
        self._buckets: dict[int, list[tuple[str, str]]] = {}
        self._per_origin: Counter[str] = Counter()
        self._next_purge = math.inf

    def __len__(self) -> int:
        return len(self._expiry)

    def count(self, origin: str) -> int:
        """Entries currently held for ``origin``."""
        return self._per_origin[origin]

    def check_and_remember(self, origin: str, nonce: str, expires: float, now: float) -> None:
        """Refuse a replayed nonce, else remember it until ``expires``.

        Raises ``ReplayError`` or ``NonceCapacityError``; ``NonceError`` for an over-long
        origin or nonce, or an expiry more than ``window_seconds`` ahead.
        """
        if len(origin) > MAX_ORIGIN_LENGTH or len(nonce) > MAX_NONCE_LENGTH:
            raise NonceError("origin or nonce too long")
        if expires > now + self.window_seconds:
            raise NonceError(f"nonce expiry more than {self.window_seconds} seconds ahead")
        self.purge(now)
        key = (origin, nonce)
        if key in self._expiry:
            raise ReplayError(f"this request was already received (nonce seen before from "
                              f"{origin})")
        if expires < now:
            return  # already unacceptable to the signature check; nothing to remember
        self._make_room_for(origin)
        bucket = math.ceil(expires)
        self._expiry[key] = bucket
        self._buckets.setdefault(bucket, []).append(key)
        self._per_origin[origin] += 1
        self._next_purge = min(self._next_purge, bucket)

    def _make_room_for(self, origin: str) -> None:
        held, total = self._per_origin[origin], len(self._expiry)
        if held >= self.max_per_origin:
            raise NonceCapacityError(f"too many recent requests from {origin}")
        if total >= self.max_entries:
            raise NonceCapacityError("replay cache full")
        if total >= HIGH_WATER * self.max_entries and held >= total / len(self._per_origin):
            raise NonceCapacityError(f"replay cache nearly full; {origin} holds the most")

    def purge(self, now: float) -> None:
        """Forget every entry whose expiry is before ``now``."""
        if self._next_purge >= now:
            return
        first, last = int(self._next_purge), math.ceil(now)  # due buckets: [first, last)
        due = (range(first, last) if last - first <= len(self._buckets)
               else [b for b in self._buckets if b < now])
        for bucket in due:
            for key in self._buckets.pop(bucket, ()):
                del self._expiry[key]
                self._drop_origin(key[0])
        self._next_purge = math.ceil(now) if self._buckets else math.inf

    def _drop_origin(self, origin: str) -> None:
        self._per_origin[origin] -= 1
        if self._per_origin[origin] <= 0:
            del self._per_origin[origin]
