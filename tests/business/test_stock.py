"""Issue 11: stock as a count, as a shop keeps it.

A product with ``stock`` is in stock while any is left and sold out at 0; recording an
order takes its quantities (more than is left: 409 ``OUT_OF_STOCK``, nothing recorded),
cancelling gives them back; ``kontor business product add/edit --stock N`` sets the
count, ``--stock in|out`` says it by hand (not counted). The public catalog shows the
availability, never the count.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from node.cli import main
from tests.api.helpers import call
from tests.business.helpers import B, customer, customer_sends, team_member
from tests.nodes import RunningNode


async def _kontor(node: RunningNode, *argv: str) -> int:
    return await asyncio.to_thread(main, [*argv, "-c", str(node.config.source)])


async def test_orders_take_from_the_stock_and_cancelling_gives_it_back(
        node: RunningNode, http: aiohttp.ClientSession,
        capsys: pytest.CaptureFixture[str]) -> None:
    boss = (await team_member(node, http, "boss", "admin"))["access_token"]
    anna = (await team_member(node, http, "anna", "agent"))["access_token"]

    async def product() -> dict[str, Any]:
        status, found = await call(http, node.url, "GET", B + "/products/TEA", anna)
        assert status == 200, found
        return found

    async def public() -> dict[str, Any]:
        async with http.get(node.url + "/_kontor/public/v1/catalog") as r:
            return await r.json()

    assert await _kontor(node, "business", "product", "add", "TEA", "--name", "Sencha",
                         "--price", "8.90", "--currency", "EUR", "--stock", "3") == 0
    assert ((await product())["stock"], (await product())["availability"]) == (3, "in_stock")
    assert await _kontor(node, "business", "product", "edit", "TEA", "--stock", "2") == 0
    capsys.readouterr()
    assert await _kontor(node, "business", "product", "list") == 0
    assert "2 left" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:  # argparse refuses it: exit 2
        await _kontor(node, "business", "product", "edit", "TEA", "--stock", "lots")
    assert usage.value.code == 2 and "a count (0, 12, ...)" in capsys.readouterr().err

    carl = await customer(node, http, "carl")
    await customer_sends(node, http, carl, "c1")
    version = (await public())["version"]
    order = {"conversation": carl["address"], "items": [{"sku": "TEA", "quantity": 2}]}
    status, made = await call(http, node.url, "POST", B + "/orders", anna,
                              {**order, "order_id": "o-1"})
    assert status == 200, made
    assert ((await product())["stock"], (await product())["availability"]) == \
        (0, "out_of_stock")
    shown = await public()
    assert shown["version"] == version + 1, "sold out: a new catalog version"
    assert shown["products"][0]["availability"] == "out_of_stock"
    assert "stock" not in shown["products"][0], "the count stays the shop's"
    status, err = await call(http, node.url, "POST", B + "/orders", anna,
                             {**order, "order_id": "o-2"})
    assert (status, err["error"]["code"]) == (400, "UNAVAILABLE_PRODUCT")

    status, _ = await call(http, node.url, "PATCH", B + "/products/TEA", boss, {"stock": 1})
    assert status == 200 and (await product())["availability"] == "in_stock"
    status, err = await call(http, node.url, "POST", B + "/orders", anna,
                             {**order, "order_id": "o-3"})
    assert (status, err["error"]["code"]) == (409, "OUT_OF_STOCK")
    assert err["error"]["stock"] == 1 and (await product())["stock"] == 1
    status, _ = await call(http, node.url, "GET", B + "/orders/o-3", anna)
    assert status == 404, "nothing recorded"

    status, _ = await call(http, node.url, "PATCH", B + "/orders/o-1", anna,
                           {"status": "cancelled"})
    assert status == 200 and (await product())["stock"] == 3
    status, err = await call(http, node.url, "PATCH", B + "/products/TEA", boss,
                             {"availability": "out_of_stock"})
    assert (status, err["error"]["code"]) == (400, "INVALID_AVAILABILITY")
    assert await _kontor(node, "business", "product", "edit", "TEA", "--stock", "out") == 0
    by_hand = await product()
    assert (by_hand["stock"], by_hand["availability"]) == (None, "out_of_stock")
    status, made = await call(http, node.url, "POST", B + "/products", boss, {
        "sku": "MUG", "name": "Mug", "price_minor": 850, "currency": "EUR", "stock": 0})
    assert status == 200 and made["availability"] == "out_of_stock"
