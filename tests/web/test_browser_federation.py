"""Federation with a browser: kontor.js on node A and a Python device on node C, whose
nodes find each other through a real DNS server, exchange messages and a file."""

from __future__ import annotations

import hashlib
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from node.client import Client
from tests.dnsserver import DnsServer
from tests.federation.network import start_nodes
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401
from tests.web.page import WebDevice


async def test_browser_on_one_node_python_on_another(tmp_path: Path, browser: Any) -> None:
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            nodes = await start_nodes(stack, dns, tmp_path, ["a", "c"])
            context = await browser.new_context()
            stack.push_async_callback(context.close)
            web = await WebDevice.open(context, nodes["a"].url)
            me = await web.register("webby", PASSWORD)
            assert me == "webby@a.test"
            py = await Client.register(nodes["c"].url, "carl", PASSWORD, passphrase=PASSPHRASE,
                                       store=tmp_path / "carl.kontor")
            stack.push_async_callback(py.close)

            await web.send_text(py.address, "Hello across nodes")
            [first] = await receive(py, 1, timeout=20)
            assert (first.sender, first.text) == (me, "Hello across nodes")
            await py.send_text(me, "Hello back from node C")
            [answer] = await web.messages(1, 30_000)
            assert (answer["sender"], answer["text"]) == ("carl@c.test", "Hello back from node C")

            # A file from node C, fetched through node A (checked by its hash).
            upload = tmp_path / "photo.bin"
            upload.write_bytes(bytes(range(256)) * 4096)
            await py.media.send_file(me, upload, mime="application/x-test")
            digest = await web.run("""async () => {
                const [m] = await window.nextMessages(1, 30000);
                const stored = (await window.me.history(m.sender))
                    .find((x) => x.messageId === m.messageId);
                return window.sha256(await window.me.downloadMedia(stored)); }""")
            assert digest == hashlib.sha256(upload.read_bytes()).hexdigest()
            assert web.console_errors == [] and web.foreign_requests == []
