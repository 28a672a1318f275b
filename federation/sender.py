"""Outgoing federation: one persistent queue per destination, one transaction in flight.

The algorithm:

1. Accepting. When a client's send targets a remote account, the node writes the items
   for that destination into ``fed_outbox`` inside the same SQLite transaction that
   accepts the send (``storage.enqueue_txn``). Nothing is sent before it is on disk, so
   a crash after "accepted" loses nothing. After the commit the node calls ``wake``.

2. One worker per destination. ``wake`` starts a worker task for the destination
   unless one runs. The worker looks at the head of the queue with a read (an empty
   queue costs no write) and takes the next batch: the unfinished batch if there is
   one (same transaction id, same items, so a retry after a lost answer is recognised
   by the receiver and stored once), else the oldest items up to
   ``batch_max_envelopes`` and ``batch_max_bytes``, which it binds to a fresh
   transaction id in the database before sending. Items leave in queue order and only
   one transaction per destination is in flight, so order is kept per destination.
   A retry time further ahead than ``retry_max_seconds`` (written before the clock
   stepped back) is not waited out beyond that.
   Receipts alone wait for company: when the queue holds only unbound receipts, fewer
   than a full batch, the batch is bound once the oldest of them is
   ``receipt_linger_seconds`` (50 ms) old, or at once when anything else is queued
   behind them; so the receipts of a busy conversation travel many to a transaction.

3. Success. When the destination answers 200 (it answers only after its commit), one
   write deletes the batch, resets the backoff and binds the next batch if one is
   ready (as in step 2; it is read again just before it leaves, since an erasure or
   expiry in between may have changed or unbound it); per-item rejections in the
   answer are reported to ``on_rejected`` with the receiver's result for each (the
   node tells the sending device; a ``DEVICE_MISMATCH`` result names the devices that
   lacked an envelope, so the device can encrypt for them and send the rest) before
   the next batch leaves.
   The worker goes on with the next batch, and ends when the queue is empty.

4. Failure. On a network error, timeout or 5xx/429 the batch stays, the destination's
   failure count rises and the next attempt is scheduled after
   ``min(retry_max, retry_initial * 2**(failures-1))`` seconds, scaled by a random
   factor in [0.5, 1.0] (jitter, so that many nodes do not retry in step). A 4xx
   other than 429 means the destination refuses this batch for good: it is dropped and
   every item reported to ``on_rejected``.

5. Coming back. When a peer contacts us (any verified inbound request), ``peer_alive``
   resets its backoff and wakes its worker: a peer's restart costs seconds, not the
   remainder of an hour-long backoff. Since items stay queued in order until
   acknowledged, everything missed during an outage is replayed, in order.

6. Restart. ``start`` wakes a worker for every destination with queued items, so a
   node killed with a full queue delivers it after restart. Items older than
   ``message_expiry_hours`` are dropped by ``expire`` and reported to ``on_expired``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from federation import storage
from federation.errors import FederationError

log = logging.getLogger("kontor.federation.sender")

STORAGE_RETRY_SECONDS = 5.0  # pause of a destination's worker after a storage error
RECEIPT_LINGER_SECONDS = 0.05  # receipts alone wait this long for company (step 2)


class Database(Protocol):
    """What the sender needs of the node's database."""

    async def write(self, fn: Callable[..., Any], *args: Any) -> Any: ...
    async def read(self, fn: Callable[..., Any], *args: Any) -> Any: ...


class DeliveryError(FederationError):
    """A transaction did not get through; ``permanent`` when retrying cannot help."""

    code = "DELIVERY_FAILED"

    def __init__(self, message: str, *, permanent: bool = False, code: str = "") -> None:
        super().__init__(message, code=code or None)
        self.permanent = permanent


Transport = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]
#: ``(items, code, results)``: items rejected with ``code``, and the receiver's result
#: object for each (``{"error": code}`` when the whole transaction was refused or expired).
Report = Callable[[list[dict[str, Any]], str, list[dict[str, Any]]], Awaitable[None]]


@dataclass(frozen=True)
class SenderPolicy:
    """Batching and retry limits (from ``[federation]``)."""

    batch_max_envelopes: int = 100
    batch_max_bytes: int = 512 * 1024
    retry_initial_seconds: float = 2.0
    retry_max_seconds: float = 3600.0
    receipt_linger_seconds: float = RECEIPT_LINGER_SECONDS


