"""The outbox algorithm: order, batching, idempotent retries, backoff and restart.

These drive ``federation.sender.Sender`` against a real SQLite database with a
transport function standing in for the network; integration tests with real nodes
cover the signed HTTP transport.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from federation import storage
from federation.policy import ServerPolicy
from federation.sender import DeliveryError, Sender, SenderPolicy, backoff_delay, linger_seconds
from node.storage.db import Database, create_database
from tests.nodes import eventually


@pytest.fixture
async def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "k.db"
    create_database(path)
    database = Database(path)
    yield database
    database.close()


class Peer:
    """Receives transactions like a destination node would: stores each txn id once."""

    def __init__(self) -> None:
        self.up = True
        self.lose_answer_once = False
        self.txns: dict[str, list[dict[str, Any]]] = {}
        self.order: list[int] = []

    async def __call__(self, destination: str, txn_id: str, body: dict[str, Any]
                       ) -> dict[str, Any]:
        if not self.up:
            raise ConnectionRefusedError("peer down")
        if txn_id not in self.txns:
            self.txns[txn_id] = body["items"]
            self.order += [i["n"] for i in body["items"]]
        if self.lose_answer_once:
            self.lose_answer_once = False
            raise TimeoutError("answer lost")
        return {"results": [{} for _ in body["items"]]}


async def _until_delivered(peer: Peer, order: list[int], what: str) -> None:
    async def delivered() -> bool:
        return peer.order == order
    await eventually(delivered, timeout=10, what=what)


async def enqueue(db: Database, n: int, destination: str = "b.example") -> None:
    await db.write(storage.enqueue_txn, ServerPolicy(), destination, "message", {"n": n}, n)


POLICY = SenderPolicy(batch_max_envelopes=10, batch_max_bytes=10_000,
                      retry_initial_seconds=0.05, retry_max_seconds=0.2)


async def noop(items: list[dict[str, Any]], code: str, results: list[dict[str, Any]]
               ) -> None:
    raise AssertionError(f"unexpected rejection {code}")


async def test_order_batching_and_outage_replay(db: Database) -> None:
    peer = Peer()
    sender = Sender(db, peer, POLICY, noop)
    peer.up = False
    for n in range(35):
        await enqueue(db, n)
    sender.wake("b.example")

    async def failed_twice() -> bool:
        state = await db.read(storage.destination_state, "b.example")
        return bool(state and state["failures"] >= 2)
    await eventually(failed_twice, what="two failed attempts")
    peer.up = True
    await sender.peer_alive("b.example")

    async def drained() -> bool:
        return not await db.read(storage.pending_destinations)
    await eventually(drained, what="queue drained")
    assert peer.order == list(range(35)), "every item once, in order"
    assert all(len(items) <= 10 for items in peer.txns.values())
    state = await db.read(storage.destination_state, "b.example")
    assert state["failures"] == 0 and state["last_success_ms"]
    await sender.close()


async def test_lost_answer_is_retried_with_the_same_txn_id(db: Database) -> None:
    peer = Peer()
    peer.lose_answer_once = True
    sender = Sender(db, peer, POLICY, noop)
    for n in range(3):
        await enqueue(db, n)
    sender.wake("b.example")

    async def drained() -> bool:
        return not await db.read(storage.pending_destinations)
    await eventually(drained, what="queue drained")
    assert peer.order == [0, 1, 2]
    assert len(peer.txns) == 1, "the retry reused the transaction id"
    await sender.close()


async def test_restart_resumes_queued_items(db: Database) -> None:
    peer = Peer()
    for n in range(5):
        await enqueue(db, n)
    sender = Sender(db, peer, POLICY, noop)
    await sender.start()

    async def drained() -> bool:
        return not await db.read(storage.pending_destinations)
    await eventually(drained, what="queue drained after start")
    assert peer.order == list(range(5))
    await sender.close()


async def test_permanent_refusal_and_expiry_are_reported(db: Database) -> None:
    reported: list[tuple[str, list[dict[str, Any]]]] = []

    async def report(items: list[dict[str, Any]], code: str,
                     results: list[dict[str, Any]]) -> None:
        assert results == [{"error": code} for _ in items]
        reported.append((code, items))

    async def refuse(destination: str, txn_id: str, body: dict[str, Any]) -> dict[str, Any]:
        raise DeliveryError("denied", permanent=True, code="ORIGIN_DENIED")

    sender = Sender(db, refuse, POLICY, report)
    await enqueue(db, 1)
    sender.wake("b.example")
    await eventually(lambda: asyncio.sleep(0, bool(reported)), what="refusal report")
    assert reported == [("ORIGIN_DENIED", [{"n": 1}])]
    await sender.close()

    reported.clear()
    await db.write(storage.enqueue_txn, ServerPolicy(), "c.example", "message", {"n": 2}, 1000)
    expired = await Sender(db, refuse, POLICY, report, clock=lambda: 100.0).expire(
        50.0, report)
    assert expired == 1 and reported == [("EXPIRED", [{"n": 2}])]


async def test_a_per_item_result_reaches_the_report_whole(db: Database) -> None:
    """A DEVICE_MISMATCH result names the devices that lacked an envelope: the report
    gets it as the receiver sent it, so the sending device can encrypt for them."""
    reported: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = []

    async def report(items: list[dict[str, Any]], code: str,
                     results: list[dict[str, Any]]) -> None:
        reported.append((code, items, results))

    mismatch = {"error": "DEVICE_MISMATCH", "missing": ["NEWDEV"], "extra": []}

    async def peer(destination: str, txn_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"results": [{} if i["n"] == 1 else mismatch for i in body["items"]]}

    sender = Sender(db, peer, POLICY, report)
    await enqueue(db, 1)
    await enqueue(db, 2)
    sender.wake("b.example")
    await eventually(lambda: asyncio.sleep(0, bool(reported)), what="mismatch report")
    assert reported == [("DEVICE_MISMATCH", [{"n": 2}], [mismatch])]
    await sender.close()


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = SenderPolicy(retry_initial_seconds=2, retry_max_seconds=3600)
    assert backoff_delay(1, policy, lambda: 1.0) == 2
    assert backoff_delay(4, policy, lambda: 1.0) == 16
    assert backoff_delay(4, policy, lambda: 0.0) == 8
    assert backoff_delay(40, policy, lambda: 1.0) == 3600


class _RacingDatabase:
    """The real database, but a send commits and wakes the sender right after the worker
    found the queue empty (the moment a lost wake-up would strand the item)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sender: Sender | None = None
        self.injected = False

    async def read(self, fn: Any, *args: Any) -> Any:
        result = await self.db.read(fn, *args)
        if fn is storage.queue_head and not result and not self.injected:
            await self._inject()
        return result

    async def write(self, fn: Any, *args: Any) -> Any:
        return await self.db.write(fn, *args)

    async def _inject(self) -> None:
        self.injected = True
        await self.db.write(storage.enqueue_txn, ServerPolicy(), "b.example", "message",
                            {"n": 2}, 2)
        assert self.sender is not None
        self.sender.wake("b.example")


