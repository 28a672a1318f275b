"""A browser device that starts its account's history gives the key to the account's
other devices even when the network gets in the way, as the Python SDK does
(tests/sdk/test_history_upgrade.py, docs/web.md "History on a new device"):

- the backfill (what the browser kept from before) is uploaded before the key is
  given; when the node refuses that upload (a proxy answers 503 to ``PUT
  /history/items``), the key is given all the same and the copies go up later;
- when the node cannot be reached as the key is to be given (the proxy cuts ``GET
  /history/devices``), the key waits in the sealed store (``history_to_give``) and a
  later batch gives it;
- an approval stores the copies that wait before it gives the keys, so the approved
  device downloads them too.

The browser reaches its node through the proxy; the other device is a Python SDK
device on the node itself. Real node, real Chromium."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web as aioweb

from node.appkeys import DB
from node.client import Client
from node.client.models import ArchiveEvent
from node.services import accounts
from node.storage import history as history_store
from tests.nodes import RunningNode, eventually
from tests.proxy import UploadProxy
from tests.sdk.conftest import PASSWORD, receive
from tests.web.helpers import Clients
from tests.web.page import WebDevice

PREFIX = "/_kontor/client/v1"
KEYS = "async () => [...(await window.me.archive.keys()).keys()].sort()"
KV = "(name) => window.me.store.getJson('kv', name)"
QUEUED = "() => window.me.store.count('history_queue')"
FORGET = """async (names) => {
  const queued = await window.me.store.keys("history_queue");
  await window.me.store.write([...names.map((name) => ["delete", "kv", name]),
                               ...queued.map((id) => ["delete", "history_queue", id])]);
}"""
SYNC = "async () => { await window.me.syncOnce(0); await window.me.archive.idle(); }"


class SeenProxy(UploadProxy):
    """An UploadProxy that also notes each request it was asked (``"POST /history/keys"``)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.seen: list[str] = []

    async def _forward(self, request: aioweb.Request) -> aioweb.StreamResponse:
        self.seen.append(f"{request.method} {request.path.removeprefix(PREFIX)}")
        return await super()._forward(request)


async def as_before_history(node: RunningNode, web: WebDevice, clients: Clients,
                            others: int = 1) -> tuple[Client, list[Client]]:
    """The browser registered as carl (through the proxy), a message from dora stored,
    then ``others`` more devices of carl's; then the node and the browser as an upgrade
    to history leaves them (no epoch, no key), the page reloaded. (dora, carl's
    others)."""
    address = await web.register("carl", PASSWORD)
    dora = await clients(node.url, "dora")
    await dora.send_text(address, "before the upgrade")
    assert [m["text"] for m in await web.messages(1)] == ["before the upgrade"]
    more = [await clients(node.url, "carl", login=True) for _ in range(others)]
    await web.run("() => window.me.archive.idle()")
    await node.app[DB].write(history_store.erase_owner_txn, address)
    await web.run(FORGET, ["history_keys", "history_download"])
    await web.reload()
    await web.reopen()
    assert await web.run(KEYS) == []
    return dora, more


@contextlib.asynccontextmanager
async def _device_behind_proxy(browser: Any, url: str
                               ) -> AsyncIterator[tuple[SeenProxy, WebDevice]]:
    """A browser device that talks to the node at ``url`` through a ``SeenProxy``;
    its browser context is closed at the end."""
    async with SeenProxy(url) as proxy:
        context = await browser.new_context()
        try:
            yield proxy, await WebDevice.open(context, proxy.url)
        finally:
            await context.close()


async def test_a_refused_backfill_upload_does_not_keep_the_key_from_the_other_device(
        web_node: RunningNode, browser: Any, clients: Clients) -> None:
    async with _device_behind_proxy(browser, web_node.url) as (proxy, web):
        _, (carl2,) = await as_before_history(web_node, web, clients)
        proxy.refusing, proxy.seen = True, []
        await web.run(SYNC)  # starts the history; the backfill upload is refused
        assert await web.run(KEYS) == [1] and proxy.refused >= 1
        assert await web.run(QUEUED), "the copy waits"
        refused = proxy.seen.index("PUT /history/items")
        assert refused < proxy.seen.index("POST /history/keys"), \
            "the backfill is tried before the key is given"
        await receive(carl2, 1, kinds=(ArchiveEvent,))  # the key came all the same
        assert list(carl2.archive.keys()) == [1]
        assert await web.run(KV, "history_to_give") is None

        proxy.refusing = False
        await web.run(SYNC)  # a later batch: the copy goes up

        async def uploaded() -> bool:
            return not await web.run(QUEUED) and proxy.puts >= 1
        await eventually(uploaded, what="the refused copy to go up later")


