"""The browser's queue of history copies waiting to go up: one record per message in
``history_queue`` (as the Python SDK's table, tests/sdk/test_history_queue.py).

Queuing keeps order and each id once, touches no sealed value (the sealed list it
replaced was rewritten whole for every message), and an upload removes what it took;
an erasure of a conversation takes its ids out too.
A store from before the queue keeps its waiting ids: they move into the queue, in
order, and go up. Real node, real Chromium.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from typing import Any

from crypto.encoding import b64encode
from node.appkeys import DB
from tests.nodes import RunningNode, eventually
from tests.sdk.conftest import PASSWORD
from tests.web.helpers import Clients
from tests.web.page import WebDevice

QUEUE = """async (ids) => {
  const a = window.me.archive;
  await a.write((batch) => a.queue(batch, ids));
  return (await window.me.store.firstKeys("history_queue", "seq", 100)).map(String);
}"""
KV_ROWS = """async () => (await window.me.store.all("kv")).map((r) => [r.key, [...r.sealed]])"""
OLD_LIST = """async (ids) => {
  const a = window.me.archive;
  await a.write(async (batch) => batch.putJson("kv", "history_pending", ids));
  a.moved = false;  // (as a page of the version before opens it)
  await a.flush();
  return {queued: await window.me.store.count("history_queue"),
          list: await window.me.store.getJson("kv", "history_pending")};
}"""


@contextlib.asynccontextmanager
async def carl(browser: Any, node: RunningNode) -> AsyncIterator[tuple[WebDevice, str]]:
    """A browser device registered as carl (and its address); its context closed after."""
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, node.url)
        yield web, await web.register("carl", PASSWORD)
        assert web.console_errors == []
    finally:
        await context.close()


async def test_the_queue_keeps_order_and_each_id_once_and_touches_no_sealed_value(
        web_node: RunningNode, browser: Any) -> None:
    async with carl(browser, web_node) as (web, _):
        await web.run("() => window.me.archive.idle()")
        sealed = await web.run(KV_ROWS)
        assert await web.run(QUEUE, ["m2", "m1", "m3", "m1"]) == ["m2", "m1", "m3"]
        assert await web.run(QUEUE, ["m3", "m4"]) == ["m2", "m1", "m3", "m4"], \
            "an id queued already keeps its place"
        assert await web.run(KV_ROWS) == sealed, "no sealed value was written"
        await web.run("() => window.me.archive.flush()")  # (no such messages: skipped)
        assert await web.run("() => window.me.store.count('history_queue')") == 0


async def _copies(node: RunningNode, owner: str) -> int:
    def count(db: Any) -> int:
        return int(db.execute("SELECT count(*) FROM history_items WHERE owner = ?",
                              [owner]).fetchone()[0])
    return await node.app[DB].read(count)


async def _lines_from_dora(web: WebDevice, node: RunningNode, clients: Clients,
                           address: str, count: int) -> tuple[Any, list[dict[str, Any]]]:
    """dora (a Python device) writes ``count`` lines to the browser, which gets them."""
    dora = await clients(node.url, "dora")
    for n in range(count):
        await dora.send_text(address, f"line {n}")
    return dora, await web.messages(count)


async def test_a_store_from_before_the_queue_moves_its_list_in_and_sends_it(
        web_node: RunningNode, browser: Any, clients: Clients) -> None:
    async with carl(browser, web_node) as (web, address):
        _, got = await _lines_from_dora(web, web_node, clients, address, 3)
        await web.run("() => window.me.archive.idle()")

        async def stored() -> bool:
            return await _copies(web_node, address) == 3
        await eventually(stored, what="the three copies")
        before = web_node.app[DB].writes["_put_items_txn"]
        ids = [m["messageId"] for m in got]
        assert await web.run(OLD_LIST, ids[::-1]) == {"queued": 0, "list": None}
        assert web_node.app[DB].writes["_put_items_txn"] == before + 1, "they went up"
        assert await _copies(web_node, address) == 3, "each copy kept once"


UPGRADE = """async () => {
  const v1 = ["meta", "kv", "prekeys", "sessions", "devices", "messages", "inbox",
              "handshakes"];
  await new Promise((ok, no) => {  // a store as the version before made it
    const r = indexedDB.open("kontor:old", 1);
    r.onupgradeneeded = () => { for (const name of v1) r.result.createObjectStore(name); };
    r.onsuccess = () => { r.result.close(); ok(); };
    r.onerror = () => no(r.error);
  });
  const store = await window.me.store.constructor.open("old");
  const db = store.db;
  const out = {version: db.version, stores: [...db.objectStoreNames].sort(),
               index: [...db.transaction("history_queue").objectStore("history_queue")
                       .indexNames]};
  store.close();
  return out;
}"""


async def test_a_store_of_the_version_before_gains_the_queue_when_opened(
        web_node: RunningNode, browser: Any) -> None:
    async with carl(browser, web_node) as (web, _):
        opened = await web.run(UPGRADE)
        assert opened["version"] == 2 and opened["index"] == ["seq"]
        assert "history_queue" in opened["stores"] and "kv" in opened["stores"]


ERASE = """async ([peer, digest]) => {
  const a = window.me.archive;
  await a.idle();  // (no upload runs meanwhile: only the erase may take the ids out)
  const ids = (await window.me.history(peer)).map((m) => m.messageId);
  await a.write((batch) => a.queue(batch, [...ids, "other"]));
  const before = await window.me.store.count("history_queue");
  await a.write((batch) => a.erase(batch, digest, 1));
  return [before, (await window.me.store.firstKeys("history_queue", "seq", 10)).map(String)];
}"""


async def test_an_erased_conversation_leaves_no_id_in_the_queue(
        web_node: RunningNode, browser: Any, clients: Clients) -> None:
    async with carl(browser, web_node) as (web, address):
        dora, _ = await _lines_from_dora(web, web_node, clients, address, 2)
        digest = b64encode(hashlib.sha256(dora.address.encode()).digest())
        assert await web.run(ERASE, [dora.address, digest]) == [3, ["other"]]
