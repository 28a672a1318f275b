"""Labels (defaults, CRUD, attach) and quick replies (CRUD, expansion)."""

from __future__ import annotations

import aiohttp
import pytest

from node.appkeys import DB
from node.protocol import placeholders
from node.protocol.placeholders import expand as expand_quick_reply
from node.storage.db import migrate
from tests.api.helpers import call, register
from tests.business.helpers import B, biz, customer, customer_sends, team_member
from tests.nodes import RunningNode

DEFAULTS = ["New customer", "New order", "Pending payment", "Paid", "Order complete"]


async def test_default_labels_crud_and_attach(node: RunningNode,
                                              http: aiohttp.ClientSession) -> None:
    anna = await team_member(node, http, "anna", "agent")
    token = anna["access_token"]
    status, listed = await call(http, node.url, "GET", B + "/labels", token)
    assert status == 200 and [lb["name"] for lb in listed["labels"]] == DEFAULTS
    # Migrating again never duplicates the defaults.
    await node.app[DB].write(lambda db: migrate(db))
    _, again = await call(http, node.url, "GET", B + "/labels", token)
    assert len(again["labels"]) == len(DEFAULTS)

    status, vip = await call(http, node.url, "POST", B + "/labels", token,
                             {"name": "VIP", "color": "#FFAA00"})
    assert status == 200 and vip["color"] == "#ffaa00"
    status, err = await call(http, node.url, "POST", B + "/labels", token,
                             {"name": "vip", "color": "#000000"})
    assert (status, err["error"]["code"]) == (409, "LABEL_EXISTS")
    for body, code in (({"name": "X", "color": "red"}, "INVALID_COLOR"),
                       ({"name": "", "color": "#000000"}, "INVALID_PARAMETER"),
                       ({"name": "n" * 51, "color": "#000000"}, "INVALID_PARAMETER"),
                       ({"color": "#000000"}, "MISSING_FIELD")):
        status, err = await call(http, node.url, "POST", B + "/labels", token, body)
        assert (status, err["error"]["code"]) == (400, code), body
    label = f"/labels/{vip['label_id']}"
    status, renamed = await call(http, node.url, "PATCH", B + label, token,
                                 {"name": "Very important", "color": "#123456"})
    assert status == 200 and renamed["name"] == "Very important"
    status, err = await call(http, node.url, "PATCH", B + label, token, {"name": "Paid"})
    assert (status, err["error"]["code"]) == (409, "LABEL_EXISTS")
    status, err = await call(http, node.url, "PATCH", B + "/labels/9999", token, {"name": "Q"})
    assert (status, err["error"]["code"]) == (404, "UNKNOWN_LABEL")

    carl = await customer(node, http, "carl")
    await customer_sends(node, http, carl, "c1")
    conv = f"/conversations/{carl['address']}"
    status, got = await call(http, node.url, "GET", B + conv, token)
    assert [lb["name"] for lb in got["labels"]] == ["New customer"], "first contact"
    status, attached = await call(http, node.url, "PUT", B + conv + label, token)
    assert status == 200 and [lb["name"] for lb in attached["labels"]] == [
        "New customer", "Very important"]
    status, again = await call(http, node.url, "PUT", B + conv + label, token)
    assert status == 200 and len(again["labels"]) == 2, "attaching twice is harmless"
    status, listed = await call(http, node.url, "GET",
                                B + f"/conversations?label={vip['label_id']}", token)
    assert [c["customer"] for c in listed["conversations"]] == [carl["address"]]
    status, _ = await call(http, node.url, "DELETE", B + label, token)
    assert status == 200
    _, got = await call(http, node.url, "GET", B + conv, token)
    assert [lb["name"] for lb in got["labels"]] == ["New customer"], "deleting detaches"
    status, err = await call(http, node.url, "PUT", B + conv + label, token)
    assert (status, err["error"]["code"]) == (404, "UNKNOWN_LABEL")
    status, err = await call(http, node.url, "PUT", B + "/conversations/nobody@x/labels/1",
                             token)
    assert (status, err["error"]["code"]) == (404, "UNKNOWN_CONVERSATION")
    status, err = await call(http, node.url, "GET", B + "/labels", carl["access_token"])
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")


