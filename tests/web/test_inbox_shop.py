"""The inbox's shop tools in Chromium: quick replies on `/` with placeholders filled on
the device, product cards from the catalog, order cards whose status buttons move the
order on the node and tell the customer, and attachments (images previewed inline)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from node.client import File, OrderStatus, Product
from node.protocol.placeholders import values_for
from tests.sdk.conftest import receive
from tests.web.inbox import WAIT_MS, Agent, team_account


def png(width: int = 3, height: int = 2) -> bytes:
    """A small valid PNG (red pixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


async def test_quick_replies_products_orders_and_files(shop: Any, contexts: Any,
                                                       clients: Any, tmp_path: Path) -> None:
    await team_account(shop, "olga", "admin")
    await team_account(shop, "anna")
    olga = await clients(shop.url, "olga", login=True)
    await olga.admin.update_profile(name="Teehaus Berg")
    await olga.admin.save_product("tea-sencha", name="Sencha", price_minor=450, currency="EUR",
                                  description="Green tea from Japan")
    await olga.admin.save_quick_reply("/hello", "Hello {customer_name}, {agent_name} of "
                                      "{business_name} here {{since {date}}}.")
    business = f"shop@{shop.config.node.server_name}"
    anna = await Agent.sign_in(await contexts(), shop.url, "anna")
    carl = await clients(shop.url, "carl.berg")
    await carl.send_text(business, "Hi there")
    await expect(anna.item("carl.berg@")).to_contain_text("Hi there", timeout=WAIT_MS)
    await anna.open("carl.berg@")
    page = anna.page

    # `/` offers the quick replies, filled in by the same rules as the Python SDK's.
    box = page.get_by_role("textbox", name="Message")
    await box.fill("/hel")
    option = page.get_by_role("listbox", name="Quick replies").get_by_role("option")
    profile = (await olga.transport.request("GET", "/business/profile"))
    import time
    values = values_for(profile=profile, business_address=business,
                        customer=carl.address, agent_name="Anna",
                        now_ms=int(time.time() * 1000))
    expected = (f"Hello Carl Berg, Anna of Teehaus Berg here {{since {values['date']}}}.")
    await expect(option).to_have_count(1)
    await expect(option).to_contain_text(expected)
    await box.press("Enter")
    await expect(box).to_have_value(expected)
    await page.get_by_role("button", name="Send").click()
    [greeting] = await receive(carl, 1)
    assert greeting.text == expected

    # A product card from the catalog.
    await page.get_by_role("button", name="Product card").click()
    await page.get_by_role("dialog", name="Catalog").get_by_role(
        "button", name="Send Sencha").click()
    [card] = await receive(carl, 1)
    assert isinstance(card.content, Product) and card.content.sku == "tea-sencha"
    await expect(anna.thread.get_by_role("region", name="Product: Sencha")).to_contain_text(
        "4.50 EUR")
    # The list's preview names the product and its price, not its SKU.
    await expect(anna.item("carl.berg@").locator(".preview")).to_have_text(
        "Product: Sencha · 4.50 EUR")

    # Anna takes the chat (the assignee's device records orders), the customer orders:
    # the card shows the node's price; its buttons move the status.
    await page.get_by_role("combobox", name="Assignee").select_option(label="Anna")
    await expect(anna.item("carl.berg@")).to_contain_text("Anna")
    sent = await carl.business.send_order(business, [("tea-sencha", 2)])
    order_id = sent.content.order_id
    order = anna.thread.get_by_role("region", name=f"Order {order_id}")
    await expect(order).to_contain_text("Total: 9.00 EUR", timeout=WAIT_MS)
    await expect(order).to_contain_text("2 × Sencha")
    await expect(anna.item("carl.berg@").locator(".preview")).to_have_text(
        f"Order {order_id}: 2 × Sencha · 9.00 EUR")
    for button, status in (("Confirm", "confirmed"), ("Mark paid", "paid")):
        await order.get_by_role("button", name=button).click()
        await expect(order).to_contain_text(f"Status: {status}", timeout=WAIT_MS)
        [moved] = await receive(carl, 1)
        assert moved.content == OrderStatus(order_id, status)
    recorded = await olga.transport.request("GET", f"/business/orders/{order_id}")
    assert (recorded["status"], recorded["total_minor"]) == ("paid", 900)
    await expect(anna.item("carl.berg@")).to_contain_text("Paid", timeout=WAIT_MS)

    # Attachments: the agent picks a file; the customer's image shows inline.
    picture = tmp_path / "label.png"
    picture.write_bytes(png())
    await page.get_by_label("Attach file").set_input_files(str(picture))
    [media] = await receive(carl, 1)
    assert isinstance(media.content, File) and media.content.mime == "image/png"
    saved = tmp_path / "got.png"
    await carl.media.save(media, saved)
    assert saved.read_bytes() == picture.read_bytes()
    await page.get_by_role("form", name="Reply").evaluate("""(form) => {
        const data = new DataTransfer();
        data.items.add(new File(["dropped bytes"], "notes.txt", {type: "text/plain"}));
        form.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true,
                                                  cancelable: true}));
    }""")
    [dropped] = await receive(carl, 1)
    assert isinstance(dropped.content, File) and dropped.content.name == "notes.txt"
    await carl.media.send(business, png(5, 4), name="parcel.png", mime="image/png")
    image = anna.thread.get_by_role("img", name="parcel.png")
    await expect(image).to_be_visible(timeout=WAIT_MS)
    assert await image.evaluate("(img) => img.naturalWidth") == 5

    # The keyboard: ? lists the shortcuts, e resolves, r goes to the reply box.
    await page.keyboard.press("Escape")
    await page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(help_dialog).to_contain_text("Resolve the conversation")
    await help_dialog.get_by_role("button", name="Close").click()
    await page.keyboard.press("e")
    await expect(anna.item("carl.berg@")).to_contain_text("Resolved", timeout=WAIT_MS)
    await page.keyboard.press("r")
    await expect(box).to_be_focused()
    anna.clean()
