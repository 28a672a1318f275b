"""The queue of history copies waiting to go up: one row per message (issue 17).

Queuing keeps order and each id once, stops at ``MAX_QUEUED`` (the oldest go up first),
and an upload removes only what it took, so ids queued while it ran stay. Queuing a
message touches no sealed value, however many wait (the list it replaced was re-sealed
in full for every message). A store written before the queue keeps its waiting ids:
they move into the queue, in order, when it is opened, and go up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from node.client import Client, history_queue
from node.client.history import PENDING
from node.client.store import Store
from tests.nodes import RunningNode, eventually
from tests.sdk.conftest import PASSPHRASE, PASSWORD, MakeClient
from tests.sdk.test_history_upload import _items


def _store(path: Path) -> Store:
    return Store.open(path, PASSPHRASE, opslimit=1, memlimit=8192)  # (a fast KDF)


def test_the_queue_keeps_order_each_id_once_and_a_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_queue, "MAX_QUEUED", 5)
    store = _store(tmp_path / "s.kontor")
    queue = store.history_queue
    queue.add(["m1", "m2", "m1", "m3"])
    assert [m for _, m in queue.oldest(10)] == ["m1", "m2", "m3"]
    queue.add(["m2", "m4", "m5", "m6", "m7"])  # m6 and m7 find the queue full
    assert [m for _, m in queue.oldest(10)] == ["m1", "m2", "m3", "m4", "m5"]
    assert queue.waiting(3) == 3 and queue.waiting(10) == 5

    taken = queue.oldest(2)  # an upload takes two; one more arrives meanwhile
    queue.done(taken[-1][0])
    queue.add(["m8"])
    assert [m for _, m in queue.oldest(10)] == ["m3", "m4", "m5", "m8"]
    queue.done(queue.oldest(10)[-1][0])
    assert queue.waiting(10) == 0
    queue.add(["m9"])  # (the bound counts what waits now, not what ever did)
    assert [m for _, m in queue.oldest(10)] == ["m9"]
    store.close()


def test_forgetting_an_address_takes_its_messages_out_of_the_queue(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No id of a forgotten conversation stays in the file; the gap it leaves is not
    counted against the bound."""
    monkeypatch.setattr(history_queue, "MAX_QUEUED", 4)
    store = _store(tmp_path / "s.kontor")
    for n, peer in enumerate(["dora@x", "eve@x", "dora@x", "eve@x"]):
        store.add_message(f"m{n}", peer, peer, "D", False, n, {"type": "text"})
    store.history_queue.add(["m0", "m1", "m2", "m3"])
    store.history_queue.add(["m4"])
    assert store.history_queue.waiting(10) == 4, "full"
    store.forget("dora@x")
    assert [m for _, m in store.history_queue.oldest(10)] == ["m1", "m3"]
    store.history_queue.add(["m4", "m5", "m6"])  # two places free, though the span is 5
    assert [m for _, m in store.history_queue.oldest(10)] == ["m1", "m3", "m4", "m5"]
    store.close()


def test_queuing_touches_no_sealed_value_however_many_wait(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.kontor")
    store.history_queue.add(f"old-{n}" for n in range(5000))
    secrets = store._conn.execute("SELECT name, value FROM secrets").fetchall()
    before = store._conn.total_changes
    store.history_queue.add(["new"])
    assert store._conn.total_changes - before == 1, "one row written"
    assert store._conn.execute("SELECT name, value FROM secrets").fetchall() == secrets
    assert store.history_queue.oldest(5001)[-1][1] == "new"
    store.close()


async def test_a_store_from_before_the_queue_moves_its_list_in_and_sends_it(
        node: RunningNode, make_client: MakeClient, tmp_path: Path) -> None:
    path = tmp_path / "carl-phone.kontor"
    carl = await Client.register(node.url, "carl", PASSWORD, store=path,
                                 passphrase=PASSPHRASE)
    dora = await make_client("dora")
    carl.archive.uploader.delay_s = 60.0
    sent = [(await carl.send_text(dora.address, f"line {n}")).message_id for n in range(3)]
    await carl.transport.close()  # killed before its upload
    assert [m for _, m in carl.store.history_queue.oldest(10)] == sent
    carl.store.history_queue.clear()  # as an older version left it: one sealed list
    carl.store.put_json(PENDING, [sent[2], sent[0], sent[1]])
    carl.store.close()

    reopened = await Client.open(path, PASSPHRASE)
    try:
        assert reopened.store.get_json(PENDING) is None, "the list is gone"
        assert [m for _, m in reopened.store.history_queue.oldest(10)] == \
            [sent[2], sent[0], sent[1]], "in the list's order"
        await reopened.sync_once()  # the first batch after the restart uploads

        async def stored() -> bool:
            return not reopened.store.history_queue.waiting(1) and \
                await _items(node, reopened.address) == 3
        await eventually(stored, what="the moved copies to go up")
    finally:
        await reopened.close()


async def test_the_backfill_queues_what_was_kept_in_one_commit(
        make_client: MakeClient) -> None:
    carl = await make_client("carl")
    for n in range(50):
        carl.store.add_message(f"old-{n}", "dora@x", "dora@x", "D", False, n, {"type": "text"})
    statements: list[str] = []
    carl.store._conn.set_trace_callback(statements.append)
    try:
        carl.archive._backfill()
    finally:
        carl.store._conn.set_trace_callback(None)
    assert carl.store.history_queue.waiting(100) >= 50
    assert statements.count("COMMIT") == 1, "one transaction, not one per id"