def linger_seconds(head: list[tuple[str, int, bool]], policy: SenderPolicy,
                   now_ms: int) -> float:
    """How long to wait before binding a batch of the queue whose first items are
    ``head`` (``storage.queue_head``): 0 unless they are all unbound receipts, fewer than
    a full batch, the oldest younger than ``receipt_linger_seconds``. A receipt stamped
    in the future (the clock stepped back since) does not wait at all."""
    if len(head) >= policy.batch_max_envelopes or \
            any(kind != "receipt" or bound for kind, _, bound in head):
        return 0.0
    left = head[0][1] / 1000 + policy.receipt_linger_seconds - now_ms / 1000
    return left if 0 < left <= policy.receipt_linger_seconds else 0.0


@dataclass(frozen=True)
class _Next:
    """The batch to bind in the write that completes the one before, if it is ready."""

    policy: SenderPolicy
    txn_id: str
    now_ms: int


def _complete_and_bind_txn(db: Any, destination: str, txn_id: str, nxt: _Next) -> bool:
    """``txn_id`` was committed by the destination: drop it and, in the same
    transaction, bind the next batch when it is ready (``linger_seconds``); whether
    one was bound."""
    storage.complete_batch_txn(db, destination, txn_id, nxt.now_ms)
    limit = nxt.policy.batch_max_envelopes
    head = storage.queue_head(db, destination, limit)
    if not head or linger_seconds(head, nxt.policy, nxt.now_ms) > 0:
        return False
    return storage.bind_batch_txn(db, destination, limit, nxt.policy.batch_max_bytes,
                                  nxt.txn_id)


