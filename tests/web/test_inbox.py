"""The team inbox at /app/ in Debian's Chromium: two agents in two browser contexts sign
in, a customer (a Python SDK device) writes, and everything the agents do reaches the
other agent live and, where it should, the customer (notes never do)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from node.appkeys import BUSINESS
from node.client import Client, Receipt
from node.services.business import conversations
from node.services.business.context import operator
from tests.nodes import RunningNode, eventually
from tests.sdk.conftest import PASSPHRASE, receive
from tests.web.helpers import catalogue
from tests.web.inbox import PASSWORD, WAIT_MS, Agent, team_account


def frame(payload: str | bytes) -> dict[str, Any]:
    """A WebSocket frame as JSON (an empty dict for anything else)."""
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def read_receipt(client: Client) -> Receipt:
    """The next read receipt ``client`` gets (delivery receipts are passed over)."""
    for _ in range(10):
        for item in await receive(client, 1, kinds=(Receipt,)):
            if isinstance(item, Receipt) and item.kind == "read":
                return item
    raise AssertionError("no read receipt among ten receipts")


async def test_two_agents_and_a_customer(shop: RunningNode, contexts: Any,
                                         tmp_path: Path) -> None:
    await team_account(shop, "anna")
    ben_address = await team_account(shop, "ben")
    anna_context = await contexts()
    frames: list[dict[str, Any]] = []  # what reaches Anna's page on the team's WebSocket
    anna_context.on("page", lambda page: page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: frames.append(frame(payload)))))
    anna = await Agent.sign_in(anna_context, shop.url, "anna")
    ben = await Agent.sign_in(await contexts(), shop.url, "ben")
    business = f"shop@{shop.config.node.server_name}"
    carl = await Client.register(shop.url, "carl.berg", PASSWORD, passphrase=PASSPHRASE,
                                 store=tmp_path / "carl.kontor")
    try:
        # The customer writes: both agents see it live, decrypted, unread.
        await carl.send_text(business, "Hello, do you have green tea?")
        for agent in (anna, ben):
            item = agent.item("carl.berg@")
            await expect(item).to_contain_text("Carl Berg", timeout=WAIT_MS)
            await expect(item).to_contain_text("Hello, do you have green tea?")
            await expect(item).to_contain_text("1 unread")
            await expect(item).to_contain_text("Open")

        # Anna reads it: the unread count drops for Ben too, and Carl gets a read receipt.
        await anna.open("carl.berg@")
        await expect(anna.thread.get_by_role("listitem").first).to_contain_text("Carl Berg")
        await expect(ben.item("carl.berg@")).not_to_contain_text("unread", timeout=WAIT_MS)
        assert await read_receipt(carl), "Carl's app learns the message was read"

        # Anna answers: Carl gets it from the business; Ben sees who wrote it.
        await anna.send("Yes: Sencha and Matcha.")
        [reply] = await receive(carl, 1)
        assert (reply.sender, reply.text) == (business, "Yes: Sencha and Matcha.")
        await expect(anna.thread).to_contain_text("Delivered", timeout=WAIT_MS)
        # Carl reads it: his receipt shows "Read", and a team device reports it to the node
        # for the statistics (kontor.js reportRead).
        await carl.mark_read(reply)
        await expect(anna.thread.get_by_role("listitem").filter(
            has_text="Sencha and Matcha")).to_contain_text("Read", timeout=WAIT_MS)

        async def customer_read() -> bool:
            record = await conversations.get(shop.app[BUSINESS], operator(shop.app[BUSINESS]),
                                             carl.address)
            return record["customer_read_ms"] == reply.ts

        await eventually(customer_read, timeout=WAIT_MS / 1000, what="customer_read_ms")
        await ben.open("carl.berg@")
        await expect(ben.thread.get_by_role("listitem").filter(
            has_text="Sencha and Matcha")).to_contain_text("Anna")
        # Both have it open: each sees the other (presence over the team's sockets).
        await expect(anna.page.get_by_role("status").filter(has_text="also viewing")).to_have_text(
            "Ben is also viewing this conversation", timeout=WAIT_MS)
        await expect(ben.page.get_by_role("status").filter(has_text="also viewing")).to_have_text(
            "Anna is also viewing this conversation", timeout=WAIT_MS)

        # A note: Ben sees it live; it never reaches Carl.
        await anna.note("Carl is a regular, give him the discount")
        await expect(ben.thread.locator(".note")).to_contain_text("give him the discount",
                                                                  timeout=WAIT_MS)
        await carl.send_text(business, "And the price?")
        await expect(anna.thread).to_contain_text("And the price?", timeout=WAIT_MS)
        await ben.send("4.50 EUR for 100 g")
        got = await receive(carl, 1)
        assert [m.text for m in got] == ["4.50 EUR for 100 g"], "the note was not sent"
        await expect(anna.thread.get_by_role("listitem").filter(
            has_text="4.50 EUR")).to_contain_text("Ben", timeout=WAIT_MS)

        # Assignment, a label and the status, each seen by the other agent live.
        await anna.page.get_by_role("combobox", name="Assignee").select_option(label="Anna")
        await expect(ben.item("carl.berg@")).to_contain_text("Anna", timeout=WAIT_MS)
        await ben.page.get_by_role("checkbox", name="Paid").check()
        await expect(anna.item("carl.berg@")).to_contain_text("Paid", timeout=WAIT_MS)
        await ben.page.get_by_role("combobox", name="Status", exact=True).select_option("pending")
        await expect(anna.item("carl.berg@")).to_contain_text("Pending", timeout=WAIT_MS)

        # Filters and the search over the decrypted history on the device.
        page = anna.page
        await page.get_by_role("combobox", name="Assignment filter").select_option("none")
        await expect(anna.item("carl.berg@")).to_have_count(0)
        await page.get_by_role("combobox", name="Assignment filter").select_option("me")
        await expect(anna.item("carl.berg@")).to_have_count(1)
        await page.get_by_role("combobox", name="Status filter").select_option("resolved")
        await expect(anna.item("carl.berg@")).to_have_count(0)
        await page.get_by_role("combobox", name="Status filter").select_option("pending")
        await page.get_by_role("searchbox", name="Search").fill("matcha")
        await expect(anna.item("carl.berg@")).to_have_count(1)
        await page.get_by_role("searchbox", name="Search").fill("coffee")
        await expect(anna.item("carl.berg@")).to_have_count(0)
        await page.get_by_role("searchbox", name="Search").fill("")

        # Ben switches to another page of the app and back.
        viewing = anna.page.get_by_role("status").filter(has_text="also viewing")
        await expect(viewing).to_have_text("Ben is also viewing this conversation")
        await ben.page.get_by_role("button", name="Settings").click()
        await expect(viewing).to_have_count(0, timeout=WAIT_MS)
        await ben.page.get_by_role("button", name="Inbox").click()
        await expect(viewing).to_have_count(1, timeout=WAIT_MS)
        # A second tab of Ben's browser (the same device) shows the conversation while the
        # first shows the settings; closing that tab ends it for Anna at once by the tab's
        # own `viewing: false` (pagehide): the device's socket in the first tab stays open,
        # so the node has no closing socket to end it by.
        await ben.page.get_by_role("button", name="Settings").click()
        await expect(viewing).to_have_count(0, timeout=WAIT_MS)
        other = Agent(await ben.page.context.new_page(), shop.url)
        await other.page.goto(shop.url + "/app/")
        await other.open("carl.berg@")
        await expect(viewing).to_have_count(1, timeout=WAIT_MS)
        before = len(frames)
        await other.page.close()

        async def ben_left() -> bool:
            return any(f.get("type") == "viewing" and f.get("account") == ben_address
                       and f.get("conversation") == carl.address and f.get("viewing") is False
                       for f in frames[before:])

        await eventually(ben_left, timeout=WAIT_MS / 1000, what="Ben's viewing: false")
        await expect(viewing).to_have_count(0, timeout=WAIT_MS)
        await ben.page.close()
        await expect(anna.page.get_by_text("also viewing")).to_have_count(0)

        # A reload keeps the device and shows the stored history; sign out ends it.
        await page.reload()
        await expect(anna.item("carl.berg@")).to_contain_text("4.50 EUR", timeout=WAIT_MS)
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        for agent in (anna, ben):
            agent.clean()
    finally:
        await carl.close()


def test_every_catalogue_has_every_string() -> None:
    """English and German name the same keys, with the same {placeholders}."""
    english, german = catalogue("app", "en"), catalogue("app", "de")
    assert english and english == german


async def test_installable_as_a_pwa(web_node: RunningNode) -> None:
    """The page links a web app manifest and an SVG icon, both from the bundle, allowed by
    the CSP (manifest-src 'self'), nothing from another host."""
    import re

    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(web_node.url + "/app/") as resp:
            page = await resp.text()
            assert "manifest-src 'self'" in resp.headers["Content-Security-Policy"]
        manifest_href = re.search(r'<link rel="manifest" href="(/_kontor/web/[^"]+)"', page)
        icon_href = re.search(r'<link rel="icon" href="(/_kontor/web/[^"]+\.svg)"', page)
        assert manifest_href and icon_href, page
        async with http.get(web_node.url + manifest_href.group(1)) as resp:
            assert resp.headers["Content-Type"].startswith("application/manifest+json")
            manifest = await resp.json(content_type=None)
        assert (manifest["start_url"], manifest["display"]) == ("/app/", "standalone")
        [icon] = manifest["icons"]
        assert icon["src"] == icon_href.group(1) and icon["type"] == "image/svg+xml"
        async with http.get(web_node.url + icon["src"]) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("image/svg+xml")
            assert b"<svg" in await resp.read()
