"""The inbox's settings in Chromium, as a shop's admin uses them: the business profile
(logo, address, hours for a range of days, a holiday), the catalog (a product with an
image, then hidden), quick replies, labels, greeting and away messages, blocks, a new
agent invited by a one-time link who registers from it, and the team's accounts and
devices (a revoked agent's browser shows the sign-in screen saying why). Everything is
checked on the node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from tests.api.helpers import call, login
from tests.web.helpers import PASSWORD, WAIT_MS, shop_node
from tests.web.inbox import Agent, team_account
from tests.web.test_inbox_shop import png


@pytest.fixture
async def invite_shop(tmp_path: Path, web_bundle: Path) -> AsyncIterator[Any]:
    async with shop_node(tmp_path, accounts={"registration": "invite"}) as running:
        yield running


async def saved(part: Any, text: str) -> None:
    """One of the part's status lines says ``text``."""
    await expect(part.locator(".save-status").filter(has_text=text)).to_have_count(
        1, timeout=WAIT_MS)


async def edit_profile(page: Any, tmp_path: Path) -> None:
    part = page.get_by_role("region", name="Business profile")
    await part.get_by_label("Business name").fill("Teehaus Berg")
    await part.get_by_label("Description").fill("Tea from everywhere")
    await part.get_by_label("Postal address").fill("Bergstraße 1\n10115 Berlin")
    await part.get_by_label("Website").fill("https://teehaus.example")
    await part.get_by_label("E-mail").fill("hallo@teehaus.example")
    await part.get_by_label("Phone").fill("+49 30 123456")
    await part.get_by_label("Time zone").fill("Europe/Berlin")
    await part.get_by_label("First day").select_option("mon")
    await part.get_by_label("Last day").select_option("fri")
    await part.get_by_label("Hours for these days").fill("09:00-13:00, 14:00-18:00")
    await part.get_by_role("button", name="Apply to these days").click()
    await part.get_by_label("Hours on Saturday").fill("10:00-14:00")
    await part.get_by_role("button", name="Add a date").click()
    await part.get_by_label("Date", exact=True).fill("2026-12-25")
    (tmp_path / "logo.png").write_bytes(png(8, 8))
    await part.get_by_label("Logo image").set_input_files(tmp_path / "logo.png")
    await saved(part, "Logo uploaded")
    await expect(part.get_by_role("img", name="Logo")).to_be_visible()
    await part.get_by_label("Hours on Sunday").fill("9 to 5")
    await part.get_by_role("button", name="Save profile").click()
    await saved(part, "Sunday: 9 to 5 is not a time range")
    await part.get_by_label("Hours on Sunday").fill("")
    await part.get_by_role("button", name="Save profile").click()
    await saved(part, "Profile saved and signed.")


def new_product(part: Any) -> Any:
    return part.get_by_role("form", name="New product").get_by_role("button", name="Add product")


def products(part: Any) -> Any:
    return part.get_by_role("list", name="Products").get_by_role("listitem")


async def edit_catalog(page: Any, tmp_path: Path) -> None:
    part = page.get_by_role("region", name="Catalog")
    await part.get_by_role("button", name="Add product").first.click()
    await part.get_by_label("SKU (article number)").fill("GREEN-1")
    await part.get_by_label("Product name").fill("Sencha")
    await part.get_by_label("Price").fill("12,5")
    await part.get_by_label("Currency").fill("eur")
    await part.get_by_label("Pieces in stock").fill("12")
    (tmp_path / "tea.png").write_bytes(png(4, 4))
    await part.get_by_label("Product image").set_input_files(tmp_path / "tea.png")
    await new_product(part).click()
    await saved(part, "Product saved.")
    row = products(part).filter(has_text="Sencha")
    await expect(row).to_contain_text("12.50 EUR")
    await expect(row).to_contain_text("with image")
    await expect(row).to_contain_text("12 left")
    await part.get_by_role("button", name="Add product").first.click()
    await part.get_by_label("SKU (article number)").fill("OLD-1")
    await part.get_by_label("Product name").fill("Old tea")
    await part.get_by_label("Price").fill("3")
    await new_product(part).click()
    await saved(part, "Product saved.")
    await part.get_by_role("button", name="Edit Old tea").click()
    await part.get_by_label("Availability when not counted").select_option("out_of_stock")
    await part.get_by_label("Visible in the catalog").uncheck()
    await part.get_by_role("button", name="Save product").click()
    old = products(part).filter(has_text="Old tea")
    await expect(old).to_contain_text("Hidden", timeout=WAIT_MS)


