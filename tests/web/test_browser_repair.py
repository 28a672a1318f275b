"""Fan-out repair from the browser (docs/protocol.md, "Fan-out that repairs itself"): a
device of a remote recipient added after node A looked up the list gets a browser's
message through a repair under the same message id (the Python side of the wire is
tests/federation/test_fanout_repair.py)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from node.client import Client
from tests.dnsserver import DnsServer
from tests.federation.network import start_nodes
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401
from tests.web.page import WebDevice

# Receive in the background (bounded: 60 polls of at most 1 s) so that the browser hears
# its devices_changed event and repairs; the failures it hands over are collected.
KEEP_RECEIVING = """() => {
    window.handed = [];
    window.receiving = (async () => {
        for (let i = 0; i < 60 && !window.stopReceiving; i++) {
            window.handed.push(...await window.me.syncOnce(1000));
        }
    })();
}"""


async def test_a_device_added_after_the_lookup_gets_the_message_by_repair(
        tmp_path: Path, browser: Any) -> None:
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            nodes = await start_nodes(stack, dns, tmp_path, ["a", "b"])
            context = await browser.new_context()
            stack.push_async_callback(context.close)
            web = await WebDevice.open(context, nodes["a"].url)
            await web.register("webby", PASSWORD)
            bob1 = await Client.register(nodes["b"].url, "bob", PASSWORD,
                                         passphrase=PASSPHRASE, store=tmp_path / "bob1.kontor")
            stack.push_async_callback(bob1.close)
            await web.send_text(bob1.address, "one")  # node A now caches bob's one device
            [one] = await receive(bob1, 1, timeout=20)
            assert one.text == "one"

            bob2 = await Client.login(nodes["b"].url, "bob", PASSWORD,
                                      passphrase=PASSPHRASE, store=tmp_path / "bob2.kontor")
            stack.push_async_callback(bob2.close)
            await web.run(KEEP_RECEIVING)
            sent = await web.send_text(bob1.address, "two")
            [repaired] = await receive(bob2, 1, timeout=30)
            assert (repaired.message_id, repaired.text) == (sent["messageId"], "two")
            [two] = await receive(bob1, 1, timeout=20)
            assert (two.message_id, two.text) == (sent["messageId"], "two")
            handed = await web.run("""async () => {
                window.stopReceiving = true; await window.receiving;
                return window.handed.filter((e) => e instanceof kontor.DeliveryFailed)
                    .map((e) => e.message); }""")
            assert handed == []
            assert await web.run("""async () => (await window.me.store.getJson(
                "kv", "fanout_repairs"))""") == []
            assert web.foreign_requests == []