async def test_a_key_not_given_for_want_of_the_node_is_given_after_a_later_batch(
        web_node: RunningNode, browser: Any, clients: Clients) -> None:
    async with _device_behind_proxy(browser, web_node.url) as (proxy, web):
        dora, (carl2,) = await as_before_history(web_node, web, clients)
        proxy.cut = {"GET /history/devices"}
        await web.run(SYNC)  # the history starts; then the network goes away
        assert await web.run(KEYS) == [1] and "GET /history/devices" in proxy.seen
        assert await web.run(KV, "history_to_give") == {"epoch": 1}
        assert not [e for e in await carl2.sync_once() if isinstance(e, ArchiveEvent)]

        proxy.cut = set()
        await dora.send_text(carl2.address, "after the upgrade")
        await web.messages(1)  # the next batch gives the key
        await receive(carl2, 1, kinds=(ArchiveEvent,))
        assert list(carl2.archive.keys()) == [1]

        async def given() -> bool:
            return await web.run(KV, "history_to_give") is None
        await eventually(given, what="nothing left to give")


async def test_a_device_the_node_refuses_the_key_for_is_dropped_and_the_other_gets_it(
        web_node: RunningNode, browser: Any, clients: Clients) -> None:
    """The key could not be given (the network went away at ``POST /history/keys``);
    by the next batch one of the two devices on the list was removed, so the node
    answers 404 ``UNKNOWN_DEVICE`` for it: that device is dropped from the list (a 4xx
    is not worth retrying) and the other one gets the key."""
    async with _device_behind_proxy(browser, web_node.url) as (proxy, web):
        dora, (carl2, carl3) = await as_before_history(web_node, web, clients, others=2)
        proxy.cut = {"POST /history/keys"}
        await web.run(SYNC)  # the history starts; giving the key meets no node
        assert await web.run(KEYS) == [1]
        due = await web.run(KV, "history_to_give") or {}
        assert sorted(due.get("devices", [])) == sorted([carl2.device_id, carl3.device_id])
        gone, stays = (carl2, carl3) if due["devices"][0] == carl2.device_id else (carl3, carl2)
        await accounts.revoke_device(web_node.app[DB], gone.address, gone.device_id)

        proxy.cut, proxy.seen = set(), []
        await dora.send_text(stays.address, "after the upgrade")
        await web.messages(1)  # the next batch gives the key

        async def holds_key() -> bool:
            await stays.sync_once()  # (other archive events may come first)
            return list(stays.archive.keys()) == [1]
        await eventually(holds_key, what="the key at the device that stays")

        async def given() -> bool:
            return await web.run(KV, "history_to_give") is None
        await eventually(given, what="nothing left to give")
        assert proxy.seen.count("POST /history/keys") == 2, "one refused, one given"


async def test_an_approval_stores_what_waits_before_it_gives_the_keys(
        web_node: RunningNode, browser: Any, clients: Clients) -> None:
    async with _device_behind_proxy(browser, web_node.url) as (proxy, web):
        address = await web.register("carl", PASSWORD)  # the first device: epoch 1
        dora = await clients(web_node.url, "dora")
        proxy.refusing = True
        await dora.send_text(address, "while the node refused copies")
        await web.messages(1)
        await web.run("() => window.me.archive.idle()")
        assert proxy.refused >= 1 and await web.run(QUEUED)

        proxy.refusing = False  # no batch since: the copy still waits
        laptop = await clients(web_node.url, "carl", login=True)
        assert await web.run("(d) => window.me.archive.approve(d)",
                             laptop.device_id) == [1]
        assert not await web.run(QUEUED)
        await receive(laptop, 1, kinds=(ArchiveEvent,))
        assert [m.text for m in laptop.history(dora.address)] == \
            ["while the node refused copies"], "downloaded with the history"
