"""The customer chat page at /chat in Debian's Chromium against a real node: a guest
created without typing (proof of work with progress), the business's signed profile
(plainly "not verified": a browser cannot check the DNS pin), the greeting, messages both
ways with an agent answering through the Python SDK, delivered and read marks, and the
history after a reload; a plain 404 page when the web chat is off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import expect

from node.client import Client
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSPHRASE
from tests.web.chat import ALL_DAY, texts_from
from tests.web.helpers import PASSWORD, WAIT_MS, Watched, catalogue, team_account

GREETING = "Welcome to Teehaus Berg! We answer within the hour."


async def test_a_customer_chats_from_the_page_and_keeps_the_history(
        chat_shop: RunningNode, browser: Any, tmp_path: Path) -> None:
    await team_account(chat_shop, "olga", "admin")
    olga = await Client.login(chat_shop.url, "olga", PASSWORD, passphrase=PASSPHRASE,
                              store=tmp_path / "olga.kontor")
    context = await browser.new_context(locale="en-GB")
    try:
        await olga.admin.update_profile(name="Teehaus Berg", description="Tea from everywhere",
                                        timezone="Europe/Berlin", hours=ALL_DAY)
        await olga.admin.set_automation(greeting={"enabled": True, "text": GREETING})
        customer = Watched(await context.new_page(), chat_shop.url)
        page = customer.page
        await page.goto(chat_shop.url + "/chat")
        await expect(page.get_by_role("heading", name="Teehaus Berg")).to_be_visible(
            timeout=WAIT_MS)
        await expect(page.get_by_text("Not verified:")).to_be_visible()
        await expect(page.get_by_text("Open now")).to_be_visible()
        await expect(page.get_by_text("Tea from everywhere")).to_be_visible()
        thread = page.get_by_role("list", name="Messages")

        await page.get_by_role("textbox", name="Message").fill("Do you have sencha?")
        await page.get_by_role("button", name="Send").click()
        await expect(thread).to_contain_text("Do you have sencha?", timeout=WAIT_MS)
        [asked] = await texts_from(olga, "guest-", 1)
        assert asked.text == "Do you have sencha?" and asked.sender.startswith("guest-")
        await expect(thread).to_contain_text(GREETING, timeout=WAIT_MS)
        mine = thread.get_by_role("listitem").filter(has_text="Do you have sencha?")
        await expect(mine).to_contain_text("Delivered", timeout=WAIT_MS)
        await olga.mark_read(asked)
        await expect(mine).to_contain_text("Read", timeout=WAIT_MS)

        await olga.send_text(asked.sender, "Yes, 4.50 EUR for 100 g.")
        await expect(thread).to_contain_text("Yes, 4.50 EUR for 100 g.", timeout=WAIT_MS)

        await page.reload()
        for text in ("Do you have sencha?", GREETING, "Yes, 4.50 EUR for 100 g."):
            await expect(thread).to_contain_text(text, timeout=WAIT_MS)
        await expect(mine).to_contain_text("Read")
        await page.get_by_role("textbox", name="Message").press_sequentially("One more")
        await page.get_by_role("textbox", name="Message").press("Enter")
        [again] = await texts_from(olga, "guest-", 1)
        assert (again.sender, again.text) == (asked.sender, "One more")  # the same guest
        customer.clean()
    finally:
        await context.close()
        await olga.close()


async def test_the_chat_page_is_a_plain_404_when_the_web_chat_is_off(
        web_node: RunningNode) -> None:
    async with aiohttp.ClientSession() as http, http.get(web_node.url + "/chat") as resp:
        text = await resp.text()
        assert resp.status == 404
        assert "[webchat]" in text and "<script" not in text
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


async def test_the_chat_page_has_sri_and_no_inline_script(chat_shop: RunningNode) -> None:
    async with aiohttp.ClientSession() as http, http.get(chat_shop.url + "/chat") as resp:
        text = await resp.text()
        assert resp.status == 200
        assert f'name="kontor-business" content="shop@{chat_shop.config.node.server_name}"' in text
        scripts = text.count("<script")
        assert scripts == 1 and text.count('integrity="sha384-') >= 3
        assert "<script>" not in text and "style=" not in text


async def test_what_is_written_offline_waits_and_is_sent_when_back(
        chat_shop: RunningNode, browser: Any, tmp_path: Path) -> None:
    await team_account(chat_shop, "olga", "admin")
    olga = await Client.login(chat_shop.url, "olga", PASSWORD, passphrase=PASSPHRASE,
                              store=tmp_path / "olga.kontor")
    context = await browser.new_context(locale="en-GB")
    try:
        customer = Watched(await context.new_page(), chat_shop.url)
        page = customer.page
        await page.goto(chat_shop.url + "/chat")
        box = page.get_by_role("textbox", name="Message")
        await expect(box).to_be_visible(timeout=WAIT_MS)
        await context.set_offline(True)
        await box.fill("Are you open on Sunday?")
        await page.get_by_role("button", name="Send").click()
        waiting = page.get_by_role("list", name="Messages").get_by_role("listitem").filter(
            has_text="Are you open on Sunday?")
        await expect(waiting).to_contain_text("Waiting for the network", timeout=WAIT_MS)
        await box.fill("And on Monday?")
        await box.press("Enter")
        await context.set_offline(False)
        await expect(waiting).to_contain_text("Delivered", timeout=WAIT_MS)
        got = await texts_from(olga, "guest-", 2)
        assert [m.text for m in got] == ["Are you open on Sunday?", "And on Monday?"]
        # the browser logs the refused requests while offline; nothing else went wrong
        errors = [e for e in customer.console_errors if "ERR_INTERNET_DISCONNECTED" not in e]
        assert errors == [] and customer.foreign_requests == []
    finally:
        await context.close()
        await olga.close()


def test_every_chat_catalogue_has_every_string() -> None:
    """English and German name the same keys, with the same {placeholders}."""
    english, german = catalogue("chat", "en"), catalogue("chat", "de")
    assert english and english == german
