"""The team inbox: conversations from real sends, filters, pagination, notes, live push."""

from __future__ import annotations

import asyncio

import aiohttp

from node.appkeys import AUTOMATION
from tests.api.helpers import call
from tests.api.test_messaging import waiting_for
from tests.business.helpers import (
    B,
    biz,
    business_replies,
    customer,
    customer_sends,
    fire_message,
    team_member,
)
from tests.nodes import RunningNode, eventually


async def test_conversation_lifecycle_from_real_messages(node: RunningNode,
                                                         http: aiohttp.ClientSession) -> None:
    anna = await team_member(node, http, "anna", "agent")
    boss = await team_member(node, http, "boss", "admin")
    carl = await customer(node, http, "carl")
    token = anna["access_token"]
    conv = B + f"/conversations/{carl['address']}"
    status, err = await call(http, node.url, "GET", conv, token)
    assert (status, err["error"]["code"]) == (404, "UNKNOWN_CONVERSATION")

    first = await customer_sends(node, http, carl, "c1")
    await customer_sends(node, http, carl, "c2")
    status, got = await call(http, node.url, "GET", conv, token)
    assert status == 200, got
    assert (got["kind"], got["status"], got["unread"]) == ("customer", "open", 2)
    assert got["created_ms"] == first["ts"] and got["last_incoming_ms"] >= first["ts"]
    assert got["awaiting_reply_since_ms"] == first["ts"] and got["first_response_ms"] is None

    reply = await business_replies(node, http, anna, carl, "a1")
    _, got = await call(http, node.url, "GET", conv, token)
    assert got["last_outgoing_ms"] == reply["ts"] and got["awaiting_reply_since_ms"] is None
    assert got["first_response_ms"] == reply["ts"] - first["ts"]
    status, read = await call(http, node.url, "POST", conv + "/read", token, {})
    assert status == 200 and read["unread"] == 0 and read["read_ms"] >= reply["ts"]

    status, patched = await call(http, node.url, "PATCH", conv, token,
                                 {"status": "resolved", "assignee": boss["address"]})
    assert status == 200 and patched["status"] == "resolved"
    assert patched["assignee"] == boss["address"]
    again = await customer_sends(node, http, carl, "c3")
    _, got = await call(http, node.url, "GET", conv, token)
    assert got["status"] == "open", "a new customer message reopens the conversation"
    assert got["awaiting_reply_since_ms"] == again["ts"] and got["unread"] == 1
    status, patched = await call(http, node.url, "PATCH", conv, token,
                                 {"kind": "private", "assignee": None})
    assert status == 200 and patched["kind"] == "private" and patched["assignee"] is None

    for body, code in (({"status": "closed"}, "INVALID_PARAMETER"),
                       ({"kind": "spam"}, "INVALID_PARAMETER"),
                       ({"assignee": carl["address"]}, "INVALID_ASSIGNEE"),
                       ({"assignee": "nobody"}, "INVALID_ADDRESS"),
                       ({"colour": "red"}, "UNKNOWN_FIELD"), ({}, "EMPTY_UPDATE")):
        status, err = await call(http, node.url, "PATCH", conv, token, body)
        assert (status, err["error"]["code"]) == (400, code), body
    status, err = await call(http, node.url, "PATCH", conv, carl["access_token"],
                             {"status": "resolved"})
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")


async def test_notes_are_for_the_team_only(node: RunningNode,
                                           http: aiohttp.ClientSession) -> None:
    anna = await team_member(node, http, "anna", "agent")
    carl = await customer(node, http, "carl")
    await customer_sends(node, http, carl, "c1")
    notes = B + f"/conversations/{carl['address']}/notes"
    status, note = await call(http, node.url, "POST", notes, anna["access_token"],
                              {"text": "Wants decaf. Call back Tuesday."})
    assert status == 200 and note["author"] == anna["address"]
    status, listed = await call(http, node.url, "GET", notes, anna["access_token"])
    assert [n["text"] for n in listed["notes"]] == ["Wants decaf. Call back Tuesday."]
    for body in ({"text": ""}, {"text": "x" * 2001}, {"text": 5}):
        status, err = await call(http, node.url, "POST", notes, anna["access_token"], body)
        assert status == 400 and err["error"]["code"] == "INVALID_PARAMETER", body
    status, err = await call(http, node.url, "GET", notes, carl["access_token"])
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    _, carl_sync = await call(http, node.url, "GET", "/sync", carl["access_token"])
    assert all(e["type"] != "conversation" for e in carl_sync["events"])
    assert "decaf" not in str(carl_sync), "notes never reach the customer"


