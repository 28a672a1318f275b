"""Export and erasure of a customer's data; retention."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp
import pytest

from federation import storage as fed_store
from federation.policy import ServerPolicy
from node.appkeys import DB
from node.services.accounts import now_ms
from node.services.business import retention
from node.services.media import blob_path
from node.storage import wal
from node.storage.connection import BUSY_TIMEOUT_MS
from tests.api.helpers import PREFIX, call
from tests.business.helpers import (
    B,
    biz,
    business_replies,
    customer,
    customer_sends,
    fire_message,
    team_member,
)
from tests.nodes import RunningNode


def rows_mentioning(db_path: Path, needle: str) -> list[tuple[str, str]]:
    """(table, column) pairs of every row in the database whose text contains ``needle``."""
    conn = sqlite3.connect(db_path)
    try:
        hits = []
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE "
                                             "type = 'table'")]
        for table in tables:
            for column in [r[1] for r in conn.execute(f"PRAGMA table_info('{table}')")]:
                n = conn.execute(f'SELECT COUNT(*) FROM "{table}" WHERE '
                                 f'INSTR(CAST("{column}" AS TEXT), ?) > 0',
                                 [needle]).fetchone()[0]
                if n:
                    hits.append((table, column))
        return hits
    finally:
        conn.close()


async def upload(node: RunningNode, http: aiohttp.ClientSession, token: str,
                 data: bytes) -> str:
    async with http.post(node.url + PREFIX + "/media", data=data,
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/octet-stream"}) as r:
        assert r.status == 200
        return (await r.json())["media_id"]


async def test_export_then_erase_leaves_nothing(node: RunningNode,
                                                http: aiohttp.ClientSession) -> None:
    boss = await team_member(node, http, "boss", "admin")
    anna = await team_member(node, http, "anna", "agent")
    carl = await customer(node, http, "carl")
    dora = await customer(node, http, "dora")
    admin = boss["access_token"]
    address = carl["address"]
    await call(http, node.url, "POST", B + "/products", admin,
               {"sku": "tea", "name": "Tea", "price_minor": 450, "currency": "EUR"})
    media_id = await upload(node, http, carl["access_token"], b"carl's photo, encrypted")
    await customer_sends(node, http, carl, "c1")
    await customer_sends(node, http, dora, "d1")
    reply = await business_replies(node, http, anna, carl, "a1")
    _, got = await call(http, node.url, "GET", "/sync", carl["access_token"])
    await call(http, node.url, "POST", "/sync/ack", carl["access_token"], {"up_to": got["next"]})
    conv = B + f"/conversations/{address}"
    await call(http, node.url, "POST", conv + "/notes", admin, {"text": "Prefers green tea"})
    status, _ = await call(http, node.url, "POST", B + "/orders", admin, {
        "conversation": address, "order_id": "ord-7", "items": [{"sku": "tea", "quantity": 2}]})
    assert status == 200
    await call(http, node.url, "POST", B + "/blocks", admin, {"target": address})
    # Something queued for federation that names Carl (a copy of a receipt, say), queued
    # as messaging queues one: saying whom it concerns.
    await biz(node).db.write(fed_store.enqueue_txn, ServerPolicy(), "remote.example", "receipt",
                             {"receipt": "delivered", "message_id": "m_x", "by": address,
                              "to": "eve@remote.example", "ts": 1}, 1, sender=address,
                             recipient="eve@remote.example", message_id="m_x")

    status, err = await call(http, node.url, "GET", B + f"/customers/{address}/export",
                             anna["access_token"])
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    reads = biz(node).db.reads["_export_read"]
    status, exported = await call(http, node.url, "GET", B + f"/customers/{address}/export",
                                  admin)
    assert status == 200, exported
    assert biz(node).db.reads["_export_read"] == reads + 1, "a heavy read is counted too"
    assert exported["conversation"]["customer"] == address
    assert [n["text"] for n in exported["notes"]] == ["Prefers green tea"]
    assert [o["order_id"] for o in exported["orders"]] == ["ord-7"]
    assert {lb["name"] for lb in exported["conversation"]["labels"]} == {"New customer",
                                                                         "New order"}
    assert [b["target"] for b in exported["blocks"]] == [address]
    assert {m["message_id"] for m in exported["messages"]} >= {reply["message_id"]}
    assert {m["direction"] for m in exported["message_log"]} == {"in", "out"}
    assert [m["media_id"] for m in exported["media"]] == [media_id]
    assert len(exported["outbox"]) == 1 and exported["account"]["role"] == "customer"
    assert "ciphertext" not in str(exported["queued_events"])

    status, err = await call(http, node.url, "DELETE", B + f"/customers/{anna['address']}",
                             admin)
    assert (status, err["error"]["code"]) == (400, "CANNOT_ERASE")
    status, erased = await call(http, node.url, "DELETE", B + f"/customers/{address}", admin)
    assert status == 200, erased
    assert erased["removed"]["account"] == 1 and erased["removed"]["biz_orders"] == 1
    assert erased["log_truncated"] is True
    assert rows_mentioning(biz(node).db.path, address) == []
    assert not blob_path(node.config.data_dir, media_id).exists()
    status, err = await call(http, node.url, "GET", conv, admin)
    assert (status, err["error"]["code"]) == (404, "UNKNOWN_CONVERSATION")
    status, err = await call(http, node.url, "GET", "/account", carl["access_token"])
    assert status == 401, "the account and its tokens are gone"
    # Dora is untouched.
    status, kept = await call(http, node.url, "GET", B + f"/conversations/{dora['address']}",
                              admin)
    assert status == 200 and kept["unread"] == 1
    status, again = await call(http, node.url, "GET", B + f"/customers/{address}/export",
                               admin)
    assert again["conversation"] is None and again["messages"] == [] and again["account"] is None


async def test_an_erasure_whose_log_stays_busy_says_so_and_erasing_again_truncates_it(
        node: RunningNode, http: aiohttp.ClientSession,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader holding a snapshot from before the erasure keeps the log in use, so the
    truncation after it never succeeds (the node's wait for a busy file is cut to 0.2 s
    here, the retries to 0.3 s): the answer says the log was not truncated. Once the
    reader is gone, erasing the address again truncates it."""
    monkeypatch.setattr(wal, "TRUNCATE_SECONDS", 0.3)
    boss = await team_member(node, http, "boss", "admin")
    carl = await customer(node, http, "carl")
    await customer_sends(node, http, carl, "c1")
    db = biz(node).db
    reader = sqlite3.connect(db.path, isolation_level=None)
    db._waiting_db.execute("PRAGMA busy_timeout = 200")  # (the checkpoint's connection)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM accounts").fetchone()
        erase = B + f"/customers/{carl['address']}"
        status, erased = await call(http, node.url, "DELETE", erase, boss["access_token"])
        assert status == 200 and erased["removed"]["account"] == 1
        assert erased["log_truncated"] is False
    finally:
        reader.close()
        db._waiting_db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    status, again = await call(http, node.url, "DELETE", erase, boss["access_token"])
    assert status == 200 and again["log_truncated"] is True
    assert Path(f"{db.path}-wal").stat().st_size == 0
    assert rows_mentioning(db.path, carl["address"]) == []


