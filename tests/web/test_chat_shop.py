"""The issue's walk through the customer chat page in Debian's Chromium at phone size
(390x844): a customer opens the shop's link (``kontor business link``'s, with
``?product=``), sees the shop's name verified (its key pinned in the shop's DNS, served
by the DNS server on loopback), its logo, "usually answers within ...", the catalog with
pictures and prices, adds two products to the cart, changes a quantity and orders; the agent (a
Python SDK device) records the order and moves its status, which shows in the chat; the
customer writes, the agent answers, the customer reloads and sees the history. No
request goes to another host, no cookie is set, and the page fits the phone's width. A
screenshot of each step is written to $KONTOR_ARTIFACTS (else the test's tmp folder)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from federation import pins
from node.appkeys import DB
from node.cli_link import chat_link
from node.client import Client, Order
from node.nodekey import key_path, load_key
from node.storage import business as business_store
from tests.dnsserver import DnsServer
from tests.federation.network import node_config
from tests.nodes import RunningNode, running_node
from tests.web.chat import ALL_DAY, admin, artifacts, next_of, texts_from
from tests.web.helpers import WAIT_MS, Watched
from tests.web.test_inbox_shop import png

PHONE = {"width": 390, "height": 844}


async def stock_the_shop(shop: RunningNode, olga: Client) -> None:
    """Profile with a logo and hours, two products with pictures, three measured first
    responses of about 20 minutes (so the profile says "within an hour")."""
    logo = (await olga.http.upload_media(png(8, 8)))["media_id"]
    await olga.admin.update_profile(name="Teehaus Berg", description="Tea from everywhere",
                                    timezone="Europe/Berlin", hours=ALL_DAY, logo=logo)
    for sku, name, price, size in (("tea-sencha", "Sencha", 450, 6),
                                   ("tea-genmaicha", "Genmaicha", 390, 7)):
        image = (await olga.http.upload_media(png(size, size)))["media_id"]
        await olga.admin.save_product(sku, name=name, price_minor=price, currency="EUR",
                                      description=f"{name}, 100 g", image=image)
    today = datetime.now(UTC).date().isoformat()
    for i, minutes in enumerate((15, 20, 25)):
        await shop.app[DB].write(business_store.add_response_time_txn, today,
                                 f"earlier{i}@elsewhere.example", minutes * 60_000)


@pytest.fixture
async def pinned_shop(tmp_path: Path, web_bundle: Path) -> AsyncIterator[RunningNode]:
    """The shop's node `shop.test`, found through the DNS server on loopback, which pins
    its key (``_kontor-key.shop.test``), with the web chat on."""
    with DnsServer() as dns:
        config = node_config(dns, tmp_path, "shop", sections={
            "business": {"account": "shop"},
            "webchat": {"enabled": "true", "pow_difficulty": 10}})
        async with running_node(config) as running:
            key = load_key(key_path(running.config.data_dir)).public_key
            dns.add_txt("_kontor-key.shop.test", f"v=kontor1 ed25519={pins.pin_value(key)}")
            yield running


async def test_a_customer_orders_from_the_shops_link_and_keeps_the_history(
        pinned_shop: RunningNode, browser: Any, tmp_path: Path) -> None:
    chat_shop = pinned_shop
    shots = artifacts(tmp_path)
    olga = await admin(chat_shop, tmp_path)
    context = await browser.new_context(locale="en-GB", viewport=PHONE, is_mobile=True,
                                        has_touch=True)
    try:
        await stock_the_shop(chat_shop, olga)
        link = urlsplit(chat_link(chat_shop.config, "tea-sencha"))
        assert (link.path, link.query) == ("/chat", "product=tea-sencha")
        customer = Watched(await context.new_page(), chat_shop.url)
        page = customer.page
        await page.goto(f"{chat_shop.url}{link.path}?{link.query}")

        await expect(page.get_by_role("heading", name="Teehaus Berg", level=1)).to_be_visible(
            timeout=WAIT_MS)
        await expect(page.get_by_text("Verified: the shop's DNS confirms")).to_be_visible()
        await expect(page.get_by_text("Usually answers within an hour")).to_be_visible()
        logo = page.get_by_role("img", name="Logo of Teehaus Berg")
        await expect(logo).to_be_visible()
        await expect(logo).to_have_js_property("naturalWidth", 8)  # loaded

        # ?product=: the product is shown first, with its button.
        asked = page.get_by_role("complementary", name="You asked about this product")
        await expect(asked).to_contain_text("Sencha")
        await expect(asked).to_contain_text("4.50 EUR")
        await asked.get_by_role("button", name="Add to cart").click()
        await expect(page.get_by_role("button", name="Cart (1)")).to_be_visible()
        await page.screenshot(path=shots / "1-chat-with-product.png")

        # The catalog: pictures and prices; a second product into the cart.
        await page.get_by_role("button", name="Catalog").click()
        catalog = page.get_by_role("list", name="Catalog")
        await expect(catalog.get_by_role("listitem")).to_have_count(2)
        genmaicha = catalog.get_by_role("article", name="Genmaicha")
        await expect(genmaicha).to_contain_text("3.90 EUR")
        picture = genmaicha.get_by_role("img", name="Genmaicha")
        await expect(picture).to_be_visible()
        await expect(picture).to_have_js_property("naturalWidth", 7)  # loaded
        await page.screenshot(path=shots / "2-catalog.png")
        await genmaicha.get_by_role("button", name="Add to cart").click()

        # The cart: two products, one more Genmaicha, the total, "Order".
        await page.get_by_role("button", name="Cart (2)").click()
        await page.get_by_role("button", name="One more Genmaicha").click()
        await expect(page.get_by_role("spinbutton", name="Quantity of Genmaicha")).to_have_value(
            "2")
        await expect(page.get_by_role("spinbutton", name="Quantity of Sencha")).to_have_value("1")
        await expect(page.get_by_text("Total: 12.30 EUR")).to_be_visible()
        await page.screenshot(path=shots / "3-cart.png")
        await page.get_by_role("button", name="Order", exact=True).click()

        [ordered] = await next_of(olga, Order)
        assert isinstance(ordered.content, Order) and ordered.sender.startswith("guest-")
        assert sorted((i.sku, i.quantity) for i in ordered.content.items) == [
            ("tea-genmaicha", 2), ("tea-sencha", 1)]
        assert (ordered.content.total_minor, ordered.content.currency) == (1230, "EUR")
        recorded = await olga.team.record_order(ordered)
        assert recorded["total_minor"] == 1230  # the node's own price agrees
        order_id = ordered.content.order_id
        thread = page.get_by_role("list", name="Messages")
        card = thread.get_by_role("region", name=f"Order {order_id}")
        await expect(card).to_contain_text("2 × Genmaicha")
        await expect(card).to_contain_text("Total: 12.30 EUR")
        await expect(page.get_by_role("button", name="Cart (0)")).to_be_visible()

        await olga.team.send_order_status(ordered.sender, order_id, "confirmed")
        await expect(thread).to_contain_text(f"Order {order_id}: confirmed", timeout=WAIT_MS)

        await page.get_by_role("textbox", name="Message").fill("When will it ship?")
        await page.get_by_role("button", name="Send").click()
        [asked_text] = await texts_from(olga, "guest-", 1)
        assert (asked_text.sender, asked_text.text) == (ordered.sender, "When will it ship?")
        await olga.send_text(ordered.sender, "Tomorrow morning.")
        await expect(thread).to_contain_text("Tomorrow morning.", timeout=WAIT_MS)
        await page.screenshot(path=shots / "4-chat.png")

        await page.reload()
        for text in ("When will it ship?", "Tomorrow morning.", f"Order {order_id}: confirmed"):
            await expect(thread).to_contain_text(text, timeout=WAIT_MS)
        await expect(thread.get_by_role("region", name=f"Order {order_id}")).to_contain_text(
            "1 × Sencha")
        await page.screenshot(path=shots / "5-after-reload.png")
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert customer.console_errors == [] and customer.foreign_requests == []
        assert await context.cookies() == []
    finally:
        await context.close()
        await olga.close()