async def edit_texts(page: Any) -> None:
    part = page.get_by_role("region", name="Quick replies")
    await part.get_by_label("Shortcut").fill("hello")
    await part.get_by_label("Reply text").fill("Hello {customer name}!")
    await part.get_by_role("button", name="Add quick reply").click()
    await saved(part, "{customer name}")  # the node names the unknown placeholder
    await part.get_by_label("Reply text").fill("Hello {customer_name}!")
    await part.get_by_role("button", name="Add quick reply").click()
    await saved(part, "Saved.")
    await expect(part.get_by_label("Text of /hello")).to_have_value("Hello {customer_name}!")

    part = page.get_by_role("region", name="Labels")
    await part.get_by_label("Label name", exact=True).fill("VIP")
    await part.get_by_role("button", name="Add label").click()
    await expect(part.get_by_label("Name of VIP")).to_be_visible(timeout=WAIT_MS)

    part = page.get_by_role("region", name="Greeting and away messages")
    await part.get_by_label("Greet customers who write").check()
    await part.get_by_label("Greeting text").fill("Welcome to {business_name}!")
    await part.get_by_label("Answer automatically while the shop is away").check()
    await part.get_by_label("Away text").fill("We are closed; we answer tomorrow.")
    await part.get_by_role("button", name="Save messages").click()
    await saved(part, "Messages saved.")

    part = page.get_by_role("region", name="Blocked addresses and servers")
    await part.get_by_label("Address or server").fill("spam@evil.example")
    await part.get_by_label("Reason (for the team)").fill("spam")
    await part.get_by_role("button", name="Block", exact=True).click()
    await expect(part.get_by_role("listitem").filter(has_text="spam@evil.example")).to_be_visible(
        timeout=WAIT_MS)


async def check_on_the_node(node: Any) -> None:
    async with aiohttp.ClientSession() as http:
        token = (await login(http, node.url, "boss"))["access_token"]
        _, profile = await call(http, node.url, "GET", "/business/profile", token)
        _, automation = await call(http, node.url, "GET", "/business/automation", token)
        _, products = await call(http, node.url, "GET", "/business/products", token)
        _, catalog = await call(http, node.url, "GET", "/business/catalog", token)
        _, blocks = await call(http, node.url, "GET", "/business/blocks", token)
    assert (profile["name"], profile["timezone"], profile["phone"]) == (
        "Teehaus Berg", "Europe/Berlin", "+49 30 123456")
    assert profile["postal_address"] == "Bergstraße 1\n10115 Berlin" and profile["logo"]
    week = [{"open": "09:00", "close": "13:00"}, {"open": "14:00", "close": "18:00"}]
    assert profile["hours"] == {**{d: week for d in ("mon", "tue", "wed", "thu", "fri")},
                                "sat": [{"open": "10:00", "close": "14:00"}]}
    assert profile["exceptions"] == {"2026-12-25": []}
    assert automation["greeting"]["enabled"] and automation["away"]["enabled"]
    assert automation["greeting"]["text"] == "Welcome to {business_name}!"
    by_sku = {p["sku"]: p for p in products["products"]}
    assert (by_sku["GREEN-1"]["price_minor"], by_sku["GREEN-1"]["currency"]) == (1250, "EUR")
    assert by_sku["GREEN-1"]["image"] and by_sku["GREEN-1"]["stock"] == 12
    assert (by_sku["OLD-1"]["availability"], by_sku["OLD-1"]["stock"]) == ("discontinued", None)
    assert [p["sku"] for p in catalog["products"]] == ["GREEN-1"]
    assert [b["target"] for b in blocks["blocks"]] == ["spam@evil.example"]


