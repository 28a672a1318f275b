"""A revoked device's sockets and long-polls end at once, and its key is never reused."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from node.appkeys import DB, NOTIFIER
from node.cli import main
from node.services import accounts
from node.storage import db as storage_db
from node.storage.db import connect
from node.storage.migrations import MIGRATIONS
from tests.api.helpers import PREFIX, call, keyed_device
from tests.nodes import RunningNode, eventually

Revoke = Callable[[RunningNode, aiohttp.ClientSession, dict[str, Any]], Awaitable[None]]


async def _logout(node: RunningNode, http: aiohttp.ClientSession,
                  session: dict[str, Any]) -> None:
    status, _ = await call(http, node.url, "POST", "/logout", session["access_token"])
    assert status == 200


async def _cli_revoke(node: RunningNode, http: aiohttp.ClientSession,
                      session: dict[str, Any]) -> None:
    """``kontor device revoke`` works on the database beside the running node."""
    ini = node.config.source
    code = await asyncio.to_thread(main, ["device", "revoke", "-c", ini,
                                          session["address"], session["device_id"]])
    assert code == 0


async def _cli_remove_account(node: RunningNode, http: aiohttp.ClientSession,
                              session: dict[str, Any]) -> None:
    ini = node.config.source
    code = await asyncio.to_thread(main, ["account", "remove", "-c", ini,
                                          session["address"], "--yes"])
    assert code == 0


async def device_pk(node: RunningNode, device_id: str) -> int:
    def find(db: Any) -> int:
        return db.execute("SELECT pk FROM devices WHERE device_id = ?",
                          [device_id]).fetchone()[0]
    return await node.app[DB].read(find)


async def _expect_revoked_close(ws: aiohttp.ClientWebSocketResponse) -> None:
    """The next frame is the close with 4001 DEVICE_REVOKED, never an event."""
    msg = await asyncio.wait_for(ws.receive(), 20)  # a deadline, not a speed
    assert msg.type == aiohttp.WSMsgType.CLOSE, msg
    assert ws.close_code == 4001 and msg.extra == "DEVICE_REVOKED"


async def _revocation_closes_socket_and_poll(node: RunningNode, http: aiohttp.ClientSession,
                                             revoke: Revoke) -> None:
    bob = await keyed_device(http, node.url, "bob")
    old = await keyed_device(http, node.url, "anna")  # the newest device: its key is
    # the one SQLite would hand out again without AUTOINCREMENT
    headers = {"Authorization": f"Bearer {old['access_token']}"}
    async with http.ws_connect(node.url + PREFIX + "/ws?since=0", headers=headers) as ws:
        poll = asyncio.create_task(call(http, node.url, "GET", "/sync?timeout=20000",
                                        old["access_token"]))
        pk = await device_pk(node, old["device_id"])

        async def both_waiting() -> bool:
            return node.app[NOTIFIER].waiting(pk) >= 2  # the socket and the long-poll
        await eventually(both_waiting, what="the socket and the poll to wait")
        await revoke(node, http, old)
        status, body = await asyncio.wait_for(poll, 20)
        assert status == 401 and body["error"]["code"] == "DEVICE_REVOKED"
        await _expect_revoked_close(ws)
        new = await keyed_device(http, node.url, "carl")
        status, sent = await call(http, node.url, "PUT", "/send/t1", bob["access_token"], {
            "to": new["address"], "envelopes": {new["address"]: {new["device_id"]: "QQ"}}})
        assert status == 200, sent
        assert ws.closed
    status, body = await call(http, node.url, "GET", "/sync", new["access_token"])
    assert [e["message_id"] for e in body["events"]] == [sent["message_id"]]


async def test_logout_closes_the_devices_socket_and_long_poll(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    await _revocation_closes_socket_and_poll(node, http, _logout)


async def test_cli_revoke_closes_the_devices_socket_and_long_poll(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    await _revocation_closes_socket_and_poll(node, http, _cli_revoke)


async def test_account_removal_closes_its_sockets(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    await _revocation_closes_socket_and_poll(node, http, _cli_remove_account)


async def test_device_keys_are_never_reused(node: RunningNode,
                                            http: aiohttp.ClientSession) -> None:
    first = await keyed_device(http, node.url, "anna")
    await _logout(node, http, first)
    second = await keyed_device(http, node.url, "anna", login_only=True)
    db = sqlite3.connect(node.config.database_path)
    try:
        pks = dict(db.execute("SELECT device_id, pk FROM devices WHERE address = ?",
                              [second["address"]]).fetchall())
        gone = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'devices'").fetchone()
    finally:
        db.close()
    assert list(pks) == [second["device_id"]]
    assert gone is not None and pks[second["device_id"]] == gone[0]
    assert gone[0] >= 2, "the revoked device's key was handed out again"


def test_migration_keeps_devices_events_and_prekeys(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    for migrations in storage_db.MIGRATION_SETS:
        migrations.apply(db, stop_before="0004_device_keys_never_reused")
    db.execute("INSERT INTO accounts VALUES ('a@x', 'customer', NULL, 1)")
    for pk in (1, 2):
        db.execute("INSERT INTO devices (pk, address, device_id, token_hash, created_ms, "
                   "last_seen_ms) VALUES (?, 'a@x', ?, ?, 1, 1)", [pk, f"d{pk}", f"h{pk}"])
        db.execute("INSERT INTO one_time_prekeys VALUES (?, 'k', '{}')", [pk])
        db.execute("INSERT INTO events (device_pk, kind, payload, created_ms) "
                   "VALUES (?, 'message', '{}', 1)", [pk])
    MIGRATIONS.apply(db)
    assert "AUTOINCREMENT" in db.execute("SELECT sql FROM sqlite_master WHERE "
                                         "name = 'devices'").fetchone()[0]
    assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2
    assert db.execute("SELECT COUNT(*) FROM one_time_prekeys").fetchone()[0] == 2
    assert [r[0] for r in db.execute("SELECT device_id FROM devices ORDER BY pk")] == \
        ["d1", "d2"]
    db.execute("DELETE FROM devices WHERE pk = 2")
    assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1, "still cascades"
    db.execute("INSERT INTO devices (address, device_id, created_ms, last_seen_ms) "
               "VALUES ('a@x', 'd3', 1, 1)")
    assert db.execute("SELECT pk FROM devices WHERE device_id = 'd3'").fetchone()[0] == 3
    db.close()


async def test_a_removed_accounts_address_is_not_self_registered_again(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    """Rows here and on other nodes still name the address (conversations, cached device
    lists): a newcomer must not inherit them. The operator may give it out knowingly."""
    first = await keyed_device(http, node.url, "anna")
    await _cli_remove_account(node, http, first)
    status, body = await call(http, node.url, "POST", "/register", body={
        "username": "anna", "password": "correct horse battery"})
    assert status == 409 and body["error"]["code"] == "ADDRESS_RETIRED", body
    await accounts.create_account(node.app[DB], first["address"], "customer",
                                  "correct horse battery")
    status, body = await call(http, node.url, "POST", "/login", body={
        "username": "anna", "password": "correct horse battery"})
    assert status == 200, body
