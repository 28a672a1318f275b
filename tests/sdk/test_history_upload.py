"""Sealed history copies go up together, off the path of a send (issue 17).

A send is answered without waiting for its copy; the copies that wait go up in one
request (at once when a full batch waits, else within ``delay_s``, and at close); a
device stopped before its upload keeps the ids and sends them after it reopens; and
the new device that is approved finds every message. The node's write calls for
``PUT /history/items`` are counted (``Database.writes``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from node.appkeys import DB
from node.client import Client, Message, history_upload
from node.client.models import ArchiveEvent
from tests.nodes import RunningNode, eventually
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
    assert len(carl.store.get_json("history_pending")) == 9
    await carl.send_text(dora.address, "line 9")  # the tenth fills the batch
    assert uploads(node) == before + 1 and not carl.store.get_json("history_pending")
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
    assert carl.store.get_json("history_pending"), "the sends did not wait for copies"

    async def stored() -> bool:
        return not carl.store.get_json("history_pending") and \
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
