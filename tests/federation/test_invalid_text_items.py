"""A federation item holding invalid text is refused on its own (INVALID_ITEM), so the
sender does not retry the transaction forever; its other items are stored."""

from __future__ import annotations

import json

import aiohttp

from node.appkeys import DB
from node.services import accounts
from tests.federation import test_inbound_security as door
from tests.federation.test_inbound_security import put, signed, stored_rows, transaction
from tests.nodes import RunningNode

pair = door.pair  # the two-node fixture


async def test_an_item_with_a_surrogate_or_control_id_is_refused_alone(
        pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    await accounts.create_account(b.app[DB], "bob@b.test", "customer", None)
    good = transaction()["items"][0]
    items = [{**good, "message_id": "m_\ud800"}, {**good, "message_id": "m_\u202egood"},
             {**good, "message_id": "m_a\x00b"}, {**good, "sender_device": "\udfff"},
             {**good, "kind": ["message"]}, {**good, "message_id": "m_fine"}]
    body = json.dumps({"items": items}).encode()
    before = await stored_rows(b)
    async with aiohttp.ClientSession() as http, http.put(
            b.url + "/_kontor/federation/v1/send/tx1", data=body,
            headers={**signed(a, "tx1", body), "Host": "b.test"}) as r:
        assert r.status == 200, await r.text()
        results = (await r.json())["results"]
    assert [x.get("error") for x in results[:5]] == ["INVALID_ITEM"] * 5, results
    assert "message_id" in results[0]["message"] or "\\ud800" in results[0]["message"]
    assert results[5].get("error") in (None, "DEVICE_MISMATCH"), results
    after = await stored_rows(b)
    assert after[0] == before[0] + 1 and after[1] == before[1] + 1, "only m_fine stored"
    status, _ = await put(b, "tx1", body, signed(a, "tx1", body))
    assert status == 200, "a retry of the same transaction is answered from the record"
