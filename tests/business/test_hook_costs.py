"""The business hooks cost no write transaction of their own: the inbox's and the
delivery statistics' hooks run inside the core's write (node.events, transaction hooks),
so a message or a receipt costs the one write that stores it, here and across
federation; a hook that raises there is rolled back alone.

Costs are counted by ``Database.writes`` (calls of ``Database.write`` by function name)
on real nodes. The automation device (an after-commit hook) is held while a customer's
message is counted: it is an ordinary team device that acknowledges its stream once it
runs, which is not the message's cost. The retention task's tick (``_tick_txn``, 5 s
after start, then every ten minutes) is not on any message's path and is left out.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp

from node.appkeys import AUTOMATION, DB, HOOKS
from node.services import accounts
from node.services.business import stats
from node.storage import accounts as account_store
from node.storage import business as business_store
from node.storage.db import Database
from tests.api.helpers import call, keyed_device
from tests.business.helpers import biz, business_replies, customer, customer_sends, team_member
from tests.federation import test_inbound_security as door
from tests.federation.test_inbound_security import put, signed
from tests.nodes import RunningNode, eventually

pair = door.pair  # two federating nodes: a (the peer) and b (the business's node)
BACKGROUND = {"_tick_txn"}


class Writes:
    """The write calls of ``db`` since this was made (background work left out)."""

    def __init__(self, db: Database) -> None:
        self.db, self.before = db, Counter(db.writes)

    def since(self) -> Counter[str]:
        delta = Counter(self.db.writes)
        delta.subtract(self.before)
        return Counter({k: n for k, n in delta.items() if n and k not in BACKGROUND})


@contextlib.asynccontextmanager
async def automation_held(node: RunningNode) -> AsyncIterator[None]:
    """Hold the automation device: it handles one customer at a time under this lock
    (``AutomationDevice.handle``), so it runs, and acknowledges, once released."""
    async with node.app[AUTOMATION]._busy:
        yield


async def handled(node: RunningNode, count: int) -> None:
    """Wait until the automation device has looked at ``count`` customers' messages."""
    device = node.app[AUTOMATION]
    await eventually(lambda: _true(device.handled >= count), what="the automation device")


async def _true(value: bool) -> bool:
    return value


async def conversation(node: RunningNode, customer_address: str) -> dict[str, Any] | None:
    return await node.app[DB].read(business_store.get_conversation, customer_address)


async def delivered_today(node: RunningNode) -> int:
    return int((await stats.report(biz(node), None, days=1))["totals"]["delivered"])


