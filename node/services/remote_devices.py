"""The one owner of remote addresses' device lists (the ``fed_remote_devices`` cache).

A remote address's list is fetched from its own node (``GET /devices/{address}``),
every device's keys are checked (``keycheck``; a device with bad keys is dropped), and
the verified list is kept. Every path of the node that needs such a list asks here:
the client API's ``GET /keys/devices/{address}`` and the automation device (both through
``routing.devices``), a send (``messaging.send`` asks ``ensure_fresh`` before its
transaction, which then checks the envelopes against ``known_device_ids``), the
outbox's stale mark on ``DEVICE_MISMATCH`` (``mark_stale_txn``), and the data-rights
export (``exported``).

Freshness: a kept list is *fresh* while less than ``MAX_AGE_MS`` (60 s) have passed
since the fetch that stored it and no stale mark came since that fetch's request was
sent; a fresh list is answered without asking the peer. A stale mark comes when the
address's node answers an item ``DEVICE_MISMATCH`` (its devices changed): the next
request fetches anew. A mark that comes while a fetch is under way is kept, so the
answer of a request sent before the change never makes the list fresh again.

Single flight: requests for one address while its fetch is under way wait for that
fetch, so N concurrent requests cost one federation request. When the peer cannot be
reached (503 ``UNREACHABLE``, ``REMOTE_UNAVAILABLE``, ...), the last verified list is
answered with ``"stale": true`` (a send then queues); with none kept, the error is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from federation import storage as fed_store
from node.errors import ShuttingDown, Unavailable
from node.services.accounts import now_ms
from node.storage.db import Database

MAX_AGE_MS = 60_000

Fetch = Callable[[str], Awaitable[list[dict[str, Any]]]]


@dataclass
class RemoteDevices:
    """Remote device lists: ``fetch`` asks the address's node for the verified list."""

    db: Database
    fetch: Fetch
    max_age_ms: int = MAX_AGE_MS
    fetches: int = 0  # federation requests made (for tests and benchmarks)
    _flights: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _closed: bool = False

    async def get(self, address: str) -> dict[str, Any]:
        """``{"address", "devices"}``: the kept list while fresh, else fetched (once for
        all who ask meanwhile); the kept list with ``"stale": true`` when unreachable.
        503 ``SHUTTING_DOWN`` once ``close`` has begun."""
        if self._closed:
            raise ShuttingDown()
        cached = await self.db.read(fed_store.get_remote_devices, address)
        if cached is not None and _usable(cached[0]) and self._fresh(cached[1], cached[2],
                                                                     now_ms()):
            return {"address": address, "devices": cached[0]}
        return await self._fetched(address)

    async def ensure_fresh(self, address: str) -> None:
        """What a send asks before its transaction (which reads the ids with
        ``known_device_ids``): as ``get``, without reading a fresh list into Python."""
        if self._closed:
            raise ShuttingDown()
        age = await self.db.read(fed_store.remote_devices_age, address)
        if age is not None and age[2] and self._fresh(age[0], age[1], now_ms()):
            return
        await self._fetched(address)

    async def _fetched(self, address: str) -> dict[str, Any]:
        """The single-flight fetch of ``address``'s list (see ``get``)."""
        flight = self._flights.get(address)
        if flight is None or flight.done():
            flight = self._flights[address] = asyncio.ensure_future(self._refetch(address))
            flight.add_done_callback(lambda done: self._landed(address, done))
        try:
            return await asyncio.shield(flight)  # one caller's cancel stops no other's
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._closed and flight.cancelled() and not (task and task.cancelling()):
                raise ShuttingDown() from None  # (the fetch was stopped, not the caller)
            raise

    async def close(self) -> None:
        """Stop the fetches under way (their callers hear 503 ``SHUTTING_DOWN``) and
        refuse new ones: nothing outlives the node's federation client."""
        self._closed = True
        flights = list(self._flights.values())
        for flight in flights:
            flight.cancel()
        await asyncio.gather(*flights, return_exceptions=True)

    def _landed(self, address: str, flight: asyncio.Future[dict[str, Any]]) -> None:
        """A fetch ended: the next request starts its own; its error is taken even when
        every caller stopped waiting (no "never retrieved" warning)."""
        if self._flights.get(address) is flight:
            del self._flights[address]
        if not flight.cancelled():
            flight.exception()

    def _fresh(self, fetched_ms: int, stale_ms: int | None, now: int) -> bool:
        return stale_ms is None and 0 <= now - fetched_ms < self.max_age_ms

    async def _refetch(self, address: str) -> dict[str, Any]:
        asked = now_ms()
        self.fetches += 1
        try:
            devices = await self.fetch(address)
        except Unavailable:
            cached = await self.db.read(fed_store.get_remote_devices, address)
            if cached is None or not _usable(cached[0]):
                raise
            return {"address": address, "devices": cached[0], "stale": True}
        await self.db.write(fed_store.store_remote_devices_txn, address, devices, now_ms(),
                            asked)
        return {"address": address, "devices": devices}


def _usable(devices: list[dict[str, Any]]) -> bool:
    """A list kept before lists carried the keys answers nothing (it is fetched anew)."""
    return all("device_keys" in d for d in devices)


def known_device_ids(db: Any, address: str) -> list[str] | None:
    """Inside a transaction: the device ids of the kept list (None: none kept)."""
    return fed_store.remote_device_ids(db, address)


def mark_stale_txn(db: Any, address: str, now: int) -> None:
    """The address's node said its devices changed: the next request fetches anew."""
    fed_store.mark_remote_devices_stale_txn(db, address, now)


def exported(db: Any, address: str) -> dict[str, Any] | None:
    """The kept list of ``address`` for a data-rights export (None: none kept)."""
    cached = fed_store.get_remote_devices(db, address)
    if cached is None:
        return None
    return {"devices": cached[0], "fetched_ms": cached[1], "stale_ms": cached[2]}