async def test_a_wake_up_while_the_queue_looks_empty_is_not_lost(db: Database) -> None:
    peer = Peer()
    racing = _RacingDatabase(db)
    sender = Sender(racing, peer, POLICY, noop)
    racing.sender = sender
    await enqueue(db, 1)
    sender.wake("b.example")

    async def both() -> bool | None:
        return True if peer.order == [1, 2] else None

    try:
        await eventually(both, timeout=5, what="both items delivered")
        assert racing.injected
    finally:
        await sender.close()


async def test_an_empty_queue_costs_no_write_and_a_batch_one(db: Database) -> None:
    peer = Peer()
    sender = Sender(db, peer, POLICY, noop)
    for n in range(25):
        await enqueue(db, n)
    before = sum(db.writes.values())
    sender.wake("b.example")

    async def drained() -> bool:
        return not await db.read(storage.pending_destinations)
    await eventually(drained, what="queue drained")
    await eventually(lambda: _idle(sender), what="the worker ended")
    assert peer.order == list(range(25)) and len(peer.txns) == 3
    # One write binds the first batch; each completion binds the next in the same
    # write; finding the queue empty is a read.
    assert sum(db.writes.values()) - before == 4, db.writes
    await sender.close()


async def _idle(sender: Sender) -> bool:
    return all(task.done() for task in sender._workers.values())


async def test_receipts_alone_wait_for_company_and_a_message_ends_the_wait(
        db: Database) -> None:
    peer = Peer()
    policy = SenderPolicy(batch_max_envelopes=10, batch_max_bytes=10_000,
                          receipt_linger_seconds=30)
    sender = Sender(db, peer, policy, noop)

    async def queue(kind: str, n: int) -> None:
        now = int(time.time() * 1000)
        await db.write(storage.enqueue_txn, ServerPolicy(), "b.example", kind, {"n": n},
                       now)
        sender.wake("b.example")

    await queue("receipt", 1)
    await queue("receipt", 2)
    await queue("message", 3)

    await _until_delivered(peer, [1, 2, 3], "the three items")
    assert list(peer.txns.values()) == [[{"kind": "receipt", "n": 1},
                                         {"kind": "receipt", "n": 2},
                                         {"kind": "message", "n": 3}]], "one transaction"
    await sender.close()


