"""A browser device restarts a history whose every key holder was removed
(docs/protocol.md "History", `restart`), as the Python SDK does
(tests/sdk/test_history_upgrade.py): it starts the next epoch and gives its key only to
devices that were given an earlier one; a device still waiting for approval keeps
waiting until the browser approves it. Real node, real Chromium."""

from __future__ import annotations

from typing import Any

from node.appkeys import DB
from node.services import accounts
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSWORD
from tests.web.helpers import Clients
from tests.web.page import STORE, WebDevice

KEYS = "async () => [...(await window.me.archive.keys()).keys()].sort()"


async def test_a_browser_restarts_the_history_for_approved_devices_only(
        web_node: RunningNode, browser: Any, clients: Clients) -> None:
    eve = await clients(web_node.url, "eve")  # the first device: epoch 1
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, web_node.url)
        await web.run("""async ([url, password, store]) => {
            window.me = await kontor.Client.login(url, "eve", password,
                                                  {deviceName: "chromium", store}); }""",
                      [web_node.url, PASSWORD, STORE])
        assert await web.run(KEYS) == [], "never approved"
        waiting = await clients(web_node.url, "eve", login=True)
        await accounts.revoke_device(web_node.app[DB], eve.address, eve.device_id)

        state = await web.run("() => window.me.transport.request('GET', '/history')")
        assert (state["epoch"], state["held"], state["restart"]) == (1, [], True)
        await web.run("async () => { await me.syncOnce(0); await me.archive.idle(); }")
        assert await web.run(KEYS) == [2]
        held = await waiting.http.request("GET", "/history")
        assert held["held"] == [], "a restart approves no device that was waiting"

        device = waiting.device_id
        assert await web.run("(d) => window.me.archive.approve(d)", device) == [2]
        state = await waiting.http.request("GET", "/history")
        assert (state["epoch"], state["held"], state["restart"]) == (2, [2], False)
    finally:
        await context.close()
