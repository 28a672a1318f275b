"""Sealed history copies go up together, off the path of a send (issue 17).

A send is answered without waiting for its copy; the copies that wait go up in one
request (at once when a full batch waits, else within ``delay_s``, and at close); a
device stopped before its upload keeps the ids and sends them after it reopens; and
the new device that is approved finds every message. The node's write calls for
``PUT /history/items`` are counted (``Database.writes``).

At close (a proxy, ``tests.proxy.UploadProxy``, holds the node's answer to an upload so
that close runs while it is under way): a timer whose upload is under way is awaited,
not cut off (each copy goes up once); a send during close starts no timer that
outlives it; and a close cancelled in the middle of its upload still closes the
connection and the store.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from node.appkeys import DB
from node.client import Client, Message, history_upload
from node.client.models import ArchiveEvent
from node.client.store import Store
from tests.nodes import RunningNode, eventually
from tests.proxy import UploadProxy
from tests.sdk.conftest import PASSPHRASE, PASSWORD, MakeClient, receive

UPLOAD = "_put_items_txn"  # the node's write function behind PUT /history/items


def uploads(node: RunningNode) -> int:
    return node.app[DB].writes[UPLOAD]


def _count(db: Any, owner: str) -> int:
    return int(db.execute("SELECT count(*) FROM history_items WHERE owner = ?",
                          [owner]).fetchone()[0])


async def _items(node: RunningNode, owner: str) -> int:
    """Sealed copies of ``owner``'s history the node holds."""
    return await node.app[DB].read(_count, owner)


async def test_copies_wait_for_one_upload_and_close_sends_them(
        node: RunningNode, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_upload, "BATCH_ITEMS", 10)
    carl, dora = await make_client("carl"), await make_client("dora")
    await dora.send_text(carl.address, "hello")
    await receive(carl, 1)
    carl.archive.uploader.delay_s = 60.0  # only a full batch or close sends them here
    await carl.archive.flush()
    before = uploads(node)
    for n in range(9):
        await carl.send_text(dora.address, f"line {n}")
    assert uploads(node) == before, "nine sends were answered with no upload"
    assert carl.store.history_queue.waiting(100) == 9
    await carl.send_text(dora.address, "line 9")  # the tenth fills the batch
    assert uploads(node) == before + 1 and not carl.store.history_queue.waiting(1)
    await carl.send_text(dora.address, "after the batch")
    assert uploads(node) == before + 1

    await carl.close()  # the copy that waited goes up as the app closes
    assert uploads(node) == before + 2
    assert await _items(node, carl.address) == 12  # (Dora's hello, ten lines, the last)


async def test_without_a_full_batch_the_copies_go_up_by_themselves(
        node: RunningNode, make_client: MakeClient) -> None:
    carl, dora = await make_client("carl"), await make_client("dora")
    for n in range(3):
        await carl.send_text(dora.address, f"line {n}")
    assert carl.store.history_queue.waiting(1), "the sends did not wait for copies"

    async def stored() -> bool:
        return not carl.store.history_queue.waiting(1) and \
            await _items(node, carl.address) == 3
    await eventually(stored, what="the copies to go up without a flush")


async def test_a_device_stopped_before_its_upload_sends_the_copies_when_it_reopens(
        node: RunningNode, make_client: MakeClient, tmp_path: Path) -> None:
    store = tmp_path / "carl-phone.kontor"
    carl = await Client.register(node.url, "carl", PASSWORD, store=store,
                                 passphrase=PASSPHRASE)
    dora = await make_client("dora")
    carl.archive.uploader.delay_s = 60.0
    for n in range(4):
        await carl.send_text(dora.address, f"line {n}")
    await carl.transport.close()  # the app is killed: no close, nothing uploaded
    carl.store.close()

    reopened = await Client.open(store, PASSPHRASE)
    try:
        await reopened.sync_once()  # the first batch after the restart

        async def stored() -> bool:
            return await _items(node, carl.address) == 4
        await eventually(stored, what="the copies kept from before the stop")
        carl2 = await make_client("carl", login=True)
        await reopened.archive.approve(carl2.device_id)
        await receive(carl2, 1, kinds=(ArchiveEvent,))
        got = [m.text for m in carl2.history(dora.address) if isinstance(m, Message)]
        assert got == [f"line {n}" for n in range(4)]
    finally:
        await reopened.close()


def upload_timers() -> list[asyncio.Task[object]]:
    """The uploaders' timers still running."""
    return [t for t in asyncio.all_tasks()
            if t.get_name() == "kontor-history-upload" and not t.done()]


async def _held(proxy: UploadProxy) -> None:
    async def held() -> bool:
        return proxy.held == 1
    await eventually(held, what="an upload under way (its answer held by the proxy)")


async def test_close_awaits_the_timers_upload_under_way_and_sends_nothing_twice(
        node: RunningNode, make_client: MakeClient, tmp_path: Path) -> None:
    async with UploadProxy(node.url) as proxy:
        store = tmp_path / "carl-phone.kontor"
        carl = await Client.register(proxy.url, "carl", PASSWORD, store=store,
                                     passphrase=PASSPHRASE)
        dora = await make_client("dora")
        carl.archive.uploader.delay_s = 0.05
        before = uploads(node)
        proxy.hold()
        await carl.send_text(dora.address, "only once")
        await _held(proxy)  # the timer's upload reached the node; its answer waits
        closing = asyncio.create_task(carl.close())

        async def close_began() -> bool:
            return closing.done() or carl.archive.uploader.closed
        await eventually(close_began, what="close to begin")
        proxy.release()
        await closing
        assert (uploads(node), proxy.puts) == (before + 1, 1), "one upload, not two"
        assert await _items(node, carl.address) == 1
        reopened = Store.open(store, PASSPHRASE)
        try:
            assert not reopened.history_queue.waiting(1), "nothing left to send again"
        finally:
            reopened.close()


async def _closing_during_upload(proxy: UploadProxy, make_client: MakeClient
                                 ) -> tuple[Client, Client, asyncio.Task[None]]:
    """Carl (through ``proxy``) wrote to Dora and is closing; the node's answer to the
    upload of close is held at the proxy. (carl, dora, the close under way)"""
    carl, dora = await make_client("carl", url=proxy.url), await make_client("dora")
    carl.archive.uploader.delay_s = 60.0
    await carl.send_text(dora.address, "before close")
    proxy.hold()
    closing = asyncio.create_task(carl.close())
    await _held(proxy)  # close's upload is under way
    return carl, dora, closing


async def test_a_send_during_close_starts_no_timer_that_outlives_it(
        node: RunningNode, make_client: MakeClient) -> None:
    async with UploadProxy(node.url) as proxy:
        carl, dora, closing = await _closing_during_upload(proxy, make_client)
        await carl.send_text(dora.address, "while it closes")
        proxy.release()
        await closing
        assert upload_timers() == [], "no upload timer runs after close"
        assert await _items(node, carl.address) == 2, "both copies went up"


async def test_a_close_cancelled_during_its_upload_still_closes_connection_and_store(
        node: RunningNode, make_client: MakeClient) -> None:
    async with UploadProxy(node.url) as proxy:
        carl, dora, closing = await _closing_during_upload(proxy, make_client)
        closing.cancel()  # e.g. the app shuts down with a time limit on close
        with pytest.raises(asyncio.CancelledError):
            await closing
        proxy.release()
        assert upload_timers() == []
        with pytest.raises(RuntimeError, match="closed"):
            await carl.http.request("GET", "/account")
        with pytest.raises(sqlite3.ProgrammingError):
            carl.store.history_queue.waiting(1)
