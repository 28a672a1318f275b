"""kontor.js beyond plain text: long-poll, delivered and read receipts both ways, orders
and products, and business documents whose signatures the page checks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.client import Client, Order, Product, Receipt
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401
from tests.web.page import WebDevice


@pytest.fixture
async def python_device(tmp_path: Path, web_node: RunningNode) -> AsyncIterator[Client]:
    client = await Client.register(web_node.url, "pyro", PASSWORD, passphrase=PASSPHRASE,
                                   store=tmp_path / "pyro.kontor")
    yield client
    await client.close()


@pytest.fixture
async def web(web_node: RunningNode, browser: Any) -> AsyncIterator[WebDevice]:
    context = await browser.new_context()
    try:
        device = await WebDevice.open(context, web_node.url)
        await device.register("webby", PASSWORD)
        yield device
        assert device.console_errors == [] and device.foreign_requests == []
    finally:
        await context.close()


async def events(web: WebDevice, count: int) -> list[dict[str, Any]]:
    """The next events of the page, received by long-poll (no WebSocket)."""
    return await web.run("([count]) => window.nextEvents(count, 20000, "
                         "{websocket: false, pollTimeoutMs: 2000})", [count])


async def test_receipts_both_ways_over_long_poll(web: WebDevice, python_device: Client) -> None:
    me = await web.run("() => window.me.address")
    await python_device.send_text(me, "please read this")
    [got] = await events(web, 1)
    assert got["text"] == "please read this"
    assert await web.run("() => window.me.receiver.push === null"), "long-poll, no socket"
    # The browser reads it: Python learns of the delivery, then gets a read receipt.
    await web.run("""async ([id, peer]) => {
        const m = (await window.me.history(peer)).find((x) => x.messageId === id);
        await window.me.markRead(m); }""", [got["messageId"], python_device.address])
    # (the node's delivered receipt, sent when the browser acknowledged, comes first)
    receipts = await receive(python_device, 2, kinds=(Receipt,))
    assert [(r.kind, list(r.message_ids)) for r in receipts] == [
        ("delivered", [got["messageId"]]), ("read", [got["messageId"]])]
    # The browser writes: the node reports delivery, then Python's app reads it.
    sent = await web.send_text(python_device.address, "did you get it?")
    [message] = await receive(python_device, 1)
    # (first the delivery of the browser's read receipt, itself a message)
    delivered = await events(web, 2)
    assert [(e["receipt"], e["messageIds"]) for e in delivered][1] == (
        "delivered", [sent["messageId"]])
    await python_device.mark_read(message)
    [read_back] = await events(web, 1)
    assert (read_back["receipt"], read_back["messageIds"]) == ("read", [sent["messageId"]])
    stored = await web.run("""async ([peer, id]) => {
        const m = (await window.me.history(peer)).find((x) => x.messageId === id);
        return [m.delivered, m.read]; }""", [python_device.address, sent["messageId"]])
    assert stored == [True, True]


async def test_orders_and_products(web: WebDevice, python_device: Client) -> None:
    await web.run("""async (to) => {
        await window.me.sendProduct(to, "green-tea", "shop.example");
        await window.me.sendOrder(to, [["green-tea", 2], ["cup", 1]],
                                  {orderId: "o-web-1", totalMinor: 1800, currency: "EUR"});
    }""", python_device.address)
    product, order = await receive(python_device, 2)
    assert isinstance(product.content, Product) and product.content.sku == "green-tea"
    assert isinstance(order.content, Order) and order.content.order_id == "o-web-1"
    assert [(i.sku, i.quantity) for i in order.content.items] == [("green-tea", 2), ("cup", 1)]


async def test_business_profile_is_checked_in_the_page(web: WebDevice,
                                                       web_node: RunningNode) -> None:
    server = web_node.config.node.server_name
    profile = await web.run("""async (server) => {
        const p = await window.me.businessProfile(server);
        return {server: p.serverName, type: p.document.type, keyId: p.keyId,
                verified: p.verified}; }""", server)
    assert profile["server"] == server and profile["type"] == "kontor.business.profile"
    assert profile["keyId"].startswith("ed25519:") and profile["verified"] is False

    async def tamper(route: Any) -> None:
        response = await route.fetch()
        answer = await response.json()
        answer["document"]["name"] = "Someone Else Ltd"
        await route.fulfill(response=response, body=json.dumps(answer))

    await web.page.route("**/_kontor/client/v1/directory/**", tamper)
    refused = await web.run("""async (server) => {
        try { await window.me.businessProfile(server); return "accepted"; }
        catch (err) { return err.name; } }""", server)
    assert refused == "VerificationError"
