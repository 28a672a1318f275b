"""The customer's side of /app/ in Debian's Chromium: a customer account on its own node
(not on any team) signs in, opens a business on another node by its address, sees its
profile and catalog (fetched and checked through federation, pictures included), orders
two products and writes; the business's admin (a Python SDK device on its node) answers;
the chat is in the customer's list, and stays after a reload. The nodes find each other
through a real DNS server on loopback."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from node.client import Client, Order
from tests.dnsserver import DnsServer
from tests.federation.network import node_config
from tests.nodes import running_node
from tests.web.chat import ALL_DAY, artifacts, next_of, texts_from
from tests.web.helpers import PASSPHRASE, PASSWORD, WAIT_MS, Watched, team_account
from tests.web.test_inbox_shop import png


async def test_a_customer_on_its_own_node_orders_from_a_business_elsewhere(
        tmp_path: Path, browser: Any, web_bundle: Path) -> None:
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            shop = await stack.enter_async_context(running_node(node_config(
                dns, tmp_path, "shop", sections={"business": {"account": "shop"}})))
            home = await stack.enter_async_context(running_node(node_config(
                dns, tmp_path, "home")))
            await team_account(shop, "olga", "admin")
            olga = await Client.login(shop.url, "olga", PASSWORD, passphrase=PASSPHRASE,
                                      store=tmp_path / "olga.kontor")
            stack.push_async_callback(olga.close)
            logo = (await olga.http.upload_media(png(8, 8)))["media_id"]
            await olga.admin.update_profile(name="Teehaus Berg", hours=ALL_DAY, logo=logo)
            for sku, name, price in (("tea-sencha", "Sencha", 450),
                                     ("tea-genmaicha", "Genmaicha", 390)):
                image = (await olga.http.upload_media(png(6, 6)))["media_id"]
                await olga.admin.save_product(sku, name=name, price_minor=price,
                                              currency="EUR", image=image)
            await team_account(home, "carl", "customer")
            context = await browser.new_context(locale="en-GB",
                                                viewport={"width": 390, "height": 844})
            stack.push_async_callback(context.close)

            carl = Watched(await context.new_page(), home.url)
            page = carl.page
            await page.goto(home.url + "/app/")
            await page.get_by_label("Username").fill("carl")
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await expect(page.get_by_role("heading", name="Your chats")).to_be_visible(
                timeout=WAIT_MS)
            await expect(page.get_by_role("list", name="Chats")).to_contain_text("No chats yet")
            await page.get_by_label("Business address").fill("shop@shop.test")
            await page.get_by_role("button", name="Open chat").click()

            await expect(page.get_by_role("heading", name="Teehaus Berg", level=1)).to_be_visible(
                timeout=WAIT_MS)
            await expect(page.get_by_text("Not verified:")).to_be_visible()
            logo_img = page.get_by_role("img", name="Logo of Teehaus Berg")
            await expect(logo_img).to_be_visible(timeout=WAIT_MS)  # fetched through node home
            await expect(logo_img).to_have_js_property("naturalWidth", 8)  # loaded
            await page.get_by_role("button", name="Catalog").click()
            catalog = page.get_by_role("list", name="Catalog")
            for name in ("Sencha", "Genmaicha"):
                await catalog.get_by_role("article", name=name).get_by_role(
                    "button", name="Add to cart").click()
            await page.get_by_role("button", name="Cart (2)").click()
            await expect(page.get_by_text("Total: 8.40 EUR")).to_be_visible()
            await page.screenshot(path=artifacts(tmp_path) / "app-customer-cart.png")
            await page.get_by_role("button", name="Order", exact=True).click()
            [ordered] = await next_of(olga, Order)
            assert ordered.sender == "carl@home.test"
            assert isinstance(ordered.content, Order) and ordered.content.total_minor == 840
            assert (await olga.team.record_order(ordered))["total_minor"] == 840

            await page.get_by_role("textbox", name="Message").fill("Is it loose tea?")
            await page.get_by_role("button", name="Send").click()
            [asked] = await texts_from(olga, "carl@", 1)
            assert asked.text == "Is it loose tea?"
            await olga.send_text("carl@home.test", "Yes, loose leaves.")
            thread = page.get_by_role("list", name="Messages")
            await expect(thread).to_contain_text("Yes, loose leaves.", timeout=WAIT_MS)
            await expect(thread.get_by_role("region", name=f"Order {ordered.content.order_id}")
                         ).to_contain_text("1 × Genmaicha")

            await page.get_by_role("button", name="Back to your chats").click()
            chats = page.get_by_role("list", name="Chats")
            await expect(chats).to_contain_text("shop@shop.test")
            await page.screenshot(path=artifacts(tmp_path) / "app-customer-chats.png")
            await page.reload()
            await chats.get_by_role("button", name="shop@shop.test").click()
            await expect(thread).to_contain_text("Yes, loose leaves.", timeout=WAIT_MS)
            await expect(thread).to_contain_text("Is it loose tea?")
            assert await page.evaluate("document.documentElement.scrollWidth") <= 390
            carl.clean()