async def test_receipts_alone_leave_after_the_linger(db: Database) -> None:
    peer = Peer()
    policy = SenderPolicy(receipt_linger_seconds=0.05)
    sender = Sender(db, peer, policy, noop)
    now = int(time.time() * 1000)
    await db.write(storage.enqueue_txn, ServerPolicy(), "b.example", "receipt", {"n": 1},
                   now)
    sender.wake("b.example")

    await _until_delivered(peer, [1], "the lone receipt")
    await sender.close()


class _RejectingFirst(Peer):
    """Refuses item 0 of the first transaction (so the sender reports a rejection
    between completing that transaction and sending the next)."""

    async def __call__(self, destination: str, txn_id: str, body: dict[str, Any]
                       ) -> dict[str, Any]:
        answer = await super().__call__(destination, txn_id, body)
        return {"results": [{"error": "REFUSED"} if i["n"] == 0 else {}
                            for i in body["items"]]} if answer else answer


async def test_an_erasure_after_the_next_batch_was_bound_changes_what_leaves(
        db: Database) -> None:
    """The completion of a transaction binds the next batch; an erasure lands before
    that batch leaves (here: while the rejection is reported). The erased item never
    leaves and every other item arrives once (the batch is read again, not kept)."""
    peer = _RejectingFirst()

    async def erase_on_report(items: list[dict[str, Any]], code: str,
                              results: list[dict[str, Any]]) -> None:
        await db.write(storage.erase_address_txn, "erased@b.example")

    sender = Sender(db, peer, POLICY, erase_on_report)
    for n in range(20):
        await db.write(storage.enqueue_txn, ServerPolicy(), "b.example", "message",
                       {"n": n}, n, recipient="erased@b.example" if n == 12 else None)
    sender.wake("b.example")

    async def drained() -> bool:
        return not await db.read(storage.pending_destinations)
    await eventually(drained, what="queue drained")
    await eventually(lambda: _idle(sender), what="the worker ended")
    assert peer.order == [n for n in range(20) if n != 12]
    await sender.close()


def test_a_receipt_stamped_in_the_future_does_not_wait() -> None:
    """A clock step (the receipt stamped ahead of the sender's clock) must not hold
    receipts: they leave at once, like a receipt whose linger is over."""
    policy = SenderPolicy(receipt_linger_seconds=0.05)
    now = 1_000_000
    assert linger_seconds([("receipt", now + 3_600_000, False)], policy, now) == 0.0
    assert linger_seconds([("receipt", now - 10, False)], policy, now) == \
        pytest.approx(0.04)
    assert linger_seconds([("receipt", now, True)], policy, now) == 0.0


async def test_a_receipt_stamped_an_hour_ahead_leaves_at_once(db: Database) -> None:
    peer = Peer()
    sender = Sender(db, peer, SenderPolicy(receipt_linger_seconds=30), noop)
    await db.write(storage.enqueue_txn, ServerPolicy(), "b.example", "receipt", {"n": 1},
                   int((time.time() + 3600) * 1000))
    sender.wake("b.example")

    await _until_delivered(peer, [1], "the receipt, well before its linger")
    await sender.close()


async def test_a_backoff_recorded_far_ahead_waits_at_most_the_retry_maximum(
        db: Database) -> None:
    """A retry time an hour ahead (a clock stepped back since it was written) is not
    waited out: the worker tries again within ``retry_max_seconds``."""
    peer = Peer()
    await enqueue(db, 1)
    await db.write(storage.record_failure_txn, "b.example", "down",
                   int((time.time() + 3600) * 1000))
    sender = Sender(db, peer, POLICY, noop)
    sender.wake("b.example")

    await _until_delivered(peer, [1], "the retry within retry_max_seconds")
    await sender.close()


async def test_the_peer_coming_back_ends_a_backoff_recorded_far_ahead(
        db: Database) -> None:
    """Even a retry time beyond the longest backoff (a clock step) ends when the peer
    contacts us (``peer_alive``), as docs/protocol.md promises."""
    peer = Peer()
    await enqueue(db, 1)
    await db.write(storage.record_failure_txn, "b.example", "down",
                   int((time.time() + 7200) * 1000))
    counting = _ReadCounting(db)
    sender = Sender(counting, peer, SenderPolicy(retry_max_seconds=3600), noop)
    await sender.start()

    async def waiting() -> bool:  # the worker read the retry time, so it now waits
        return counting.reads[storage.destination_state] > 0
    await eventually(waiting, what="the worker waiting out the backoff")
    assert peer.order == []
    await sender.peer_alive("b.example")

    await _until_delivered(peer, [1], "delivery once the peer is back")
    await sender.close()


class _ReadCounting:
    """The real database, counting the reads by function."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.reads: Counter[Any] = Counter()

    async def read(self, fn: Any, *args: Any) -> Any:
        self.reads[fn] += 1
        return await self.db.read(fn, *args)

    async def write(self, fn: Any, *args: Any) -> Any:
        return await self.db.write(fn, *args)