def backoff_delay(failures: int, policy: SenderPolicy,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``failures`` consecutive failures (>= 1), with jitter."""
    base = min(policy.retry_max_seconds,
               policy.retry_initial_seconds * 2 ** min(failures - 1, 30))
    return base * (0.5 + 0.5 * rand())


class Sender:
    """Per-destination delivery workers over the persistent outbox."""

    def __init__(self, db: Database, transport: Transport, policy: SenderPolicy,
                 on_rejected: Report, clock: Callable[[], float] = time.time) -> None:
        """``clock``: seconds since the epoch, the clock that stamps ``created_ms``."""
        self.db = db
        self.transport = transport
        self.policy = policy
        self.on_rejected = on_rejected
        self.clock = clock
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._wakeups: dict[str, asyncio.Event] = {}
        self._failing: set[str] = set()  # destinations in backoff (no DB read per request)
        #: destinations whose next batch the write that completed the one before bound
        #: (read again before it leaves: an erasure or expiry may have changed it)
        self._bound: set[str] = set()
        self._closed = False

    async def start(self) -> None:
        """Resume delivery of everything queued before the last stop."""
        for row in await self.db.read(storage.queue_status):
            if row["failures"]:
                self._failing.add(row["destination"])
        for destination in await self.db.read(storage.pending_destinations):
            self.wake(destination)

    def wake(self, destination: str) -> None:
        """New items for ``destination``: make sure its worker runs."""
        if self._closed:
            return
        self._wakeups.setdefault(destination, asyncio.Event()).set()
        worker = self._workers.get(destination)
        if worker is None or worker.done():
            self._workers[destination] = asyncio.create_task(
                self._run(destination), name=f"federation-sender:{destination}")

    async def peer_alive(self, destination: str) -> None:
        """The peer contacted us: forget its backoff and retry now."""
        if destination not in self._failing:
            return
        self._failing.discard(destination)
        await self.db.write(storage.reset_backoff_txn, destination)
        self.wake(destination)

    async def close(self) -> None:
        self._closed = True
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, destination: str) -> None:
        wakeup = self._wakeups.setdefault(destination, asyncio.Event())
        while not self._closed:
            try:
                if not await self._step(destination, wakeup):
                    return
            except Exception as exc:  # noqa: BLE001 - storage trouble (a full disk):
                # the items stay queued; try again after a pause, one line per attempt
                log.warning("outbox for %s paused: %s", destination,
                            getattr(exc, "message", exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), STORAGE_RETRY_SECONDS)

    async def _step(self, destination: str, wakeup: asyncio.Event) -> bool:
        """One round for ``destination``; False when its queue is empty."""
        wakeup.clear()
        bound = None
        if destination in self._bound:  # bound by the last completion
            self._bound.discard(destination)
            bound = await self.db.read(storage.bound_batch, destination)
        if not bound or not bound[1]:
            wait = await self._wait_before_binding(destination, wakeup)
            if wait is None:
                # no await between the empty read and the worker's end (reads run on
                # the loop), so no wake-up is lost
                return wakeup.is_set()  # items queued while we looked: go again
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), wait)
                return True
            bound = await self.db.write(
                storage.next_batch_txn, destination, self.policy.batch_max_envelopes,
                self.policy.batch_max_bytes, self._txn_id())
            if not bound[1]:
                return True  # emptied meanwhile (expiry, erasure): look again
        await self._deliver(destination, *bound)
        return True

    async def _wait_before_binding(self, destination: str,
                                   wakeup: asyncio.Event) -> float | None:
        """Seconds until the next batch should be bound (the backoff, the receipts'
        linger), 0 for now, None when the queue is empty."""
        state = await self.db.read(storage.destination_state, destination)
        wait = state["next_attempt_ms"] / 1000 - self.clock() if state else 0
        if wait > self.policy.retry_max_seconds:
            # written before the clock stepped back: wait the longest backoff at most
            # (a wake-up, such as ``peer_alive``, ends it), then try
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), self.policy.retry_max_seconds)
        elif wait > 0:
            return wait
        head = await self.db.read(storage.queue_head, destination,
                                  self.policy.batch_max_envelopes)
        return linger_seconds(head, self.policy, self._now_ms()) if head else None

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _txn_id(self) -> str:
        return f"{self._now_ms()}-{secrets.token_hex(4)}"

    async def _deliver(self, destination: str, txn_id: str,
                       items: list[dict[str, Any]]) -> None:
        body = {"items": [{"kind": i["kind"], **i["item"]} for i in items]}
        try:
            answer = await self.transport(destination, txn_id, body)
        except DeliveryError as exc:
            if exc.permanent:
                log.warning("%s refused transaction %s for good: %s", destination, txn_id,
                            exc)
                await self.db.write(storage.complete_batch_txn, destination, txn_id,
                                    self._now_ms())
                code = exc.code or "REFUSED"
                await self.on_rejected([i["item"] for i in items], code,
                                       [{"error": code} for _ in items])
                return
            await self._failed(destination, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - any transport failure is retried
            await self._failed(destination, f"{type(exc).__name__}: {exc}")
            return
        if await self.db.write(_complete_and_bind_txn, destination, txn_id,
                               _Next(self.policy, self._txn_id(), self._now_ms())):
            self._bound.add(destination)
        self._failing.discard(destination)  # the batch went through: backoff is over
        await self._report_rejections(items, answer)

    async def _failed(self, destination: str, error: str) -> None:
        state = await self.db.read(storage.destination_state, destination)
        failures = (state["failures"] if state else 0) + 1
        delay = backoff_delay(failures, self.policy)
        next_ms = int((self.clock() + delay) * 1000)
        await self.db.write(storage.record_failure_txn, destination, error, next_ms)
        self._failing.add(destination)
        log.info("delivery to %s failed (%s); retry %d in %.1fs", destination, error,
                 failures, delay)

    async def _report_rejections(self, items: list[dict[str, Any]],
                                 answer: dict[str, Any]) -> None:
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(items):
            return
        by_code: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for item, result in zip(items, results, strict=True):
            if isinstance(result, dict) and result.get("error"):
                by_code.setdefault(str(result["error"])[:64], []).append((item["item"], result))
        for code, rejected in by_code.items():
            await self.on_rejected([i for i, _ in rejected], code, [r for _, r in rejected])

    async def expire(self, max_age_seconds: float, on_expired: Report) -> int:
        """Drop items older than ``max_age_seconds``; report them; return how many."""
        before = int((self.clock() - max_age_seconds) * 1000)
        expired = await self.db.write(storage.expire_txn, before)
        if expired:
            await on_expired([e["item"] for e in expired], "EXPIRED",
                             [{"error": "EXPIRED"} for _ in expired])
        return len(expired)
