"""Sealed history on the node: approval, who may approve, rotation after a revocation,
pages newest first, and only ciphertext in the database."""

from __future__ import annotations

import sqlite3
from typing import Any

import aiohttp

from crypto.encoding import b64encode
from crypto.history import new_key, seal
from node.appkeys import DB
from node.services import accounts
from tests.api.helpers import call, keyed_device
from tests.api.test_team_inbox import team_member
from tests.nodes import RunningNode


def _item(key: bytes, epoch: int, owner: str, n: int, conversation: str) -> dict[str, Any]:
    ts = 1_764_000_000_000 + n
    sealed = seal(key, epoch, owner, f"m_{n:05d}", conversation, ts,
                  f'{{"body":"secret number {n}"}}'.encode())
    return {"item_id": f"m_{n:05d}", "conversation": conversation, "ts": ts,
            "epoch": epoch, "sealed": b64encode(sealed)}


async def _events(http: aiohttp.ClientSession, node: RunningNode, token: str,
                  kind: str) -> list[dict[str, Any]]:
    status, body = await call(http, node.url, "GET", "/sync?since=0&limit=500", token)
    assert status == 200, body
    return [e for e in body["events"] if e["type"] == kind]


async def test_an_approved_device_pages_the_history_and_a_revocation_rotates_the_key(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    one = await keyed_device(http, node.url, "carl")
    me = one["address"]
    t1 = one["access_token"]
    status, body = await call(http, node.url, "GET", "/history", t1)
    assert (status, body["epoch"], body["held"]) == (200, 0, [])
    status, body = await call(http, node.url, "POST", "/history/epochs", t1, {"epoch": 2})
    assert status == 409 and body["error"]["code"] == "EPOCH_EXISTS"
    status, body = await call(http, node.url, "POST", "/history/epochs", t1, {"epoch": 1})
    assert status == 200 and body == {"owner": me, "epoch": 1}
    key1 = new_key()
    items = [_item(key1, 1, me, n, "shop@shop.test") for n in range(7)]
    status, body = await call(http, node.url, "PUT", "/history/items", t1, {"items": items})
    assert status == 200 and body["stored"] == 7
    status, body = await call(http, node.url, "PUT", "/history/items", t1, {"items": items})
    assert body["stored"] == 0, "a copy is stored once per item id"

    two = await keyed_device(http, node.url, "carl", login_only=True)
    t2 = two["access_token"]
    added = await _events(http, node, t1, "device_added")
    assert [(e["address"], e["device_id"], e["owner"]) for e in added] == \
        [(me, two["device_id"], me)]
    status, body = await call(http, node.url, "GET", "/history/items", t2)
    assert status == 403 and body["error"]["code"] == "NOT_APPROVED"
    status, body = await call(http, node.url, "PUT", "/history/items", t2, {"items": items})
    assert status == 409 and body["error"]["code"] == "HISTORY_KEY_MISSING"
    status, body = await call(http, node.url, "POST", "/history/keys", t1, {
        "device_id": two["device_id"], "epochs": [1, 2], "ciphertext": "AAAA"})
    assert status == 403 and body["error"]["code"] == "NOT_HELD"
    status, body = await call(http, node.url, "POST", "/history/keys", t1, {
        "device_id": two["device_id"], "epochs": [1], "ciphertext": "QUJD"})
    assert status == 200, body
    got = await _events(http, node, t2, "history_keys")
    assert [(e["sender_device"], e["epochs"], e["ciphertext"]) for e in got] == \
        [(one["device_id"], [1], "QUJD")]

    pages, before = [], None
    for _ in range(5):  # bounded: 7 items in pages of 3
        query = "/history/items?limit=3" + (f"&before={before}" if before else "")
        status, page = await call(http, node.url, "GET", query, t2)
        assert status == 200, page
        pages.append([i["item_id"] for i in page["items"]])
        before = page["next"]
        if before is None:
            break
    assert pages == [["m_00006", "m_00005", "m_00004"], ["m_00003", "m_00002", "m_00001"],
                     ["m_00000"]]

    await accounts.revoke_device(node.app[DB], me, two["device_id"])
    more = [_item(key1, 1, me, 7, "shop@shop.test")]
    status, body = await call(http, node.url, "PUT", "/history/items", t1, {"items": more})
    assert status == 409 and body["error"]["code"] == "HISTORY_KEY_ROTATION"
    status, state = await call(http, node.url, "GET", "/history", t1)
    assert state["rotate"] is True
    status, body = await call(http, node.url, "POST", "/history/epochs", t1, {"epoch": 2})
    assert status == 200
    status, body = await call(http, node.url, "PUT", "/history/items", t1, {"items": more})
    assert status == 409 and body["error"]["code"] == "STALE_EPOCH"
    more = [_item(new_key(), 2, me, 7, "shop@shop.test")]
    status, body = await call(http, node.url, "PUT", "/history/items", t1, {"items": more})
    assert status == 200 and body == {"stored": 1, "epoch": 2}

    conn = sqlite3.connect(node.app[DB].path)
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert "secret number" not in dump and "history_items" in dump


async def test_team_approval_follows_the_setting_and_skips_the_automation_device(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    """[business] history_approval = admin (the default): only an admin's device starts
    the team's history and approves a new team device; agents holding it cannot."""
    anna = await team_member(node, http, "anna", "agent")
    status, body = await call(http, node.url, "POST", "/history/epochs",
                              anna["access_token"], {"epoch": 1})
    assert status == 403 and body["error"]["code"] == "HISTORY_FORBIDDEN"
    maria = await team_member(node, http, "maria", "admin")
    tm = maria["access_token"]
    status, body = await call(http, node.url, "POST", "/history/epochs", tm, {"epoch": 1})
    assert status == 200 and body["owner"] == node.config.business_address
    status, body = await call(http, node.url, "POST", "/history/keys", tm, {
        "device_id": anna["device_id"], "epochs": [1], "ciphertext": "QUJD"})
    assert status == 200
    ben = await team_member(node, http, "ben", "agent")
    told = await _events(http, node, anna["access_token"], "device_added")
    assert [e["address"] for e in told] == [maria["address"], ben["address"]]
    status, body = await call(http, node.url, "POST", "/history/keys", anna["access_token"],
                              {"device_id": ben["device_id"], "epochs": [1],
                               "ciphertext": "QUJD"})
    assert status == 403 and body["error"]["code"] == "APPROVAL_REFUSED"
    status, listed = await call(http, node.url, "GET", "/history/devices", tm)
    automation = {d["device_id"] for d in listed["devices"]
                  if d["account"] == node.config.business_address}
    assert automation == set(), "the automation device is no history member"
    status, body = await call(http, node.url, "POST", "/history/keys", tm, {
        "device_id": ben["device_id"], "epochs": [1], "ciphertext": "QUJD"})
    assert status == 200
    status, listed = await call(http, node.url, "GET", "/history/devices", tm)
    assert {d["account"]: d["current"] for d in listed["devices"]} == {
        anna["address"]: True, ben["address"]: True, maria["address"]: True}

    # An agent removed from the team: the team's key must rotate before more copies.
    await accounts.remove_account(node.app[DB], ben["address"])
    item = _item(new_key(), 1, node.config.business_address, 1, "carl@c.test")
    status, body = await call(http, node.url, "PUT", "/history/items", tm, {"items": [item]})
    assert status == 409 and body["error"]["code"] == "HISTORY_KEY_ROTATION"