async def test_inbox_filters_and_stable_pagination(node: RunningNode,
                                                   http: aiohttp.ClientSession) -> None:
    anna = await team_member(node, http, "anna", "agent")
    token = anna["access_token"]
    business = biz(node).address
    server = node.config.node.server_name
    # Twelve customers; three share one last-activity time to exercise the tie-break.
    times = [1_000 + 10 * i for i in range(9)] + [5_000, 5_000, 5_000]
    for i, ts in enumerate(times):
        await fire_message(node, f"c{i:02d}@remote.example", business, f"m{i}", ts)
    await fire_message(node, business, anna["address"], "out1", 6_000)  # team: no record
    await fire_message(node, f"ghost@{server}", "someone@else.example", "x1", 6_000)
    seen, cursor = [], None
    while True:
        path = B + "/conversations?limit=5" + (f"&cursor={cursor}" if cursor else "")
        status, page = await call(http, node.url, "GET", path, token)
        assert status == 200, page
        seen += [c["customer"] for c in page["conversations"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # A conversation that moves to the top between pages makes none repeat or vanish
        # (only the one that moved is behind the reader now).
        if len(seen) == 5:
            await fire_message(node, "c00@remote.example", business, "late", 9_000)
    assert len(seen) == len(set(seen)) == 11 and "c00@remote.example" not in seen
    assert seen[:3] == ["c11@remote.example", "c10@remote.example", "c09@remote.example"]

    conv = B + "/conversations/c03@remote.example"
    await call(http, node.url, "PATCH", conv, token,
               {"status": "pending", "assignee": anna["address"]})
    for query, expected in (("status=pending", ["c03@remote.example"]),
                            (f"assignee={anna['address']}", ["c03@remote.example"]),
                            ("kind=private", []), ("status=resolved", [])):
        status, page = await call(http, node.url, "GET", B + "/conversations?" + query, token)
        assert [c["customer"] for c in page["conversations"]] == expected, query
    status, page = await call(http, node.url, "GET", B + "/conversations?assignee=none", token)
    assert len(page["conversations"]) == 11
    for query in ("status=closed", "limit=0", "limit=101", "cursor=bogus", "label=x",
                  "kind=other", "assignee=bad"):
        status, err = await call(http, node.url, "GET", B + "/conversations?" + query, token)
        assert status == 400, query


async def test_changes_are_pushed_live_to_every_team_device(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    anna = await team_member(node, http, "anna", "agent")
    boss = await team_member(node, http, "boss", "admin")
    carl = await customer(node, http, "carl")
    await customer_sends(node, http, carl, "c1")
    _, before = await call(http, node.url, "GET", "/sync", boss["access_token"])
    created = [e for e in before["events"] if e["type"] == "conversation"]
    assert created and created[0]["change"] == "created"
    assert created[0]["conversation"]["customer"] == carl["address"]

    waiting = asyncio.create_task(call(http, node.url, "GET",
                                       f"/sync?since={before['next']}&timeout=10000",
                                       boss["access_token"]))
    await waiting_for(node, boss)  # the long-poll is parked; it must be woken
    status, _ = await call(http, node.url, "PATCH", B + f"/conversations/{carl['address']}",
                           anna["access_token"], {"status": "pending"})
    assert status == 200
    status, pushed = await asyncio.wait_for(waiting, 5)
    [event] = [e for e in pushed["events"] if e["type"] == "conversation"]
    assert event["conversation"]["status"] == "pending" and event["change"] == "updated"

    async def note_event() -> list:
        _, got = await call(http, node.url, "GET", f"/sync?since={pushed['next']}",
                            anna["access_token"])
        return [e for e in got["events"] if e.get("change") == "note"]
    await call(http, node.url, "POST", B + f"/conversations/{carl['address']}/notes",
               boss["access_token"], {"text": "VIP"})
    [note] = await eventually(note_event, what="the note event on Anna's device")
    assert note["note"]["text"] == "VIP"


async def test_reading_moves_unread_for_the_team_and_waiting_tracks_replies(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    anna = await team_member(node, http, "anna", "agent")
    boss = await team_member(node, http, "boss", "admin")
    carl = await customer(node, http, "carl")
    dora = await customer(node, http, "dora")
    conv = B + f"/conversations/{carl['address']}"
    sent = [await customer_sends(node, http, carl, f"c{i}") for i in range(3)]
    await customer_sends(node, http, dora, "d1")
    await business_replies(node, http, anna, dora, "a0")
    _, got = await call(http, node.url, "GET", conv, boss["access_token"])
    assert got["unread"] == 3 and got["waiting_since_ms"] == sent[0]["ts"]

    async def listed(query: str) -> list[str]:
        _, page = await call(http, node.url, "GET", B + "/conversations?" + query,
                             anna["access_token"])
        return [c["customer"] for c in page["conversations"]]
    assert await listed("waiting=true") == [carl["address"]]
    assert await listed("waiting=false") == [dora["address"]]
    status, err = await call(http, node.url, "GET", B + "/conversations?waiting=maybe",
                             anna["access_token"])
    assert (status, err["error"]["code"]) == (400, "INVALID_PARAMETER")

    # Anna's device shows the first two: the count drops for everybody on the team.
    status, read = await call(http, node.url, "POST", conv + "/read", anna["access_token"],
                              {"message_id": sent[1]["message_id"]})
    assert status == 200 and read["unread"] == 1, read
    _, got = await call(http, node.url, "GET", conv, boss["access_token"])
    assert got["unread"] == 1
    status, read = await call(http, node.url, "POST", conv + "/read", boss["access_token"],
                              {"message_id": sent[0]["message_id"]})
    assert read["unread"] == 1, "reading older messages again changes nothing"
    for body, code in (({"message_id": 5}, 400), ({"message_id": "nope"}, 404),
                       ({"message_id": sent[2]["message_id"] + "x"}, 404)):
        status, err = await call(http, node.url, "POST", conv + "/read",
                                 anna["access_token"], body)
        assert status == code, body
    _, stats = await call(http, node.url, "GET", B + "/stats?days=1", boss["access_token"])
    assert stats["totals"]["read_by_team"] == 2

    # A person's reply answers what waited; reading everything leaves nothing unread.
    await business_replies(node, http, anna, carl, "a1")
    _, got = await call(http, node.url, "POST", conv + "/read", anna["access_token"], {})
    assert got["unread"] == 0 and got["waiting_since_ms"] is None
    assert await listed("waiting=true") == []
    later = await customer_sends(node, http, carl, "c9")
    _, got = await call(http, node.url, "GET", conv, boss["access_token"])
    assert got["waiting_since_ms"] == later["ts"] and got["unread"] == 1
    _, stats = await call(http, node.url, "GET", B + "/stats?days=1", boss["access_token"])
    assert stats["totals"]["read_by_team"] == 3


async def test_an_automatic_message_is_no_answer(node: RunningNode,
                                                 http: aiohttp.ClientSession) -> None:
    business = biz(node).address
    automation = node.app[AUTOMATION].client
    assert automation is not None
    await fire_message(node, "eve@remote.example", business, "m1", 1_000)
    await fire_message(node, business, "eve@remote.example", "m2", 2_000,
                       sender_device=automation.device_id)
    anna = await team_member(node, http, "anna", "agent")
    conv = B + "/conversations/eve@remote.example"
    _, got = await call(http, node.url, "GET", conv, anna["access_token"])
    assert got["waiting_since_ms"] == 1_000
    await fire_message(node, business, "eve@remote.example", "m3", 3_000,
                       sender_device=anna["device_id"])
    _, got = await call(http, node.url, "GET", conv, anna["access_token"])
    assert got["waiting_since_ms"] is None
