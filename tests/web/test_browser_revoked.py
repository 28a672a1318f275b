"""A browser device that the node revoked wipes its IndexedDB store before the app sees
the typed ``DeviceRevoked`` (docs/protocol.md, "Revocation"; the Python SDK's side is
tests/sdk/test_revoked_offline.py): told by an answer, by the socket's close code 4001,
or at ``Client.open`` after it was revoked while closed. Real node, real Chromium."""

from __future__ import annotations

from typing import Any

from node.appkeys import DB
from node.services import accounts
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSWORD
from tests.web.page import WebDevice

# What a call threw, as data (null when it did not throw).
OUTCOME = """async (call) => {
  try { await call(); return null; } catch (e) {
    return {name: e.name, code: e.code ?? null, status: e.status ?? null,
            revoked: e instanceof kontor.DeviceRevoked,
            unauthorized: e instanceof kontor.Unauthorized}; }
}"""

STORES = "async () => (await indexedDB.databases()).map((d) => d.name).sort()"

REVOKED = {"name": "DeviceRevoked", "code": "DEVICE_REVOKED", "status": 401,
           "revoked": True, "unauthorized": True}


async def _install(web: WebDevice) -> None:
    await web.run(f"() => {{ window.outcome = {OUTCOME}; }}")


async def _device_id(web: WebDevice) -> str:
    return str(await web.run("() => window.me.deviceId"))


async def test_a_request_after_revocation_wipes_the_store(
        web_node: RunningNode, browser: Any) -> None:
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, web_node.url)
        me = await web.register("webby", PASSWORD)
        await _install(web)
        await web.run("""() => { window.told = [];
            window.me.onRevoked = (e) => window.told.push(e.code); }""")
        assert await web.run(STORES) == ["kontor:sdk"]
        await accounts.revoke_device(web_node.app[DB], me, await _device_id(web))

        thrown = await web.run("() => outcome(() => window.me.sendText(window.me.address, 'x'))")
        assert thrown == REVOKED
        assert await web.run("() => [window.me.wiped, window.told]") == [True, ["DEVICE_REVOKED"]]
        assert await web.run(STORES) == []
        # Every later call says the same, without asking the node.
        assert await web.run("() => outcome(() => window.me.syncOnce())") == REVOKED
        assert await web.run("() => outcome(() => window.me.conversations())") == REVOKED
        assert await web.run("() => kontor.Client.exists({store: 'sdk'})") is False
        assert web.console_errors == [] or all("401" in e for e in web.console_errors)
    finally:
        await context.close()


async def test_the_socket_closed_for_revocation_wipes_the_store_in_every_tab(
        web_node: RunningNode, browser: Any) -> None:
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, web_node.url)
        me = await web.register("webby", PASSWORD)
        other = await WebDevice.open(context, web_node.url)  # a second tab of the device
        assert await other.reopen() == me
        for tab in (web, other):
            await _install(tab)
        # The first tab listens on the WebSocket; the node closes it with 4001.
        await web.run("""() => { window.listening = outcome(async () => {
            for await (const e of window.me.events()) void e; }); }""")
        await web.page.wait_for_function(
            "() => window.me.receiver.push && window.me.receiver.push.opened", timeout=20_000)
        await accounts.revoke_device(web_node.app[DB], me, await _device_id(web))

        assert await web.run("() => window.listening") == REVOKED
        assert await web.run(STORES) == []
        # The other tab let the deletion through and refuses to go on.
        assert await other.run("() => outcome(() => window.me.history('x@y'))") == REVOKED
        assert await other.run("() => window.me.wiped") is True
    finally:
        await context.close()


async def test_a_device_revoked_while_closed_is_wiped_when_it_opens(
        web_node: RunningNode, browser: Any) -> None:
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, web_node.url)
        me = await web.register("webby", PASSWORD)
        device = await _device_id(web)
        await web.run("() => window.me.close()")
        await web.reload()  # the page is gone while the operator revokes the device
        await accounts.revoke_device(web_node.app[DB], me, device)
        await _install(web)

        assert await web.run("() => outcome(() => kontor.Client.open({store: 'sdk'}))") == REVOKED
        assert await web.run(STORES) == []
        assert await web.run("() => kontor.Client.exists({store: 'sdk'})") is False
    finally:
        await context.close()
