"""History read page by page, and a download that resumes where it stopped (issue 13).

Carl's first device has a long conversation with Dora (an image among it). His second
device is approved; its download of the sealed history is cut off after its first page
(the app is stopped in the middle, as a person closes it); reopened from its store, it
pages back through the conversation with ``history_page`` (the part not downloaded yet
comes from the node's sealed copies), then the download goes on from the stored cursor,
not from the newest copy again, and ends with every message exactly once, in the same
order as on the first device, the image opening.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.client import Client, Message
from node.client.history_pages import PAGE
from node.client.models import ArchiveEvent
from tests.nodes import RunningNode, running_node, write_config
from tests.sdk.conftest import PASSPHRASE, MakeClient, receive

IMAGE = bytes(range(256)) * 100
COUNT = 2 * PAGE + 50  # three pages of the download


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    """Open registration, and room for one device's burst of COUNT sends a minute."""
    ini = write_config(tmp_path / "node", sections={
        "accounts": {"registration": "open"}, "limits": {"rate_per_account": 6000}})
    async with running_node(ini) as running:
        yield running


async def _conversation(carl: Client, dora: Client) -> list[str]:
    """Dora writes first, then Carl sends an image and COUNT - 2 texts."""
    await dora.send_text(carl.address, "Hello Carl")
    await receive(carl, 1)
    await carl.media.send(dora.address, IMAGE, name="tea.png", mime="image/png")
    for n in range(COUNT - 2):
        await carl.send_text(dora.address, f"line {n}")
    await carl.archive.flush()  # (copies otherwise go up within a second, together)
    assert not carl.store.history_queue.waiting(1), "every copy is stored"
    return [m.message_id for m in carl.history(dora.address, limit=COUNT + 10)]


async def _approved(carl: Client, second: Client) -> None:
    """Carl's first device approves the second one."""
    added = await receive(carl, 1, kinds=(ArchiveEvent,))
    assert added[0].device_id == second.device_id  # type: ignore[union-attr]
    assert await carl.archive.approve(second.device_id) == [1]


async def test_download_resumes_and_history_pages_from_the_node(
        node: RunningNode, make_client: MakeClient, tmp_path: Path) -> None:
    carl, dora = await make_client("carl"), await make_client("dora")
    expected = await _conversation(carl, dora)
    assert len(expected) == COUNT

    second = await make_client("carl", login=True)
    before = await second.history_page(dora.address, limit=20)
    assert before.messages == [] and before.next is None, "nothing before approval"
    await _approved(carl, second)

    # The download stops after its first page: the app is closed in the middle of it.
    pages: list[tuple[int, int]] = []
    sync = asyncio.create_task(second.sync_once(timeout_ms=2000))
    second.archive.reader.progress = lambda done, added: (pages.append((done, added)),
                                                          sync.cancel())
    with contextlib.suppress(asyncio.CancelledError):
        await sync
    assert pages == [(1, PAGE)]
    store_path = Path(second.store._conn.execute("PRAGMA database_list").fetchone()[2])
    await second.close()

    again = await Client.open(store_path, PASSPHRASE)
    try:
        assert again.archive.reader.due() and again.archive.reader.cursor() is not None
        local = again.history(dora.address, limit=COUNT)
        assert [m.message_id for m in local] == expected[-PAGE:]

        # Paging back: the first page is local, older ones come from the node's copies.
        seen: list[Message] = []
        cursor: str | None = None
        for _ in range(20):
            page = await again.history_page(dora.address, before=cursor, limit=60)
            seen = page.messages + seen
            cursor = page.next
            if cursor is None:
                break
        assert [m.message_id for m in seen] == expected, "every message once, in order"
        assert seen[0].text == "Hello Carl" and not seen[0].outgoing
        image = next(m for m in seen if m.type == "media")
        assert await again.media.download(image) == IMAGE

        # The download goes on from its cursor: two more pages, not three.
        resumed: list[tuple[int, int]] = []
        again.archive.reader.progress = lambda done, added: resumed.append((done, added))
        await again.sync_once()
        assert [done for done, _ in resumed] == [2, 3]
        assert not again.archive.reader.due()
        stored = again.history(dora.address, limit=COUNT + 10)
        assert [m.message_id for m in stored] == expected
        assert len({m.message_id for m in stored}) == COUNT
    finally:
        await again.close()
