"""Peers' node key documents: fetching, checking (``federation.keydoc``) and caching.

``KeyRing`` answers "which public key is ``key_id`` of ``server``?" for the request
verifier. It serves from its cache while the document is valid and refetches on an
unknown key id, at most once per ``REFETCH_INTERVAL_MS`` per server, so a stream of
forged key ids cannot make us hammer a peer. Documents are fetched only from the
origin's own discovered address, never from a URL taken from a request, and when the
origin publishes a DNS key pin the document's current key must match it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from crypto.encoding import b64decode
from federation import storage
from federation.keydoc import (  # noqa: F401 - re-exported for the node
    KeyLookupError,
    check_document,
    own_document,
)

REFETCH_INTERVAL_MS = 30_000
MAX_TRACKED_SERVERS = 4096
MAX_CONCURRENT_FETCHES = 16

Fetch = Callable[[str], Awaitable[Any]]
Pins = Callable[[str], Awaitable[frozenset[str] | None]]
PinCheck = Callable[[frozenset[str] | None, bytes], None]


def _store_keys_txn(db: Any, server_name: str, keys: list[tuple[str, str, int | None]],
                    now: int) -> None:
    storage.store_remote_keys_txn(db, server_name, keys, now)
    storage.expire_missing_keys_txn(db, server_name, [k[0] for k in keys], now)


def _remember(cache: OrderedDict[str, int], key: str, value: int) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > MAX_TRACKED_SERVERS:
        cache.popitem(last=False)


class KeyRing:
    """Peers' public keys, cached in the database, fetched on demand."""

    def __init__(self, db: Any, fetch: Fetch, pins: Pins | None, check_pin: PinCheck | None,
                 clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._fetch = fetch
        self._pins = pins
        self._check_pin = check_pin
        self._clock = clock
        # Keyed by origin names that requests claim before any proof: bounded (LRU).
        self._last_fetch: OrderedDict[str, int] = OrderedDict()
        self._valid_until: OrderedDict[str, int] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._fetches = asyncio.Semaphore(MAX_CONCURRENT_FETCHES)
        # Verified keys of servers whose document is fresh: no database read per request.
        self._hot: OrderedDict[tuple[str, str], tuple[bytes, int | None]] = OrderedDict()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def public_key(self, server_name: str, key_id: str) -> bytes:
        """The public key ``key_id`` of ``server_name``; KeyLookupError when unknown or
        expired."""
        now = self._now_ms()
        fresh = self._valid_until.get(server_name, 0) > now
        hot = self._hot.get((server_name, key_id)) if fresh else None
        if hot is not None:
            public, expired = hot
            if expired is not None and expired <= now:
                raise KeyLookupError(f"key {key_id} of {server_name} expired", "EXPIRED_KEY")
            return public
        row = await self._db.read(storage.get_remote_key, server_name, key_id)
        if row is None or not fresh:
            lock = self._locks.setdefault(server_name, asyncio.Lock())
            try:
                async with lock:
                    row = await self._db.read(storage.get_remote_key, server_name, key_id)
                    if row is None or self._valid_until.get(server_name, 0) <= now:
                        async with self._fetches:
                            await self._refresh(server_name, now)
                        row = await self._db.read(storage.get_remote_key, server_name,
                                                  key_id)
            finally:
                if not lock.locked():
                    self._locks.pop(server_name, None)
        if row is None:
            raise KeyLookupError(f"{server_name} has no key {key_id}")
        public = b64decode(row["public_key"], 32)
        if row["expired_ms"] is not None and row["expired_ms"] <= now:
            raise KeyLookupError(f"key {key_id} of {server_name} expired", "EXPIRED_KEY")
        return public

    async def _refresh(self, server_name: str, now: int) -> None:
        if now - self._last_fetch.get(server_name, -REFETCH_INTERVAL_MS) < REFETCH_INTERVAL_MS:
            return
        _remember(self._last_fetch, server_name, now)
        try:
            doc = await self._fetch(server_name)
        except Exception as exc:  # any network failure means: key not available now
            raise KeyLookupError(f"cannot fetch the keys of {server_name}: {exc}",
                            "KEY_FETCH_FAILED") from None
        keys, valid_until, current = check_document(doc, server_name, now)
        if self._pins is not None and self._check_pin is not None:
            try:
                self._check_pin(await self._pins(server_name), current)
            except Exception as exc:
                raise KeyLookupError(f"the key of {server_name} does not match its DNS pin "
                                f"({exc})", "KEY_PIN_MISMATCH") from None
        await self._db.write(_store_keys_txn, server_name, keys, now)
        # The memory cache is filled only here, from the document just checked, so a
        # read that raced with this refresh can never put back a key it dropped.
        for cached in [k for k in self._hot if k[0] == server_name]:
            del self._hot[cached]
        for kid, public, expired in keys:
            self._hot[(server_name, kid)] = (b64decode(public, 32), expired)
        while len(self._hot) > MAX_TRACKED_SERVERS:
            self._hot.popitem(last=False)
        _remember(self._valid_until, server_name, valid_until)

    def forget(self, server_name: str) -> None:
        """Drop the freshness of a server's keys (after a pin change, say)."""
        self._valid_until.pop(server_name, None)
        self._last_fetch.pop(server_name, None)
        for cached in [k for k in self._hot if k[0] == server_name]:
            del self._hot[cached]