async def test_an_admin_sets_up_the_shop_and_runs_the_team(invite_shop: Any, contexts: Any,
                                                           tmp_path: Path) -> None:
    await team_account(invite_shop, "boss", "admin")
    await team_account(invite_shop, "anna")
    boss = await Agent.sign_in(await contexts(), invite_shop.url, "boss")
    anna = await Agent.sign_in(await contexts(), invite_shop.url, "anna")
    page = boss.page
    await page.get_by_role("button", name="Settings").click()
    await edit_profile(page, tmp_path)
    await edit_catalog(page, tmp_path)
    await edit_texts(page)
    await check_on_the_node(invite_shop)

    # An agent sees this browser's alerts and the blocks, not the admin's parts.
    await anna.page.get_by_role("button", name="Settings").click()
    blocks = anna.page.get_by_role("region", name="Blocked addresses and servers")
    await expect(blocks).to_be_visible(timeout=WAIT_MS)
    await expect(anna.page.get_by_role("region", name="Business profile")).to_have_count(0)
    # ([business] history_approval = admin, the default: no history approvals for agents)
    toc = anna.page.get_by_role("navigation", name="Settings sections")
    await expect(toc.get_by_role("link", name="History for new team devices")).to_have_count(
        0, timeout=WAIT_MS)
    await expect(anna.page.get_by_role("region", name="History for new team devices")
                 ).to_have_count(0)

    # A one-time invite link: a new agent registers from it in another browser.
    part = page.get_by_role("region", name="Invites for new agents")
    await part.get_by_role("button", name="Create invite link").click()
    link = await part.get_by_label("One-time link").input_value()
    assert link.startswith(invite_shop.url + "/app/#invite=ki_"), link
    dora = Agent(await (await contexts()).new_page(), invite_shop.url)
    await dora.page.goto(link)
    await expect(dora.page.get_by_role("heading", name="Join the team inbox")).to_be_visible()
    assert "invite" not in dora.page.url, "the token leaves the address bar"
    await dora.page.get_by_label("User name").fill("dora")
    await dora.page.get_by_label("Password (at least 8 characters)").fill(PASSWORD)
    await dora.page.get_by_role("button", name="Create account").click()
    await expect(dora.page.get_by_role("button", name="Sign out")).to_be_visible(timeout=WAIT_MS)

    # History: Anna's and Dora's browsers wait for the team's history; the admin (whose
    # browser started it) approves Anna's from here.
    history = page.get_by_role("region", name="History for new team devices")
    await history.get_by_role("button", name="Approve Anna: Chromium on Linux").click()
    await saved(history, "Approved")
    await expect(history.get_by_role("button", name="Approve Anna: Chromium on Linux")
                 ).to_have_count(0)
    await expect(history.get_by_role("button", name="Approve Dora: Chromium on Linux")
                 ).to_have_count(1)

    # The team: Anna's browser is revoked and shows the sign-in screen saying why.
    await page.get_by_role("button", name="Inbox").click()
    await page.get_by_role("button", name="Settings").click()
    await expect(part.get_by_role("list", name="Invites for new agents")).to_contain_text(
        "used", timeout=WAIT_MS)
    team = page.get_by_role("region", name="Team", exact=True)
    await expect(team.get_by_role("list", name="Devices of Dora")).to_have_count(1,
                                                                                timeout=WAIT_MS)
    anna_devices = team.get_by_role("list", name="Devices of Anna")
    revoke = anna_devices.get_by_role("button").first
    await revoke.click()
    await expect(revoke).to_contain_text("Really revoke")
    await revoke.click()
    await saved(team, "is signed out")
    await expect(anna_devices).to_contain_text("No devices")
    await expect(anna.page.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT_MS)
    await expect(anna.page.get_by_role("alert")).to_contain_text("signed out")
    await team.get_by_role("button", name="Remove the account of Dora").click()
    await team.get_by_role("button", name="Really remove Dora?").click()
    await saved(team, "was removed")
    await expect(team.get_by_role("list", name="Devices of Dora")).to_have_count(0)
    dora.clean()
    # (Chromium logs the refused quick reply's 400 as a failed load: expected)
    assert boss.console_errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    assert boss.foreign_requests == [] and anna.foreign_requests == []
    # (the revoked browser logs its refused requests: 401 is what it was told)
    assert all("401" in e for e in anna.console_errors), anna.console_errors


async def test_invites_say_when_the_node_does_not_register_by_invite(
        shop: Any, contexts: Any) -> None:
    await team_account(shop, "boss", "admin")
    boss = await Agent.sign_in(await contexts(), shop.url, "boss")
    await boss.page.get_by_role("button", name="Settings").click()
    part = boss.page.get_by_role("region", name="Invites for new agents")
    await expect(part).to_contain_text("[accounts] registration = invite", timeout=WAIT_MS)
    await expect(part.get_by_role("button", name="Create invite link")).to_be_disabled()
    boss.clean()
