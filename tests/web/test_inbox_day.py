"""A shop's day in the team inbox: two agents in two Chromium contexts (a desktop and a
phone) on the business's node A, a customer as a Python SDK device on node C across
federation (resolved through the test DNS server): the greeting, a question, a product
card, an order and its status changes, a note, assignment, a label, resolve, the away
message after hours, and a new agent device signing in in the evening, approved for the
team's history by the admin, which then shows the day's messages (kontor.js's history).
Screenshots at both sizes go to $KONTOR_ARTIFACTS/inbox or pytest's tmp dir (never into
git); no console errors, no request to another host."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
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
from tests.web.inbox import PASSWORD, WAIT_MS, Agent, artifacts

ALL_DAY = {day: [{"open": "00:00", "close": "24:00"}]
           for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
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
    shots = artifacts(tmp_path)
    boss = await world["client"](a.url, "boss", login=True)
    await boss.admin.update_profile(name="Teahouse", timezone="UTC", hours=ALL_DAY)
    await boss.admin.create_label("Regular", "#2e6fd8")
    await boss.admin.save_product("GREEN-1", name="Sencha 100 g", price_minor=1250,
                                  currency="EUR")
    await boss.admin.set_automation(
        greeting={"enabled": True, "text": "Welcome to {business_name}!"},
        away={"enabled": True, "text": "We are closed now; we answer in the morning.",
              "outside_hours": True})
    anna = await Agent.sign_in(await contexts(**DESKTOP), a.url, "anna")
    ben = await Agent.sign_in(await contexts(**PHONE), a.url, "ben")
    carl = await world["client"](c.url, "carl")
    business = a.config.business_address
    # The admin (the team history's first device) lets the agents' new browsers in: they
    # then seal the day's messages for the team's history.
    for device in await boss.archive.pending_devices():
        assert await boss.archive.approve(device["device_id"]) == [1]

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
    await ben.page.screenshot(path=shots / "phone-list.png")
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
    await ben.page.screenshot(path=shots / "phone-conversation.png")

    # A label: Anna marks Carl a regular, Ben sees it in the list; the automatic one goes.
    await anna.page.get_by_role("checkbox", name="Regular").check()
    await expect(ben.page.get_by_role("checkbox", name="Regular")).to_be_checked(
        timeout=WAIT_MS)
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
    await expect(ben.item("carl@c.test")).to_contain_text("Regular")
    await anna.page.screenshot(path=shots / "desktop.png")
    await ben.page.screenshot(path=shots / "phone-resolved.png")

    # The node's record agrees, and nothing else reached Carl (the note never did).
    record = await boss.transport.request("GET", f"/business/conversations/{carl.address}")
    assert (record["status"], record["assignee"]) == ("resolved", "anna@a.test")
    assert "Regular" in [label["name"] for label in record["labels"]]

    await evening(world, boss, carl, anna, ben, contexts, shots)
    assert all(p.stat().st_size > 1000 for p in shots.glob("*.png"))
    for agent in (anna, ben):
        agent.clean()


async def evening(world: dict[str, Any], boss: Any, carl: Any, anna: Agent, ben: Agent,
                  contexts: Any, shots: Path) -> None:
    """After hours Carl gets the away message (both agents see it, from the automation);
    Dora's new browser device signs in, the admin approves it for the team's history, and
    it shows the day's conversation: its labels, and the messages from before it existed."""
    a = world["a"]
    business = a.config.business_address
    today = datetime.now(UTC).date().isoformat()
    await boss.admin.update_profile(exceptions={today: []})  # closed from now on
    await carl.send_text(business, "Are you still open?")
    [away] = await receive(carl, 1, timeout=WAIT_MS / 1000)
    assert (away.sender, away.text) == (business, "We are closed now; we answer in the morning.")
    for agent in (anna, ben):
        await agent.open("carl@c.test")
        item = agent.thread.get_by_role("listitem").filter(has_text="we answer in the morning")
        await expect(item).to_contain_text("Automation", timeout=WAIT_MS)

    await accounts.create_account(a.app[DB], "dora@a.test", "agent", PASSWORD)
    dora = await Agent.sign_in(await contexts(**PHONE), a.url, "dora")
    await expect(dora.item("carl@c.test")).to_contain_text("Regular", timeout=WAIT_MS)
    await expect(dora.item("carl@c.test")).to_contain_text("Open")  # Carl wrote again
    team = await boss.transport.request("GET", "/business/team")
    [dora_device] = [d["device_id"] for m in team["members"] if m["address"] == "dora@a.test"
                     for d in m["devices"]]
    pending = {d["device_id"] for d in await boss.archive.pending_devices()}
    assert dora_device in pending, pending
    assert await boss.archive.approve(dora_device) == [1]
    assert dora_device not in {d["device_id"] for d in await boss.archive.pending_devices()}
    await dora.open("carl@c.test")
    for earlier in ("Is the Sencha fresh?", "Picked this week", "Enjoy your tea, Carl!"):
        await expect(dora.thread).to_contain_text(earlier, timeout=WAIT_MS)
    await expect(dora.thread.locator(".note")).to_contain_text("he is a regular")
    await dora.page.screenshot(path=shots / "phone-new-device.png")
    dora.clean()
