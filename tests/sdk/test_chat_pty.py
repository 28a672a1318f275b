"""``kontor chat`` through a pseudo-terminal, as a person uses it: a customer and an agent
of a shop whose key is pinned in (the test's) DNS, and a node that goes away and back."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from federation import pins
from node.appkeys import DB
from node.client import Client, Message, Receipt
from node.nodekey import key_path, load_key
from node.services import accounts
from tests.dnsserver import DnsServer
from tests.nodes import eventually, free_port, running_node, write_config
from tests.sdk.chatpty import pty_chat
from tests.sdk.conftest import PASSPHRASE, PASSWORD

SHOP = "business@shop.test"
PHOTO = b"\x89PNG the menu " * 300
GREETING = "Welcome to Tea & Leaf! We answer within the hour."


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """A tea shop on shop.test (key pinned in DNS), its admin and two agents on the SDK."""
    ini = write_config(tmp_path / "shop", server_name="shop.test",
                       sections={"accounts": {"registration": "open"}})
    with DnsServer() as dns:
        async with running_node(ini) as node:
            key = load_key(key_path(node.config.data_dir))
            dns.add_txt("_kontor-key.shop.test",
                        f"v=kontor1 ed25519={pins.pin_value(key.public_key)}")
            clients: dict[str, Client] = {}
            for name, role in (("maria", "admin"), ("anna", "agent"), ("otto", "agent")):
                await accounts.create_account(node.app[DB], f"{name}@shop.test", role,
                                              PASSWORD)
                clients[name] = await Client.login(node.url, name, PASSWORD,
                                                   passphrase=PASSPHRASE,
                                                   store=tmp_path / f"{name}.store")
            maria = clients["maria"]
            week = {d: [{"open": "09:00", "close": "17:00"}]
                    for d in ("mon", "tue", "wed", "thu", "fri")}
            await maria.admin.update_profile(
                name="Tea & Leaf", description="Loose leaf tea", phone="+49 30 1234567",
                timezone="Europe/Berlin", hours={**week, "sat": [
                    {"open": "09:00", "close": "12:00"}, {"open": "13:00", "close": "16:00"}]})
            await maria.admin.save_product("GREEN-1", name="Sencha 100 g", price_minor=1250,
                                     currency="EUR")
            await maria.admin.save_product("BLACK-1", name="Assam", price_minor=990,
                                     currency="EUR")
            await maria.admin.set_automation(greeting={"enabled": True, "text": GREETING})
            try:
                yield {"node": node, "dns": dns, **clients}
            finally:
                for client in clients.values():
                    await client.close()


async def until(client: Client, check: Any, timeout: float = 30) -> list[Message | Receipt]:
    """What ``client`` receives, until ``check(items)`` holds."""
    got: list[Message | Receipt] = []
    async with asyncio.timeout(timeout):
        while not check(got):
            got += await client.sync_once(timeout_ms=2000)
    return got


def texts(items: list[Message | Receipt]) -> list[str | None]:
    return [i.text for i in items if isinstance(i, Message)]


def read_ids(items: list[Message | Receipt]) -> set[str]:
    return {m for i in items if isinstance(i, Receipt) and i.kind == "read"
            for m in i.message_ids}


def of_type(items: list[Message | Receipt], kind: str) -> list[Message]:
    return [i for i in items if isinstance(i, Message) and i.type == kind]


async def test_a_customer_uses_the_shop_from_the_terminal(
        tmp_path: Path, shop: dict[str, Any]) -> None:
    node, anna = shop["node"], shop["anna"]
    async with pty_chat(node.url, "carl", tmp_path / "carl.store", "--register",
                        "--dns-nameserver", shop["dns"].address) as chat:
        await chat.expect("logged in as carl@shop.test")
        chat.type("/profile business@shop.test\r")
        await chat.expect(r"Tea & Leaf <business@shop.test> - verified: signed by ed25519:")
        await chat.expect(r"phone: \+49 30 1234567")
        await chat.expect(r"hours \(Europe/Berlin, (open|closed) now\): mon-fri 09:00-17:00; "
                          r"sat 09:00-12:00, 13:00-16:00; sun closed")
        chat.type("/catalog\r")  # no conversation open and not a team member: which one?
        await chat.expect("which business")
        chat.type("/catalog shop.test\r")
        await chat.expect(r"catalog of shop.test \(2 products\) - verified")
        await chat.expect(r"GREEN-1\s+Sencha 100 g  12.50 EUR")

        chat.type(f"/open {SHOP}\rHello\r")
        await chat.expect(r"#1 \[\d\d:\d\d\] business@shop.test \| you: Hello")
        await chat.expect(rf"#2 .*\| business@shop.test \(automatic\): {GREETING}")
        [hello] = [m for m in await until(anna, lambda got: "Hello" in texts(got))
                   if isinstance(m, Message) and m.text == "Hello"]

        # The line being typed stays apart from what arrives, and is kept.
        chat.type("Do you")
        await chat.expect("> Do you")
        reply = await anna.send_text(hello.sender, "Yes, we ship every day")
        await chat.expect(r"#3 .*\| anna@shop.test for business@shop.test: Yes, we ship every day")
        await chat.expect("> Do you")
        lines = chat.screen_lines()
        arrived = next(i for i, text in enumerate(lines) if "Yes, we ship" in text)
        assert "Do you" not in lines[arrived] and lines[-1] == "> Do you", lines[-6:]
        chat.type(" ship abroad?\r")
        await chat.expect(r"#4 .*you: Do you ship abroad\?")
        # Reading marked it read: the receipt reaches the agent end to end.
        await until(anna, lambda got: "Do you ship abroad?" in texts(got)
                    and reply.message_id in read_ids(got))

        # Product and order messages show names and prices.
        await anna.business.send_product("carl@shop.test", "GREEN-1")
        await chat.expect(r"#5 .*anna@shop.test for business@shop.test: "
                          r"\[product Sencha 100 g \(GREEN-1\), 12.50 EUR\]")
        chat.type("/order GREEN-1 2 BLACK-1 1\r")
        await chat.expect(r"#6 .*you: \[order o[0-9a-f]+: 2 x Sencha 100 g \(GREEN-1\) at "
                          r"12.50 EUR, 1 x Assam \(BLACK-1\) at 9.90 EUR; total 34.90 EUR\]")
        got = await until(anna, lambda got: of_type(got, "order"))
        recorded = await anna.team.report(of_type(got, "order")[0])
        assert recorded is not None and recorded["total_minor"] == 3490

        # Files both ways.
        await anna.media.send("carl@shop.test", PHOTO, name="menu.png", mime="image/png")
        shown = await chat.expect(r"#(\d+) .*\[file menu.png, 4200 bytes\]")
        saved = tmp_path / "saved-menu.png"
        chat.type(f"/save {shown.group(1)} {saved}\r")
        await chat.expect(rf"saved #{shown.group(1)} \(4200 bytes\)")
        assert saved.read_bytes() == PHOTO
        upload = tmp_path / "receipt.pdf"
        upload.write_bytes(b"%PDF my receipt" * 100)
        chat.type(f"/send {upload}\r")
        await chat.expect(r"you: \[file receipt.pdf, 1500 bytes\]")
        [media] = of_type(await until(anna, lambda got: of_type(got, "media")), "media")
        assert await anna.media.download(media) == upload.read_bytes()
        assert await chat.quit() == 0


async def test_an_agent_sees_who_wrote_each_message(
        tmp_path: Path, shop: dict[str, Any]) -> None:
    node, otto = shop["node"], shop["otto"]
    carl = await Client.register(node.url, "carl", PASSWORD, passphrase=PASSPHRASE,
                                 store=tmp_path / "carl-sdk.store")
    try:
        async with pty_chat(node.url, "anna", tmp_path / "anna-chat.store",
                            "--dns-nameserver", shop["dns"].address) as chat:
            await chat.expect("logged in as anna@shop.test")
            asked = await carl.send_text(SHOP, "Is the Sencha fresh?")
            await chat.expect(r"#1 .*carl@shop.test \(customer\): Is the Sencha fresh\?")
            await chat.expect(rf"#2 .*business@shop.test \(automatic\): {GREETING}")
            await until(otto, lambda got: "Is the Sencha fresh?" in texts(got))
            await otto.send_text(carl.address, "Picked last week")
            await chat.expect(r"#3 .*otto@shop.test for business@shop.test: Picked last week")
            # The agent's chat read the customer's message: the customer hears of it.
            await until(carl, lambda got: asked.message_id in read_ids(got))

            async def unread_for_the_team() -> bool:  # otto sees anna read it
                [row] = await otto.team.inbox()
                return row["unread"] == 0
            await eventually(unread_for_the_team, timeout=20, what="unread to drop")
            # An order shows as the business node priced it.
            await carl.business.send_order(SHOP, [("GREEN-1", 2)], order_id="o-7")
            await chat.expect(r"carl@shop.test \(customer\): \[order o-7: 2 x Sencha 100 g "
                              r"\(GREEN-1\) at 12.50 EUR; total 25.00 EUR\]")
            # The history, from the device's store, says the same.
            chat.type(f"/open {carl.address}\r")
            await chat.expect(r"#\d+ .*carl@shop.test \(customer\): Is the Sencha fresh\?")
            await chat.expect(r"otto@shop.test for business@shop.test: Picked last week")
            await chat.expect(r"carl@shop.test \(customer\): \[order o-7: 2 x Sencha 100 g "
                              r"\(GREEN-1\) at 12.50 EUR; total 25.00 EUR\]")
            chat.type("/save 1 x\r/save\r/history x\r")  # mistakes get a hint, no crash
            await chat.expect(r"message #1 carries no file")
            await chat.expect(r"cannot read that")
            await chat.expect(r"cannot read that")
            chat.type("/catalog\r")  # a team member's default is their business
            await chat.expect(r"catalog of shop.test \(2 products\) - verified")
            assert await chat.quit() == 0
    finally:
        await carl.close()


async def test_the_chat_keeps_what_was_typed_while_the_node_is_away(tmp_path: Path) -> None:
    ini = write_config(tmp_path / "node", port=free_port(),
                       sections={"accounts": {"registration": "open"}})
    first = AsyncExitStack()
    node = await first.enter_async_context(running_node(ini))
    try:
        bob = await Client.register(node.url, "bob", PASSWORD, passphrase=PASSPHRASE,
                                    store=tmp_path / "bob.store")
        async with pty_chat(node.url, "carl", tmp_path / "carl.store", "--register") as chat:
            await chat.expect("logged in as carl@")
            await first.aclose()  # the node goes away
            # The chat keeps running and keeps what is typed, in order.
            chat.type(f"/open {bob.address}\rare you there?\r")
            await chat.expect(r"cannot reach the node: .*wait and are sent when it is back")
            chat.type("still there?\r/list\r")
            await chat.expect(r"waiting for the node: the message 'still there\?'")
            await chat.expect("no conversations yet")  # the chat still answers
            async with running_node(ini):
                await chat.expect(r"the node is back")
                await chat.expect(r"you: are you there\?")
                await chat.expect(r"you: still there\?")
                got = await until(bob, lambda got: len(texts(got)) >= 2)
                assert texts(got) == ["are you there?", "still there?"]
                await bob.send_text(f"carl@{node.config.node.server_name}", "yes!")
                await chat.expect(rf"{re.escape(bob.address)}: yes!")
                assert await chat.quit() == 0
        # Started while the node is down, the chat opens its store and waits the same way.
        async with pty_chat(node.url, "carl", tmp_path / "carl.store") as chat:
            await chat.expect("logged in as carl@")
            chat.type(f"/open {bob.address}\rback later\r")
            await chat.expect(r"#3 .*yes!")  # the history, from the device's own store
            await chat.expect(r"cannot reach the node")
            async with running_node(ini):
                await chat.expect(r"you: back later")
                got = await until(bob, lambda got: "back later" in texts(got))
                assert texts(got)[-1] == "back later"
                assert await chat.quit() == 0
        await bob.close()
    finally:
        await first.aclose()
