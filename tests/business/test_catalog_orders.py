"""Catalog CRUD, the signed public catalog, order pricing and status labels."""

from __future__ import annotations

import aiohttp
import pytest

from node.errors import InvalidParameter
from node.nodekey import key_path, load_key
from node.protocol.currencies import format_amount
from node.services.business.catalog import compute_order_total
from node.services.business.signed import verify_document
from tests.api.helpers import call, register
from tests.business.helpers import B, customer, customer_sends, team_member
from tests.nodes import RunningNode

BEANS = {"sku": "beans-1kg", "name": "Beans 1 kg", "price_minor": 1999, "currency": "EUR"}
MUG = {"sku": "mug", "name": "Mug", "description": "Blue", "price_minor": 850,
       "currency": "EUR", "availability": "in_stock"}


async def test_catalog_crud_and_signed_public_catalog(node: RunningNode,
                                                      http: aiohttp.ClientSession) -> None:
    boss = await team_member(node, http, "boss", "admin")
    anna = await team_member(node, http, "anna", "agent")
    admin = boss["access_token"]
    for product in (BEANS, MUG):
        status, made = await call(http, node.url, "POST", B + "/products", admin, product)
        assert status == 200, made
    assert made["availability"] == "in_stock" and made["description"] == "Blue"
    status, err = await call(http, node.url, "POST", B + "/products", admin, BEANS)
    assert (status, err["error"]["code"]) == (409, "SKU_EXISTS")
    status, err = await call(http, node.url, "POST", B + "/products", anna["access_token"],
                             {**BEANS, "sku": "other"})
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    for bad, code in (({**BEANS, "sku": "has space"}, "INVALID_SKU"),
                      ({**BEANS, "sku": "x" * 65}, "INVALID_SKU"),
                      ({**BEANS, "sku": "n", "price_minor": -1}, "INVALID_PARAMETER"),
                      ({**BEANS, "sku": "n", "price_minor": 1.5}, "INVALID_PARAMETER"),
                      ({**BEANS, "sku": "n", "currency": "eur"}, "INVALID_CURRENCY"),
                      ({**BEANS, "sku": "n", "currency": "XYZ"}, "INVALID_CURRENCY"),
                      ({**BEANS, "sku": "n", "availability": "maybe"}, "INVALID_AVAILABILITY"),
                      ({**BEANS, "sku": "n", "image": "A" * 43}, "UNKNOWN_MEDIA"),
                      ({"sku": "n", "name": "N"}, "MISSING_FIELD")):
        status, err = await call(http, node.url, "POST", B + "/products", admin, bad)
        assert (status, err["error"]["code"]) == (400, code), bad
    status, changed = await call(http, node.url, "PATCH", B + "/products/mug", admin,
                                 {"availability": "discontinued", "price_minor": 900})
    assert status == 200 and changed["price_minor"] == 900
    status, err = await call(http, node.url, "PATCH", B + "/products/ghost", admin,
                             {"name": "x"})
    assert (status, err["error"]["code"]) == (404, "UNKNOWN_SKU")
    status, listed = await call(http, node.url, "GET", B + "/products", anna["access_token"])
    assert [p["sku"] for p in listed["products"]] == ["beans-1kg", "mug"]

    carl = await register(http, node.url, "carl")
    status, seen = await call(http, node.url, "GET", B + "/catalog", carl["access_token"])
    assert status == 200 and [p["sku"] for p in seen["products"]] == ["beans-1kg"]
    async with http.get(node.url + "/_kontor/public/v1/catalog") as r:
        public = await r.json()
    assert public["version"] == 3 and public["address"].startswith("shop@")
    key = load_key(key_path(node.config.data_dir))
    assert verify_document(public, node.config.node.server_name, key.key_id, key.public_key)
    status, _ = await call(http, node.url, "DELETE", B + "/products/mug", admin)
    assert status == 200
    async with http.get(node.url + "/_kontor/federation/v1/catalog") as r:
        assert (await r.json())["version"] == 4


CATALOG = {"a": {"sku": "a", "name": "A", "price_minor": 250, "currency": "EUR",
                 "availability": "in_stock"},
           "b": {"sku": "b", "name": "B", "price_minor": 1000, "currency": "EUR",
                 "availability": "in_stock"},
           "usd": {"sku": "usd", "name": "U", "price_minor": 1, "currency": "USD",
                   "availability": "in_stock"},
           "gone": {"sku": "gone", "name": "G", "price_minor": 1, "currency": "EUR",
                    "availability": "out_of_stock"}}


def test_compute_order_total() -> None:
    total, currency, lines = compute_order_total(CATALOG, [{"sku": "a", "quantity": 3},
                                                           {"sku": "b", "quantity": 1}])
    assert (total, currency) == (1750, "EUR")
    assert lines[0] == {"sku": "a", "name": "A", "quantity": 3, "unit_price_minor": 250,
                        "line_total_minor": 750}
    assert format_amount(total, currency) == "17.50 EUR"
    assert format_amount(500, "JPY") == "500 JPY" and format_amount(1234, "KWD") == "1.234 KWD"


