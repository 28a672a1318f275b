"""A browser's send retried after its answer was lost is one message (issue 14).

The browser reaches its node through the forwarding proxy of tests/sdk/test_send_retry.py,
which passes each ``PUT /send/...`` on to the node (which stores the message) and then
loses the answer: a 504 first, then, after a reload of the page, a dropped connection.
kontor.js keeps the envelopes in its sealed store under the send's txn id, so the retries
with that id send the same body and the node answers with the message it stored; the
Python receiver gets it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.appkeys import DB
from node.client import Client, Message
from tests.nodes import RunningNode
from tests.proxy import AnswerLosingProxy
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401
from tests.web.page import WebDevice

SEND = """async ([to, text, txnId]) => {
  try {
    const m = await window.me.sendText(to, text, {}, {txnId});
    return {messageId: m.messageId, text: m.text};
  } catch (err) {
    return {error: err.name, status: err.status ?? null};
  }
}"""


@pytest.fixture
async def proxy(web_node: RunningNode) -> AsyncIterator[AnswerLosingProxy]:
    async with AnswerLosingProxy(web_node.url) as running:
        yield running


@pytest.fixture
async def bob(web_node: RunningNode, tmp_path: Path) -> AsyncIterator[Client]:
    """The Python device the browser writes to."""
    client = await Client.register(web_node.url, "bob", PASSWORD, passphrase=PASSPHRASE,
                                   store=tmp_path / "bob.kontor")
    yield client
    await client.close()


async def until(client: Client, message_id: str) -> list[Message]:
    """The messages `client` receives up to and including `message_id` (20 s at most)."""
    got: list[Message] = []
    async with asyncio.timeout(20):
        while message_id not in [m.message_id for m in got]:
            got += [i for i in await client.sync_once(timeout_ms=2000) if isinstance(i, Message)]
    return got


async def test_a_retried_send_is_one_message(proxy: AnswerLosingProxy, web_node: RunningNode,
                                             browser: Any, bob: Client) -> None:
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, proxy.url)
        await web.register("carl", PASSWORD)
        txn = await web.run("() => window.me.newTxnId()")

        proxy.losing = ["504"]
        first = await web.run(SEND, [bob.address, "only once, please", txn])
        assert first == {"error": "ApiError", "status": 504} and proxy.lost == 1

        await web.reload()  # the page closed before the answer came: the app retries
        await web.reopen()
        assert await web.run("(txn) => window.me.sendPending(txn)", txn)
        # Chromium itself resends a PUT whose connection dropped (same body, so one
        # message too) a few times before it gives up: enough drops that it does.
        proxy.losing = ["drop"] * 10
        second = await web.run(SEND, [bob.address, "only once, please", txn])
        assert second == {"error": "TypeError", "status": None} and proxy.lost >= 2
        proxy.losing = []

        sent = await web.run(SEND, [bob.address, "what is typed now is ignored", txn])
        assert sent["text"] == "only once, please", sent
        assert not await web.run("(txn) => window.me.sendPending(txn)", txn)
        marker = await web.run(SEND, [bob.address, "after it", None])

        got = await until(bob, marker["messageId"])
        assert [(m.message_id, m.text) for m in got] == [
            (sent["messageId"], "only once, please"), (marker["messageId"], "after it")]
        history = await web.run(
            "async (peer) => (await window.me.history(peer)).map((m) => m.text)", bob.address)
        assert history == ["only once, please", "after it"]
        assert proxy.sends >= 4
        assert not web.console_errors or all("504" in e or "Failed to load" in e
                                             or "ERR_" in e for e in web.console_errors)
    finally:
        await context.close()


FAILING_RECORD = """async ([to, txnId]) => {
  const store = window.me.store, write = store.write.bind(store);
  let failing = true;  // the write that records the sent message fails once (a full disk)
  store.write = async (ops) => {
    if (failing && ops.some(([op, name]) => op === "put" && name === "messages")) {
      failing = false;
      throw new DOMException("the disk is full", "QuotaExceededError");
    }
    return write(ops);
  };
  let error = null;
  try { await window.me.sendText(to, "recorded or not", {}, {txnId}); }
  catch (err) { error = err.name; }
  store.write = write;
  const outgoing = await store.keys("kv", undefined, undefined, "outgoing:");
  return {error, outgoing: outgoing.length};
}"""


@pytest.mark.parametrize("own_txn_id", [True, False])
async def test_a_send_whose_record_fails_keeps_its_envelopes_only_for_a_retry(
        web_node: RunningNode, browser: Any, bob: Client, own_txn_id: bool) -> None:
    """The node stored the message, then the browser's write failed: under the app's
    own txn id the envelopes stay and the retry records the message once; under an id
    made up by kontor.js, which no one can retry under, none are left behind."""
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, web_node.url)
        carl = await web.register("carl", PASSWORD)
        txn = await web.run("() => window.me.newTxnId()") if own_txn_id else None
        failed = await web.run(FAILING_RECORD, [bob.address, txn])
        assert failed == {"error": "QuotaExceededError", "outgoing": int(own_txn_id)}
        if own_txn_id:
            sent = await web.run(SEND, [bob.address, "ignored now", txn])
            assert sent["text"] == "recorded or not"
            history = await web.run("""async (peer) => (await window.me.history(peer))
                .map((m) => m.text)""", bob.address)
            assert history == ["recorded or not"]
        assert [m.text for m in await receive(bob, 1) if isinstance(m, Message)] == \
            ["recorded or not"]
        assert await _stored(web_node, carl, bob.address) == 1, "the node stored it once"
    finally:
        await context.close()


async def _stored(node: RunningNode, sender: str, recipient: str) -> int:
    """How many messages from ``sender`` to ``recipient`` the node stored."""
    def count(db: Any) -> int:
        return int(db.execute("SELECT count(*) FROM messages WHERE sender = ? AND "
                              "recipient = ?", [sender, recipient]).fetchone()[0])
    return await node.app[DB].read(count)
