"""The business across federation, through the SDK: a customer on node C and the team of
a business on node A, resolved through a real DNS server that pins A's key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from federation import pins
from node.appkeys import AUTOMATION, DB
from node.client import (
    Client,
    DeliveryFailed,
    Forbidden,
    Message,
    OrderStatus,
    Receipt,
    Text,
)
from node.demo import zone_at
from node.nodekey import key_path, load_key
from node.services import accounts, media
from tests.dnsserver import DnsServer
from tests.federation.network import start_nodes
from tests.nodes import RunningNode, eventually
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401
from tests.sdk.test_client import raw_files

PHOTO = b"\x89PNG a picture of green tea" * 40
# As saved by the admin, and as the customer gets them (placeholders filled in).
GREETING_TEXT = "Welcome to {business_name}, {customer_name}! We answer within the hour."
AWAY_TEXT = "{business_name} is closed right now; call {business_phone} from 9:00."
GREETING = "Welcome to Teahouse, Carl! We answer within the hour."
AWAY = "Teahouse is closed right now; call +49 30 1234567 from 9:00."


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            nodes = await start_nodes(stack, dns, tmp_path, ["a", "c"])
            a = nodes["a"]
            key = load_key(key_path(a.config.data_dir))
            dns.add_txt("_kontor-key.a.test",
                        f"v=kontor1 ed25519={pins.pin_value(key.public_key)}")
            for name, role in (("boss", "admin"), ("anna", "agent"), ("otto", "agent")):
                await accounts.create_account(a.app[DB], f"{name}@a.test", role, PASSWORD)
            clients: list[Client] = []

            async def client(node: RunningNode, name: str, login: bool = False) -> Client:
                start = Client.login if login else Client.register
                made = await start(node.url, name, PASSWORD, passphrase=PASSPHRASE,
                                   store=tmp_path / f"{name}-{len(clients)}.store")
                clients.append(made)
                return made

            yield {"dns": dns, "a": a, "c": nodes["c"], "client": client}
            for made in clients:
                await made.close()


async def setup_business(boss: Client, local_hour: int) -> None:
    """Profile open 09:00-17:00 every day, in a time zone where it is now ``local_hour``
    o'clock (so a test never depends on the time of day it runs at), two products,
    greeting and away messages, a quick reply: set up by the admin through the SDK."""
    await boss.admin.update_profile(
        name="Teahouse", description="Loose leaf tea", category="Shop", phone="+49 30 1234567",
        timezone=zone_at(local_hour),
        hours={d: [{"open": "09:00", "close": "17:00"}]
               for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    image = (await boss.http.upload_media(PHOTO))["media_id"]
    for sku, name, price in (("GREEN-1", "Sencha 100 g", 1250), ("BLACK-1", "Assam", 990)):
        await boss.admin.save_product(sku, name=name, price_minor=price, currency="EUR",
                                image=image if sku == "GREEN-1" else None)
    await boss.admin.set_automation(greeting={"enabled": True, "text": GREETING_TEXT},
                              away={"enabled": True, "text": AWAY_TEXT})
    await boss.admin.save_quick_reply(
        "thanks", "Thank you {customer_name}, order {order_id} ({order_total}) is on its "
        "way! - {agent_name}, {business_name}")


async def test_customer_on_another_node_deals_with_the_business(
        world: dict[str, Any]) -> None:
    a, c, client = world["a"], world["c"], world["client"]
    boss = await client(a, "boss", login=True)
    anna = await client(a, "anna", login=True)
    otto = await client(a, "otto", login=True)
    await setup_business(boss, local_hour=3)  # it is 3 a.m. at the shop
    carl = await client(c, "carl")
    business = a.config.business_address

    # The customer sees the verified profile and the catalog.
    profile = await carl.business.profile(business, nameserver=world["dns"].nameserver)
    assert profile.verified, profile.why
    assert profile["name"] == "Teahouse"
    catalog = await carl.business.catalog(business, nameserver=world["dns"].nameserver)
    assert catalog.verified
    assert {p["sku"] for p in catalog["products"]} == {"GREEN-1", "BLACK-1"}
    [green] = [p for p in catalog["products"] if p["sku"] == "GREEN-1"]
    assert await carl.business.image(business, green["image"]) == PHOTO  # across nodes

    # First contact: the greeting and (closed at night) the away message, once each.
    await carl.send_text(business, "Hello, is the Sencha fresh?")
    auto = await receive(carl, 2, timeout=30)
    assert [m.text for m in auto] == [GREETING, AWAY]
    assert all(m.sender == business and isinstance(m.content, Text) and m.content.automated
               for m in auto)
    for agent in (anna, otto):  # the question, and the team's copies of what went out
        got = await receive(agent, 3, timeout=20)
        assert [(m.text, m.outgoing) for m in got] == [
            ("Hello, is the Sencha fresh?", False), (GREETING, True), (AWAY, True)]
    await carl.send_text(business, "I'd like to order")
    await receive(anna, 1, timeout=20)
    await receive(otto, 1, timeout=20)
    await eventually(lambda: _handled(a, 2), timeout=10,
                     what="the automation device to look at the second message")
    assert a.app[AUTOMATION].sent == [("carl@c.test", "greeting"), ("carl@c.test", "away")]

    # An agent shares a product; the customer opens it from the verified catalog.
    await anna.business.send_product("carl@c.test", "GREEN-1")
    [shared] = await receive(carl, 1, timeout=20)
    product = await carl.business.open_product(shared, nameserver=world["dns"].nameserver)
    assert (product["name"], product["price_minor"], product["verified"]) == (
        "Sencha 100 g", 1250, True)
    await receive(otto, 1, timeout=20)  # the team's copy

    # An order: the agents' SDK records it, the node prices it from its catalog, the
    # conversation is labelled "New order" in the team inbox.
    await carl.business.send_order(business, [("GREEN-1", 2), ("BLACK-1", 1)], order_id="o-1001",
                          total_minor=3490, currency="EUR")
    [order] = await receive(anna, 1, timeout=20)
    assert order.type == "order" and (await anna.team.report(order) or {})[
        "total_minor"] == 3490
    [order_copy] = await receive(otto, 1, timeout=20)
    recorded = await otto.team.record_order(order_copy)  # the same order, recorded once
    assert recorded["order_id"] == "o-1001"
    [conversation] = await anna.team.inbox()
    assert conversation["customer"] == "carl@c.test"
    assert "New order" in {label["name"] for label in conversation["labels"]}

    # The agent answers with a quick reply; the customer sees it from the business.
    await anna.team.send_quick_reply("carl@c.test", "thanks")  # the SDK fills in every value
    await anna.team.send_order_status("carl@c.test", "o-1001", "confirmed")
    got = await receive(carl, 2, timeout=20)
    assert got[0].text == ("Thank you Carl, order o-1001 (34.90 EUR) is on its way! "
                           "- Anna, Teahouse")
    assert got[0].sender == business and got[0].sender_device == anna.device_id
    assert got[1].content == OrderStatus("o-1001", "confirmed")
    assert (got[1].sender, got[1].to) == (business, "carl@c.test")

    # Carl reads the reply: the receipt is end to end; the agents' apps report it to the
    # business node for its statistics, and the delivery receipts arrive as well.
    await carl.mark_read(got[0])

    async def counted() -> dict[str, Any] | None:
        for event in await anna.sync_once(timeout_ms=500):
            await anna.team.report(event)
        stats = (await boss.admin.stats(days=2))["totals"]
        return stats if stats["read"] >= 1 and stats["delivered"] >= 1 else None
    totals = await eventually(counted, timeout=20, what="read and delivered counted")
    assert totals["messages_sent"] >= 4 and totals["conversations_started"] == 1
    assert totals["responses"] == 1

    # Neither node holds what was said in plaintext. (The business's own settings, such
    # as the greeting and quick reply templates, are stored in the clear on its node.)
    for node, texts in ((a, [GREETING, AWAY]), (c, [GREETING, AWAY])):
        raw = raw_files(node)
        for text in [*texts, "Sencha fresh", "I'd like to order", "Thank you Carl"]:
            assert text.encode() not in raw, (node.config.node.server_name, text)


async def _handled(node: RunningNode, count: int) -> bool | None:
    """Whether the automation device has looked at ``count`` customer messages."""
    return True if node.app[AUTOMATION].handled >= count else None


async def test_blocked_customer_is_refused_at_the_door(world: dict[str, Any]) -> None:
    a, c, client = world["a"], world["c"], world["client"]
    boss = await client(a, "boss", login=True)
    mallory = await client(c, "mallory")
    business = a.config.business_address
    await boss.admin.block("mallory@c.test", reason="spam")
    sent = await mallory.send_text(business, "buy my pills")
    failed = await _failed_events(mallory, sent.message_id)
    assert (failed.reason, failed.to) == ("BLOCKED", business)
    raw = raw_files(a)
    assert b"mallory@c.test" in raw  # the block entry itself ...
    count = await a.app[DB].read(lambda db: db.execute(
        "SELECT COUNT(*) FROM messages WHERE sender = ?", ["mallory@c.test"]).fetchone()[0])
    assert count == 0, "... but none of mallory's messages"

    # A whole server can be blocked too: the federation door refuses it outright.
    await boss.admin.block("c.test")
    carl = await client(c, "carl")
    with pytest.raises(Forbidden) as refused:
        await carl.send_text(business, "hello?")
    assert (refused.value.status, refused.value.code) == (403, "BLOCKED")


async def _failed_events(client: Client, message_id: str) -> DeliveryFailed:
    """The DeliveryFailed event the SDK hands over for ``message_id``."""
    async def check() -> DeliveryFailed | None:
        return next((e for e in await client.sync_once(timeout_ms=1000)
                     if isinstance(e, DeliveryFailed) and e.message_id == message_id), None)
    return await eventually(check, timeout=30, what="a DeliveryFailed event")


async def test_export_and_erase_of_a_remote_customer(world: dict[str, Any]) -> None:
    a, c, client = world["a"], world["c"], world["client"]
    boss = await client(a, "boss", login=True)
    anna = await client(a, "anna", login=True)
    await setup_business(boss, local_hour=10)  # open: only the greeting goes out
    carl = await client(c, "carl")
    business = a.config.business_address
    await carl.business.send_order(business, [("GREEN-1", 1)], order_id="o-7")
    [order] = await receive(anna, 1, timeout=20)
    assert isinstance(order, Message) and await anna.team.report(order) is not None
    await anna.team.add_note("carl@c.test", "prefers green tea")
    await carl.media.send(business, b"a photo of the broken teapot lid" * 100)
    photo = next(m for m in await receive(anna, 2, timeout=20) if m.type == "media")
    await anna.media.download(photo)  # node A now keeps a copy of carl's blob
    copy = media.blob_path(a.config.data_dir, photo.content.media_id)
    assert copy.exists()
    export = await boss.admin.export_customer("carl@c.test")
    text = str(export)
    assert "o-7" in text and "prefers green tea" in text
    await eventually(lambda: _handled(a, 1), timeout=10,
                     what="the automation device to greet carl")
    assert a.app[AUTOMATION].sent == [("carl@c.test", "greeting")]
    await boss.admin.erase_customer("carl@c.test")
    assert not copy.exists(), "this node's copy of the customer's media is gone too"
    for path in a.config.data_dir.rglob("*"):  # the database, the automation device ...
        if path.is_file():
            assert b"carl@c.test" not in path.read_bytes(), path


async def test_an_agent_reading_moves_the_read_state_end_to_end(
        world: dict[str, Any]) -> None:
    a, c, client = world["a"], world["c"], world["client"]
    anna = await client(a, "anna", login=True)
    otto = await client(a, "otto", login=True)
    boss = await client(a, "boss", login=True)
    carl = await client(c, "carl")
    business = a.config.business_address
    for text in ("Hello?", "Is anyone there?"):
        await carl.send_text(business, text)
    first, second = await receive(anna, 2, timeout=20)
    await receive(otto, 2, timeout=20)
    [waiting] = await otto.team.inbox(waiting="true")  # (stamped when node A stored it)
    assert waiting["unread"] == 2 and waiting["waiting_since_ms"] >= first.ts

    await anna.mark_read(second)  # Anna's app shows both
    [conversation] = await otto.team.inbox()
    assert conversation["unread"] == 0, "the count drops for the whole team"
    [receipt] = await _read_receipts(carl)
    assert (receipt.by, receipt.message_ids) == (business, (second.message_id,))
    [copy] = await _read_receipts(otto)
    assert copy.message_ids == (second.message_id,)
    assert [m.read for m in otto.history("carl@c.test")][-1:] == [True]
    stats = (await boss.admin.stats(days=2))["totals"]
    assert stats["read_by_team"] == 2

    await otto.send_text("carl@c.test", "Yes, how can we help?")
    assert await anna.team.inbox(waiting="true") == []


async def _read_receipts(client: Client) -> list[Receipt]:
    """The read receipts that arrive next (delivery receipts are skipped)."""
    async def check() -> list[Receipt] | None:
        got = [i for i in await client.sync_once(timeout_ms=1000)
               if isinstance(i, Receipt) and i.kind == "read"]
        return got or None
    return await eventually(check, timeout=20, what="a read receipt")