@pytest.mark.parametrize("items,code", [
    ([], "INVALID_ITEMS"),
    ("a", "INVALID_ITEMS"),
    ([{"sku": "a"}], "INVALID_ITEMS"),
    ([{"sku": "x", "quantity": 1}], "UNKNOWN_SKU"),
    ([{"sku": "gone", "quantity": 1}], "UNAVAILABLE_PRODUCT"),
    ([{"sku": "a", "quantity": 1}, {"sku": "usd", "quantity": 1}], "MIXED_CURRENCIES"),
    ([{"sku": "a", "quantity": 0}], "INVALID_QUANTITY"),
    ([{"sku": "a", "quantity": 1000}], "INVALID_QUANTITY"),
    ([{"sku": "a", "quantity": True}], "INVALID_QUANTITY"),
    ([{"sku": "a", "quantity": 1}, {"sku": "a", "quantity": 2}], "DUPLICATE_SKU"),
])
def test_compute_order_total_refuses(items: object, code: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        compute_order_total(CATALOG, items)
    assert caught.value.code == code


async def test_orders_are_priced_by_the_node_and_label_the_conversation(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    boss = await team_member(node, http, "boss", "admin")
    anna = await team_member(node, http, "anna", "agent")
    token = anna["access_token"]
    await call(http, node.url, "POST", B + "/products", boss["access_token"], BEANS)
    carl = await customer(node, http, "carl")
    await customer_sends(node, http, carl, "c1")
    order = {"conversation": carl["address"], "order_id": "o-1",
             "items": [{"sku": "beans-1kg", "quantity": 2}]}
    status, err = await call(http, node.url, "POST", B + "/orders", token,
                             {**order, "total_minor": 100})
    assert (status, err["error"]["code"]) == (400, "TOTAL_MISMATCH")
    assert err["error"]["total_minor"] == 3998
    status, err = await call(http, node.url, "POST", B + "/orders", token,
                             {**order, "items": [{"sku": "nope", "quantity": 1}]})
    assert (status, err["error"]["code"]) == (400, "UNKNOWN_SKU")
    status, err = await call(http, node.url, "POST", B + "/orders", token,
                             {**order, "conversation": "stranger@remote.example"})
    assert (status, err["error"]["code"]) == (404, "UNKNOWN_CONVERSATION")
    status, err = await call(http, node.url, "POST", B + "/orders", carl["access_token"], order)
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    status, made = await call(http, node.url, "POST", B + "/orders", token,
                              {**order, "total_minor": 3998, "currency": "EUR"})
    assert status == 200, made
    assert (made["total_minor"], made["currency"], made["status"]) == (3998, "EUR", "new")
    status, err = await call(http, node.url, "POST", B + "/orders", token, order)
    assert (status, err["error"]["code"]) == (409, "ORDER_EXISTS")
    dora = await customer(node, http, "dora")  # another customer reuses carl's order id
    await customer_sends(node, http, dora, "d1")
    status, err = await call(http, node.url, "POST", B + "/orders", token,
                             {**order, "conversation": dora["address"]})
    assert (status, err["error"]["code"]) == (409, "ORDER_ID_TAKEN")

    conv = B + f"/conversations/{carl['address']}"

    async def labels() -> list[str]:
        _, got = await call(http, node.url, "GET", conv, token)
        return [lb["name"] for lb in got["labels"]]
    assert await labels() == ["New customer", "New order"]
    status, moved = await call(http, node.url, "PATCH", B + "/orders/o-1", token,
                               {"status": "confirmed"})
    assert status == 200 and "Pending payment" in await labels()
    status, moved = await call(http, node.url, "PATCH", B + "/orders/o-1", token,
                               {"status": "paid"})
    assert status == 200 and moved["status"] == "paid"
    assert "Paid" in await labels() and "Pending payment" not in await labels()
    status, err = await call(http, node.url, "PATCH", B + "/orders/o-1", token,
                             {"status": "new"})
    assert (status, err["error"]["code"]) == (409, "INVALID_TRANSITION")
    status, moved = await call(http, node.url, "PATCH", B + "/orders/o-1", token,
                               {"status": "completed"})
    assert status == 200 and "Order complete" in await labels()
    status, err = await call(http, node.url, "PATCH", B + "/orders/o-1", token,
                             {"status": "cancelled"})
    assert (status, err["error"]["code"]) == (409, "INVALID_TRANSITION")
    status, err = await call(http, node.url, "PATCH", B + "/orders/o-1", token,
                             {"status": "lost"})
    assert (status, err["error"]["code"]) == (400, "INVALID_PARAMETER")
    status, listed = await call(http, node.url, "GET", conv + "/orders", token)
    assert [(o["order_id"], o["status"]) for o in listed["orders"]] == [("o-1", "completed")]
    status, err = await call(http, node.url, "GET", B + "/orders/o-2", token)
    assert (status, err["error"]["code"]) == (404, "UNKNOWN_ORDER")
