"""A shop's day in the team inbox: two agents in two Chromium contexts (a desktop and a
phone) on the business's node A, a customer as a Python SDK device on node C across
federation (resolved through the test DNS server): the greeting, a question, a product
card, an order and its status changes, a note, assignment, a label, resolve.
Screenshots at both sizes go to pytest's tmp dir (never into git)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from node.appkeys import DB
from node.client import OrderStatus, Product
from node.services import accounts
from tests.dnsserver import DnsServer
from tests.federation.network import start_nodes
from tests.sdk.conftest import receive
from tests.web.helpers import Clients
from tests.web.inbox import PASSWORD, WAIT_MS, Agent

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture
async def world(tmp_path: Path, web_bundle: Path) -> AsyncIterator[dict[str, Any]]:
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            nodes = await start_nodes(stack, dns, tmp_path, ["a", "c"])
            for name, role in (("boss", "admin"), ("anna", "agent"), ("ben", "agent")):
                await accounts.create_account(nodes["a"].app[DB], f"{name}@a.test", role,
                                              PASSWORD)
            clients = Clients(tmp_path)
            stack.push_async_callback(clients.close)
            yield {"a": nodes["a"], "c": nodes["c"], "client": clients}


async def test_a_shops_day(world: dict[str, Any], contexts: Any,
                           tmp_path: Path) -> None:
    a, c = world["a"], world["c"]
    boss = await world["client"](a.url, "boss", login=True)
    await boss.admin.update_profile(name="Teahouse")
    await boss.admin.save_product("GREEN-1", name="Sencha 100 g", price_minor=1250,
                                  currency="EUR")
    await boss.admin.set_automation(greeting={"enabled": True,
                                              "text": "Welcome to {business_name}!"})
    anna = await Agent.sign_in(await contexts(**DESKTOP), a.url, "anna")
    ben = await Agent.sign_in(await contexts(**PHONE), a.url, "ben")
    carl = await world["client"](c.url, "carl")
    business = a.config.business_address

    # The greeting (from the automation), then a question: both agents see it live.
    await carl.send_text(business, "Good morning! Is the Sencha fresh?")
    greeting = await receive(carl, 1, timeout=WAIT_MS / 1000)
    assert greeting[0].text == "Welcome to Teahouse!"
    for agent in (anna, ben):
        await expect(agent.item("carl@c.test")).to_contain_text("Carl", timeout=WAIT_MS)
    await anna.open("carl@c.test")
    await expect(anna.thread).to_contain_text("Is the Sencha fresh?", timeout=WAIT_MS)
    await expect(anna.thread.get_by_role("listitem").filter(
        has_text="Welcome to Teahouse!")).to_contain_text("Automation", timeout=WAIT_MS)

    # Anna answers with a product card; assigns herself; writes a note for Ben.
    await anna.send("Picked this week. Here it is:")
    await anna.page.get_by_role("button", name="Product card").click()
    await anna.page.get_by_role("button", name="Send Sencha 100 g").click()
    got = await receive(carl, 2, timeout=WAIT_MS / 1000)
    assert got[0].text == "Picked this week. Here it is:"
    assert isinstance(got[1].content, Product) and got[1].content.sku == "GREEN-1"
    await anna.page.get_by_role("combobox", name="Assignee").select_option(label="Anna")
    await anna.note("Carl asks about freshness a lot; he is a regular")

    # Ben on his phone: the list, then the conversation with the note and who wrote what.
    await expect(ben.item("carl@c.test")).to_contain_text("Anna", timeout=WAIT_MS)
    await ben.page.screenshot(path=tmp_path / "phone-list.png")
    await ben.open("carl@c.test")
    await expect(ben.conversations).to_be_hidden()
    await expect(ben.thread.locator(".note")).to_contain_text("he is a regular")
    await expect(ben.thread.get_by_role("listitem").filter(
        has_text="Picked this week")).to_contain_text("Anna")

    # The order: recorded, confirmed by Ben, paid and shipped by Anna.
    order = await carl.business.send_order(business, [("GREEN-1", 2)])
    order_id = order.content.order_id
    for agent in (anna, ben):
        card = agent.thread.get_by_role("region", name=f"Order {order_id}")
        await expect(card).to_contain_text("Total: 25.00 EUR", timeout=WAIT_MS)
    for agent, button, status in ((ben, "Confirm", "confirmed"), (anna, "Mark paid", "paid"),
                                  (anna, "Mark shipped", "shipped")):
        card = agent.thread.get_by_role("region", name=f"Order {order_id}")
        await card.get_by_role("button", name=button).click()
        await expect(card).to_contain_text(f"Status: {status}", timeout=WAIT_MS)
        [moved] = await receive(carl, 1, timeout=WAIT_MS / 1000)
        assert moved.content == OrderStatus(order_id, status)
    await ben.page.screenshot(path=tmp_path / "phone-conversation.png")

    # A label, the customer's thanks, the answer, and Anna resolves.
    await anna.page.get_by_role("checkbox", name="New customer").uncheck()
    await expect(ben.page.get_by_role("checkbox", name="New customer")).not_to_be_checked(
        timeout=WAIT_MS)
    await carl.send_text(business, "Thank you, it arrived!")
    await expect(ben.thread).to_contain_text("it arrived", timeout=WAIT_MS)
    await ben.send("Enjoy your tea, Carl!")
    [thanks] = await receive(carl, 1, timeout=WAIT_MS / 1000)
    assert (thanks.sender, thanks.text) == (business, "Enjoy your tea, Carl!")
    await anna.page.get_by_role("combobox", name="Status", exact=True).select_option("resolved")
    await ben.page.get_by_role("button", name="Back to conversations").click()
    await expect(ben.item("carl@c.test")).to_contain_text("Resolved", timeout=WAIT_MS)
    await anna.page.screenshot(path=tmp_path / "desktop.png")
    await ben.page.screenshot(path=tmp_path / "phone-resolved.png")

    # The node's record agrees, and nothing else reached Carl (the note never did).
    record = await boss.transport.request("GET", f"/business/conversations/{carl.address}")
    assert (record["status"], record["assignee"]) == ("resolved", "anna@a.test")
    assert all(p.stat().st_size > 1000 for p in tmp_path.glob("*.png"))
    for agent in (anna, ben):
        agent.clean()
