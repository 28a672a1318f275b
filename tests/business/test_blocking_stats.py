"""Blocking (API, check_sender, is_blocked_txn) and daily statistics."""

from __future__ import annotations

from datetime import date

import aiohttp
import pytest

from node.errors import Forbidden
from node.services.business.blocking import check_sender
from node.storage import business as store
from tests.api.helpers import call
from tests.business.helpers import (
    B,
    biz,
    business_replies,
    customer,
    customer_sends,
    team_device_ids,
    team_member,
)
from tests.nodes import RunningNode, eventually


async def test_block_list_unblock_and_check_sender(node: RunningNode,
                                                   http: aiohttp.ClientSession) -> None:
    anna = await team_member(node, http, "anna", "agent")
    carl = await customer(node, http, "carl")
    token, db = anna["access_token"], biz(node).db
    status, blocked = await call(http, node.url, "POST", B + "/blocks", token,
                                 {"target": "Spam@Evil.example", "reason": "spam"})
    assert status == 200 and (blocked["target"], blocked["kind"]) == (
        "spam@evil.example", "address")
    status, _ = await call(http, node.url, "POST", B + "/blocks", token,
                           {"target": "junk.example"})
    assert status == 200
    status, err = await call(http, node.url, "POST", B + "/blocks", token,
                             {"target": "junk.example"})
    assert (status, err["error"]["code"]) == (409, "ALREADY_BLOCKED")
    for target, code in (("not a name", "INVALID_SERVER_NAME"), ("x@", "INVALID_ADDRESS"),
                         (anna["address"], "CANNOT_BLOCK"),
                         (node.config.node.server_name, "CANNOT_BLOCK"),
                         (biz(node).address, "CANNOT_BLOCK")):
        status, err = await call(http, node.url, "POST", B + "/blocks", token,
                                 {"target": target})
        assert (status, err["error"]["code"]) == (400, code), target
    status, listed = await call(http, node.url, "GET", B + "/blocks", token)
    assert sorted(b["target"] for b in listed["blocks"]) == ["junk.example", "spam@evil.example"]
    status, err = await call(http, node.url, "GET", B + "/blocks", carl["access_token"])
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")

    business = biz(node).address
    for sender in ("spam@evil.example", "anyone@junk.example"):
        with pytest.raises(Forbidden) as caught:
            await check_sender(db, sender, business)
        assert caught.value.code == "BLOCKED"
        assert await db.read(store.is_blocked_txn, sender)
    await check_sender(db, "friend@evil.example", business)
    await check_sender(db, carl["address"], business)

    status, _ = await call(http, node.url, "DELETE", B + "/blocks/junk.example", token)
    assert status == 200
    await check_sender(db, "anyone@junk.example", business)
    status, err = await call(http, node.url, "DELETE", B + "/blocks/junk.example", token)
    assert (status, err["error"]["code"]) == (404, "NOT_BLOCKED")