async def test_a_customer_message_to_the_business_costs_the_send_alone(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    carl = await customer(node, http, "carl")
    anna = await team_member(node, http, "anna", "agent")
    seen = node.app[AUTOMATION].handled
    async with automation_held(node):
        writes = Writes(node.app[DB])
        sent = await customer_sends(node, http, carl, "to-shop-1")
        assert writes.since() == {"_send_txn": 1}
        row = await conversation(node, carl["address"])
        assert row is not None and row["unread"] == 1
        assert row["last_incoming_ms"] == sent["ts"]
        _, got = await call(http, node.url, "GET", "/sync", anna["access_token"])
        pushed = [e["conversation"]["customer"] for e in got["events"]
                  if e["type"] == "conversation"]
        assert pushed == [carl["address"]]
        assert any(e.get("message_id") == sent["message_id"] for e in got["events"])
    await handled(node, seen + 1)  # the after-commit hook still ran


async def test_a_delivered_receipt_of_a_business_message_costs_the_ack_alone(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    carl = await customer(node, http, "carl")
    anna = await team_member(node, http, "anna", "agent")
    await customer_sends(node, http, carl, "to-shop-1")
    reply = await business_replies(node, http, anna, carl, "reply-1")
    _, got = await call(http, node.url, "GET", "/sync", carl["access_token"])
    assert any(e.get("message_id") == reply["message_id"] for e in got["events"])
    before = await delivered_today(node)
    writes = Writes(node.app[DB])
    status, _ = await call(http, node.url, "POST", "/sync/ack", carl["access_token"],
                           {"up_to": got["next"]})
    assert status == 200
    assert writes.since() == {"_ack_txn": 1}
    assert await delivered_today(node) == before + 1


@contextlib.contextmanager
def statements(node: RunningNode) -> Iterator[list[str]]:
    """The SQL the node's write connections run meanwhile."""
    db, seen = node.app[DB], list[str]()
    conns = [db._writer_db.conn, db._waiting_db.conn]
    for conn in conns:
        conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        for conn in conns:
            conn.set_trace_callback(None)


HOOK_SQL = ("SAVEPOINT hook", "biz_message_log", "biz_conversations", "biz_stats_daily")


def _hook_sql(seen: list[str]) -> list[str]:
    """What of ``seen`` the business hooks ran (the inbox, the delivery statistics)."""
    return [s for s in seen if any(mark in s for mark in HOOK_SQL)]


async def test_a_message_between_two_people_runs_no_business_hook(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    """Neither business hook runs, nor its savepoint, for a message and a receipt
    between two people on the business's node; a customer's message runs both."""
    carl, dora = await customer(node, http, "carl"), await customer(node, http, "dora")
    with statements(node) as seen:
        writes = Writes(node.app[DB])
        status, sent = await call(http, node.url, "PUT", "/send/p2p-1", carl["access_token"],
                                  {"to": dora["address"],
                                   "envelopes": {dora["address"]: {dora["device_id"]: "QQ"}}})
        assert status == 200, sent
        _, got = await call(http, node.url, "GET", "/sync", dora["access_token"])
        assert [e["message_id"] for e in got["events"]] == [sent["message_id"]]
        status, _ = await call(http, node.url, "POST", "/sync/ack", dora["access_token"],
                               {"up_to": got["next"]})
        assert status == 200
        assert writes.since() == {"_send_txn": 1, "_ack_txn": 1}
    assert any("INSERT" in s for s in seen) and _hook_sql(seen) == []
    async with automation_held(node):
        with statements(node) as seen:
            await customer_sends(node, http, carl, "to-shop-1")
    assert "SAVEPOINT hook" in seen and any("biz_message_log" in s for s in _hook_sql(seen))


def messages_to(business: str, devices: list[str], senders: list[str]) -> bytes:
    """A federation transaction of one message from each of ``senders`` (on a.test)."""
    return json.dumps({"items": [
        {"kind": "message", "message_id": f"m_{i}", "sender": sender,
         "sender_device": "DEV", "to": business, "ts": 1,
         "envelopes": {d: "QUFB" for d in devices}} for i, sender in enumerate(senders)]
    }).encode()


async def team_devices_of(b: RunningNode) -> list[str]:
    business = b.config.business_address
    return [d["device_id"] for d in
            await b.app[DB].read(account_store.list_devices, business)]


async def first_contact(a: RunningNode, b: RunningNode) -> None:
    """A transaction from a to b that stores nothing, so that b has fetched a's key."""
    body = json.dumps({"items": [{
        "kind": "message", "message_id": "m_hello", "sender": "carl@a.test",
        "sender_device": "DEV", "to": "nobody@b.test", "ts": 1,
        "envelopes": {"X": "QUFB"}}]}).encode()
    assert await put(b, "tx-hello", body, signed(a, "tx-hello", body)) == (200, "")


async def test_an_inbound_transaction_of_customer_messages_costs_one_write(
        pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    await first_contact(a, b)
    senders = ["carl@a.test", "dora@a.test", "erin@a.test"]
    body = messages_to(b.config.business_address, await team_devices_of(b), senders)
    seen = b.app[AUTOMATION].handled
    async with automation_held(b):
        writes = Writes(b.app[DB])
        assert await put(b, "tx-3", body, signed(a, "tx-3", body)) == (200, "")
        assert writes.since() == {"receive_txn": 1}
        for sender in senders:
            row = await conversation(b, sender)
            assert row is not None and row["unread"] == 1, sender
    await handled(b, seen + len(senders))


async def test_a_receipt_from_another_node_costs_its_transaction_alone(
        pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    business = b.config.business_address
    await accounts.create_account(b.app[DB], "anna@b.test", "agent", "correct horse battery")
    async with aiohttp.ClientSession() as http:
        await first_contact(a, b)
        carl = await keyed_device(http, a.url, "carl")
        anna = await keyed_device(http, b.url, "anna", login_only=True)
        reply = await business_replies(b, http, anna, carl, "reply-1")
        got = await eventually(lambda: _sync_has(http, a, carl, reply["message_id"]),
                               what="the business's message on node a")
        await eventually(lambda: _outbox_empty(b), what="b's outbox to empty")
        before, writes = await delivered_today(b), Writes(b.app[DB])
        status, _ = await call(http, a.url, "POST", "/sync/ack", carl["access_token"],
                               {"up_to": got["next"]})
        assert status == 200
        await eventually(lambda: _counted(b, before + 1), what="the delivered count on b")
    assert writes.since() == {"receive_txn": 1}
    assert (await conversation(b, carl["address"])) is not None, business


async def _sync_has(http: aiohttp.ClientSession, node: RunningNode, who: dict[str, Any],
                    message_id: str) -> dict[str, Any] | None:
    _, got = await call(http, node.url, "GET", "/sync", who["access_token"])
    return got if any(e.get("message_id") == message_id for e in got["events"]) else None


async def _outbox_empty(node: RunningNode) -> bool:
    def count(db: Any) -> int:
        return int(db.execute("SELECT COUNT(*) FROM fed_outbox").fetchone()[0])
    return await node.app[DB].read(count) == 0


async def _counted(node: RunningNode, expected: int) -> bool:
    return await delivered_today(node) == expected


def broken_hook(db: Any, **payload: Any) -> None:
    """A feature that writes, then fails: its write must not survive."""
    db.execute("INSERT INTO node_meta (key, value) VALUES ('broken', ?)",
               [payload["message_id"]])
    raise RuntimeError("a broken feature")


async def broken_rows(node: RunningNode) -> int:
    def count(db: Any) -> int:
        return int(db.execute("SELECT COUNT(*) FROM node_meta WHERE key = 'broken'")
                   .fetchone()[0])
    return await node.app[DB].read(count)


async def test_a_transaction_hook_that_raises_is_rolled_back_alone(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    carl = await customer(node, http, "carl")
    anna = await team_member(node, http, "anna", "agent")
    node.app[HOOKS].on_txn("message.stored", broken_hook, priority=1000)
    node.app[HOOKS].on_txn("receipt.delivered", broken_hook, priority=1000)
    sent = await customer_sends(node, http, carl, "to-shop-1")
    _, got = await call(http, node.url, "GET", "/sync", anna["access_token"])
    assert any(e.get("message_id") == sent["message_id"] for e in got["events"])
    row = await conversation(node, carl["address"])
    assert row is not None and row["unread"] == 1  # the hook after the broken one ran
    reply = await business_replies(node, http, anna, carl, "reply-1")
    _, got = await call(http, node.url, "GET", "/sync", carl["access_token"])
    assert any(e.get("message_id") == reply["message_id"] for e in got["events"])
    before = await delivered_today(node)
    status, _ = await call(http, node.url, "POST", "/sync/ack", carl["access_token"],
                           {"up_to": got["next"]})
    assert status == 200
    assert await delivered_today(node) == before + 1
    assert await broken_rows(node) == 0


async def test_a_raising_hook_leaves_the_rest_of_an_inbound_transaction(
        pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    b.app[HOOKS].on_txn("message.stored", broken_hook, priority=1000)
    senders = ["carl@a.test", "dora@a.test", "erin@a.test"]
    body = messages_to(b.config.business_address, await team_devices_of(b), senders)
    async with aiohttp.ClientSession() as http, http.put(
            b.url + door.PATH + "tx-3", data=body,
            headers={**signed(a, "tx-3", body), "Host": "b.test"}) as r:
        assert r.status == 200, await r.text()
        assert (await r.json())["results"] == [{}, {}, {}]
    for i, sender in enumerate(senders):
        row = await conversation(b, sender)
        assert row is not None and row["unread"] == 1, sender
        assert await b.app[DB].read(_message_exists, f"m_{i}")
    assert await broken_rows(b) == 0


def _message_exists(db: Any, message_id: str) -> bool:
    return db.execute("SELECT 1 FROM messages WHERE message_id = ?",
                      [message_id]).fetchone() is not None