async def test_quick_replies_crud_and_roles(node: RunningNode,
                                            http: aiohttp.ClientSession) -> None:
    boss = await team_member(node, http, "boss", "admin")
    anna = await team_member(node, http, "anna", "agent")
    carl = await register(http, node.url, "carl")
    admin, agent = boss["access_token"], anna["access_token"]
    body = {"shortcut": "/thanks", "text": "Thanks {customer_name}! — {business_name}"}
    status, made = await call(http, node.url, "POST", B + "/quick-replies", admin, body)
    assert status == 200, made
    assert made["shortcut"] == "/thanks"
    assert made["placeholders"] == ["business_name", "customer_name"]
    status, err = await call(http, node.url, "POST", B + "/quick-replies", admin, body)
    assert (status, err["error"]["code"]) == (409, "QUICK_REPLY_EXISTS")
    status, err = await call(http, node.url, "POST", B + "/quick-replies", agent,
                             {"shortcut": "hi", "text": "Hi"})
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    status, listed = await call(http, node.url, "GET", B + "/quick-replies", agent)
    assert status == 200 and [q["shortcut"] for q in listed["quick_replies"]] == ["/thanks"]
    status, err = await call(http, node.url, "GET", B + "/quick-replies", carl["access_token"])
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    for bad, code in (({"shortcut": "/Thanks!", "text": "x"}, "INVALID_SHORTCUT"),
                      ({"shortcut": "/x", "text": "Hi {nickname}"}, "UNKNOWN_PLACEHOLDER"),
                      ({"shortcut": "/x", "text": ""}, "INVALID_PARAMETER"),
                      ({"shortcut": "/x", "text": "t" * 4097}, "INVALID_PARAMETER")):
        status, err = await call(http, node.url, "POST", B + "/quick-replies", admin, bad)
        assert (status, err["error"]["code"]) == (400, code), bad
    status, changed = await call(http, node.url, "PUT", B + "/quick-replies/thanks", admin,
                                 {"text": "Danke, {{wirklich}} {agent_name}"})
    assert status == 200 and changed["placeholders"] == ["agent_name"]
    assert expand_quick_reply(changed["text"], {"agent_name": "Anna"}) == \
        "Danke, {wirklich} Anna"
    status, _ = await call(http, node.url, "DELETE", B + "/quick-replies/thanks", admin)
    assert status == 200
    status, err = await call(http, node.url, "GET", B + "/quick-replies/thanks", agent)
    assert (status, err["error"]["code"]) == (404, "UNKNOWN_QUICK_REPLY")
    assert biz(node).address.startswith("shop@")


@pytest.mark.parametrize("text,values,expected", [
    ("Hi {customer_name}", {"customer_name": "Carl"}, "Hi Carl"),
    ("Hi {customer_name}", {}, "Hi {customer_name}"),
    ("{a}{b}", {"a": "{b}", "b": "x"}, "{b}x"),
    ("{{literal}} }}", {"literal": "no"}, "{literal} }"),
    ("Order {order_id}: {order_total}", {"order_id": "A1", "order_total": "9.99 EUR"},
     "Order A1: 9.99 EUR"),
])
def test_expand_quick_reply(text: str, values: dict[str, str], expected: str) -> None:
    assert expand_quick_reply(text, values) == expected


@pytest.mark.parametrize("text,unknown", [
    ("Hi {nickname}", ["{nickname}"]),
    ("Thanks! - {agent name}", ["{agent name}"]),
    ("Hi { customer_name }", ["{ customer_name }"]),
    ("Welcome to {Business_Name}", ["{Business_Name}"]),
    ("Hi {customer_name", ["{"]),
    ("{customer_name}} and {}", ["}", "{}"]),
])
async def test_a_text_with_an_unknown_placeholder_is_refused_naming_it(
        node: RunningNode, http: aiohttp.ClientSession, text: str, unknown: list[str]) -> None:
    admin = (await team_member(node, http, "boss", "admin"))["access_token"]
    for method, path, body in (
            ("POST", B + "/quick-replies", {"shortcut": "/x", "text": text}),
            ("PUT", B + "/automation", {"away": {"text": text}})):
        status, err = await call(http, node.url, method, path, admin, body)
        assert (status, err["error"]["code"]) == (400, "UNKNOWN_PLACEHOLDER"), (path, err)
        assert err["error"]["unknown"] == unknown
        assert unknown[0] in err["error"]["message"]


def test_every_placeholder_gets_a_value() -> None:
    profile = {"name": "Tea & Leaf", "phone": "+49 30 1", "website": "https://tea.example",
               "timezone": "Pacific/Kiritimati"}
    order = {"order_id": "o-7", "total_minor": 3490, "currency": "EUR"}
    values = placeholders.values_for(
        profile=profile, business_address="shop@tea.example", customer="carl.berg@c.test",
        agent_name="Anna", order=order, now_ms=1_700_000_000_000)  # 2023-11-14 22:13 UTC
    assert set(values) == placeholders.PLACEHOLDERS
    assert values == {
        "business_name": "Tea & Leaf", "business_address": "shop@tea.example",
        "business_phone": "+49 30 1", "business_website": "https://tea.example",
        "customer_address": "carl.berg@c.test", "customer_name": "Carl Berg",
        "agent_name": "Anna", "order_id": "o-7", "order_total": "34.90 EUR",
        "date": "2023-11-15"}  # already tomorrow in the business's zone (UTC+14)
    bare = placeholders.values_for(profile={}, business_address="shop@x.test",
                                   customer="eve@y.test", now_ms=0)
    assert (bare["business_name"], bare["agent_name"], bare["order_id"]) == ("Shop", "Shop", "")
    text = "{" + "} {".join(sorted(placeholders.PLACEHOLDERS)) + "}"
    assert "{" not in placeholders.expand(text, bare)