async def test_daily_statistics(node: RunningNode, http: aiohttp.ClientSession) -> None:
    anna = await team_member(node, http, "anna", "agent")
    boss = await team_member(node, http, "boss", "admin")
    carl = await customer(node, http, "carl")
    dora = await customer(node, http, "dora")
    first = await customer_sends(node, http, carl, "c1")
    await customer_sends(node, http, carl, "c2")
    await customer_sends(node, http, dora, "d1")
    reply = await business_replies(node, http, anna, carl, "a1")
    await business_replies(node, http, boss, dora, "b1")
    # Carl's device stores the reply and acknowledges it: one delivery.
    _, got = await call(http, node.url, "GET", "/sync", carl["access_token"])
    await call(http, node.url, "POST", "/sync/ack", carl["access_token"], {"up_to": got["next"]})
    status, read = await call(http, node.url, "POST",
                              B + f"/conversations/{carl['address']}/customer-read",
                              anna["access_token"], {"up_to_ms": reply["ts"]})
    assert status == 200 and read["marked"] == 1
    assert read["conversation"]["customer_read_ms"] == reply["ts"]

    async def today() -> dict | None:
        status, report = await call(http, node.url, "GET", B + "/stats?days=1",
                                    anna["access_token"])
        assert status == 200, report
        row = report["days"][-1]
        return row if row["delivered"] == 1 else None
    row = await eventually(today, what="the delivery to be counted")
    assert (row["conversations_started"], row["messages_received"], row["messages_sent"],
            row["read"], row["responses"]) == (2, 3, 2, 1, 2)
    assert row["median_first_response_ms"] is not None
    assert row["median_first_response_ms"] >= 0 and reply["ts"] - first["ts"] >= 0
    status, report = await call(http, node.url, "GET",
                                B + f"/stats?from={row['date']}&to={row['date']}",
                                anna["access_token"])
    assert report["timezone"] == "Europe/Berlin" and report["totals"]["messages_sent"] == 2
    assert date.fromisoformat(report["from"]) == date.fromisoformat(row["date"])
    for query in ("from=2025-13-01", "from=2025-02-02&to=2025-02-01",
                  "from=2020-01-01&to=2025-01-01", "days=0", "days=abc"):
        status, err = await call(http, node.url, "GET", B + "/stats?" + query,
                                 anna["access_token"])
        assert status == 400, query
    status, err = await call(http, node.url, "GET", B + "/stats", carl["access_token"])
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")


async def test_an_address_block_applies_to_every_local_recipient(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    """docs/business.md: the block is the node's; a blocked local customer can write to
    no local account, not only to the business, and nothing is stored."""
    anna = await team_member(node, http, "anna", "agent")
    carl = await customer(node, http, "carl")
    dora = await customer(node, http, "dora")
    status, _ = await call(http, node.url, "POST", B + "/blocks", anna["access_token"],
                           {"target": carl["address"]})
    assert status == 200
    for txn, to, envelopes in (
            ("t1", dora["address"], {dora["address"]: {dora["device_id"]: "QQ"}}),
            ("t2", biz(node).address, {biz(node).address: {
                d: "QQ" for d in await team_device_ids(node, http, carl["access_token"])}})):
        status, err = await call(http, node.url, "PUT", f"/send/{txn}",
                                 carl["access_token"], {"to": to, "envelopes": envelopes})
        assert (status, err["error"]["code"]) == (403, "BLOCKED"), to
    stored = await biz(node).db.read(lambda db: db.execute(
        "SELECT COUNT(*) FROM messages WHERE sender = ?", [carl["address"]]).fetchone()[0])
    assert stored == 0


async def test_statistics_count_orders_and_revenue(node: RunningNode,
                                                   http: aiohttp.ClientSession) -> None:
    """Orders recorded today count on today's row; cancelled ones bring no revenue."""
    boss = await team_member(node, http, "boss", "admin")
    token = boss["access_token"]
    for sku, price, currency in (("tea", 450, "EUR"), ("cup", 1200, "JPY")):
        status, _ = await call(http, node.url, "POST", B + "/products", token,
                               {"sku": sku, "name": sku, "price_minor": price,
                                "currency": currency})
        assert status == 200
    carl = await customer(node, http, "carl")
    await customer_sends(node, http, carl, "c1")
    for order_id, sku, quantity in (("o-1", "tea", 2), ("o-2", "tea", 1), ("o-3", "cup", 3)):
        status, _ = await call(http, node.url, "POST", B + "/orders", token, {
            "conversation": carl["address"], "order_id": order_id,
            "items": [{"sku": sku, "quantity": quantity}]})
        assert status == 200
    status, _ = await call(http, node.url, "PATCH", B + "/orders/o-2", token,
                           {"status": "cancelled"})
    assert status == 200
    status, report = await call(http, node.url, "GET", B + "/stats?days=2", token)
    assert status == 200, report
    yesterday, today = report["days"]
    assert (yesterday["orders"], yesterday["revenue"]) == (0, {})
    assert (today["orders"], today["revenue"]) == (3, {"EUR": 900, "JPY": 3600})
    assert (report["totals"]["orders"], report["totals"]["revenue"]) == (
        3, {"EUR": 900, "JPY": 3600})