async def test_retention_removes_old_resolved_conversations_and_media(
        tmp_path: Path) -> None:
    from tests.nodes import running_node, write_config

    ini = write_config(tmp_path / "r", sections={
        "accounts": {"registration": "open"},
        "retention": {"resolved_conversation_days": "30", "media_days": "10"}})
    async with running_node(ini) as node, aiohttp.ClientSession() as http:
        boss = await team_member(node, http, "boss", "admin")
        b = biz(node)
        day = 24 * 3600 * 1000
        await fire_message(node, "old@remote.example", b.address, "m1", 1_000)
        await fire_message(node, "fresh@remote.example", b.address, "m2", 1_000)
        await call(http, node.url, "PATCH", B + "/conversations/old@remote.example",
                   boss["access_token"], {"status": "resolved"})
        logo = await upload(node, http, boss["access_token"], b"logo")
        photo = await upload(node, http, boss["access_token"], b"old photo")
        await call(http, node.url, "PUT", B + "/profile", boss["access_token"], {"logo": logo})
        later = now_ms() + 40 * day
        done = await retention.tick(b, now=later, batch=1)
        assert done["conversations"] == 1 and done["media"] == 1
        status, _ = await call(http, node.url, "GET", B + "/conversations/old@remote.example",
                               boss["access_token"])
        assert status == 404
        status, _ = await call(http, node.url, "GET",
                               B + "/conversations/fresh@remote.example", boss["access_token"])
        assert status == 200, "open conversations are kept"
        assert not blob_path(node.config.data_dir, photo).exists()
        assert blob_path(node.config.data_dir, logo).exists(), "the logo is kept"
        again = await retention.tick(b, now=later)
        assert again["conversations"] == 0 and again["media"] == 0
        assert await node.app[DB].read(lambda db: db.execute(
            "SELECT COUNT(*) FROM media").fetchone()[0]) == 1
