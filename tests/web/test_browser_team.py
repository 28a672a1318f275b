"""kontor.js on a team device and beside it: the local conversation list, the team's
duties (recording a customer's order, marking read for the team, reporting a customer's
read receipt) against a real business node, and a node's `failed` event handed to the
page as a typed DeliveryFailed (a business on another node refuses a blocked customer)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from node.appkeys import DB
from node.client import Client, Order, OrderItem, Receipt
from node.services import accounts
from tests.dnsserver import DnsServer
from tests.federation.network import start_nodes
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSPHRASE, PASSWORD, receive
from tests.web.helpers import team_account
from tests.web.page import WebDevice

# Collect the page's events by long-poll until `count` of the kind `kind` are in
# window.got[kind] (Message, Read (receipts), Delivered or DeliveryFailed), within `ms`.
COLLECT = """async ([kind, count, ms]) => {
  window.got ??= {Message: [], Read: [], Delivered: [], DeliveryFailed: [], Other: []};
  const kindOf = (e) => e instanceof kontor.Message ? "Message"
    : e instanceof kontor.Receipt ? (e.kind === "read" ? "Read" : "Delivered")
    : e instanceof kontor.DeliveryFailed ? "DeliveryFailed" : "Other";
  const deadline = Date.now() + ms;
  while (window.got[kind].length < count) {
    if (Date.now() > deadline) throw new Error(`timed out: ${window.got[kind].length} ${kind}`);
    for (const e of await window.me.syncOnce(1000)) window.got[kindOf(e)].push(e);
  }
  return window.got[kind].map((e) => e.toJSON()); }"""


async def test_team_device_records_orders_marks_read_and_reports_reads(
        tmp_path: Path, shop: RunningNode, browser: Any) -> None:
    business = shop.config.business_address
    await team_account(shop, "boss", "admin")
    await team_account(shop, "anna")
    boss = await Client.login(shop.url, "boss", PASSWORD, passphrase=PASSPHRASE,
                              store=tmp_path / "boss.kontor")
    carl = await Client.register(shop.url, "carl", PASSWORD, passphrase=PASSPHRASE,
                                 store=tmp_path / "carl.kontor")
    context = await browser.new_context()
    try:
        await boss.admin.save_product("GREEN-1", name="Sencha", price_minor=1250,
                                      currency="EUR")
        web = await WebDevice.open(context, shop.url)
        await web.run("""async ([url, password]) => {
            window.me = await kontor.Client.login(url, "anna", password,
                                                  {deviceName: "chromium"}); }""",
                      [shop.url, PASSWORD])
        await carl.send_text(business, "hello shop")
        await carl.send(business, Order("o-77", (OrderItem("GREEN-1", 2),)))
        got = await web.run(COLLECT, ["Message", 2, 30_000])
        assert [m["content"]["type"] for m in got if m["sender"] == carl.address] == \
            ["text", "order"]
        [mine] = [c for c in await web.run("() => window.me.conversations()")
                  if c["peer"] == carl.address]
        assert mine["unread"] == 2 and mine["messages"] >= 2

        # The order, recorded for the team (twice: the second finds the first).
        recorded = await web.run("""async () => {
            const order = window.got.Message.find((m) => m.type === "order");
            return [await window.me.report(order), await window.me.recordOrder(order)]; }""")
        assert [r["order_id"] for r in recorded] == ["o-77", "o-77"]
        assert recorded[0]["conversation"] == carl.address

        # Marking the text read moves the team's read state on the node (the order stays).
        team = await web.run("""async ([peer]) => {
            await window.me.markRead(window.got.Message.find((m) => m.type === "text"));
            return (await window.me.teamConversations()).find((c) => c.customer === peer); }""",
                          [carl.address])
        assert team["unread"] == 1, team
        [mine] = [c for c in await web.run("() => window.me.conversations()")
                  if c["peer"] == carl.address]
        assert mine["unread"] == 1
        reads = [r for r in await receive(carl, 2, timeout=20, kinds=(Receipt,))
                 if r.kind == "read"]
        assert [(r.by, list(r.message_ids)) for r in reads] == [(business, [got_text_id(got)])]

        # The customer reads the team's answer: the team device reports it.
        sent = await web.send_text(carl.address, "two Sencha, on their way")
        [answer] = await receive(carl, 1, timeout=20)
        assert answer.message_id == sent["messageId"]
        await carl.mark_read(answer)
        [read] = await web.run(COLLECT, ["Read", 1, 30_000])
        assert (read["by"], read["messageIds"]) == (carl.address, [sent["messageId"]])
        reported = await web.run("() => window.me.report(window.got.Read[0])")
        assert reported == {"readReported": True}
        conversation = await boss.team.conversation(carl.address)
        assert conversation["customer_read_ms"] == answer.ts
        # (Chromium logs the second recording's 409 ORDER_EXISTS as a failed load: expected)
        assert web.console_errors == [
            "Failed to load resource: the server responded with a status of 409 (Conflict)"]
        assert web.foreign_requests == []
    finally:
        await context.close()
        await boss.close()
        await carl.close()


async def test_a_refused_message_reaches_the_page_as_delivery_failed(
        tmp_path: Path, browser: Any) -> None:
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            nodes = await start_nodes(stack, dns, tmp_path, ["a", "c"])
            a = nodes["a"]
            await accounts.create_account(a.app[DB], "boss@a.test", "admin", PASSWORD)
            boss = await Client.login(a.url, "boss", PASSWORD, passphrase=PASSPHRASE,
                                      store=tmp_path / "boss.kontor")
            stack.push_async_callback(boss.close)
            context = await browser.new_context()
            stack.push_async_callback(context.close)
            web = await WebDevice.open(context, nodes["c"].url)
            me = await web.register("webby", PASSWORD)
            await boss.admin.block(me, reason="spam")
            business = a.config.business_address
            sent = await web.send_text(business, "buy my pills")
            [failed] = await web.run(COLLECT, ["DeliveryFailed", 1, 30_000])
            assert (failed["kind"], failed["messageId"], failed["to"], failed["reason"]) == (
                "failed", sent["messageId"], business, "BLOCKED")
            assert await web.run("""() => window.got.DeliveryFailed[0] instanceof
                kontor.DeliveryError && window.got.DeliveryFailed[0].message""") == \
                f"message {sent['messageId']} to {business} was not delivered: BLOCKED"
            assert web.console_errors == [] and web.foreign_requests == []


def got_text_id(got: list[dict[str, Any]]) -> str:
    """The id of the customer's text among the collected messages."""
    return next(m["messageId"] for m in got if m["content"]["type"] == "text")
