"""The owner sets the shop up from the shell: ``kontor business product|quick-reply|
label|greeting|away|profile`` run as child processes beside a running node; what they
changed is read back through the client API, and bad input exits 2 changing nothing."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.api.helpers import PREFIX, call, login
from tests.nodes import REPO, RunningNode, initialised, running_node, write_config

PASSWORD = "a long admin password"


class Shop:
    """A running node, its config, and an admin's token for reading back."""

    def __init__(self, node: RunningNode, http: aiohttp.ClientSession, token: str) -> None:
        self.node, self.http, self.token = node, http, token

    async def kontor(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "node", *args, "-c", self.node.config.source, cwd=REPO,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
        assert b"Traceback" not in err, err.decode()
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    async def ok(self, *args: str) -> str:
        code, out, err = await self.kontor(*args)
        assert code == 0, (args, err)
        return out

    async def refused(self, *args: str, says: str) -> None:
        code, out, err = await self.kontor(*args)
        assert code == 2, (args, out, err)
        assert says in err, (args, err)

    async def get(self, path: str) -> Any:
        status, body = await call(self.http, self.node.url, "GET", path, self.token)
        assert status == 200, body
        return body


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    ini = initialised(write_config(tmp_path / "node", sections={"business": {"account": "tea"}}))
    async with running_node(ini) as node, aiohttp.ClientSession() as http:
        setup = Shop(node, http, "")
        code, _, err = await setup.kontor("account", "add", "maria", "--role", "admin",
                                          "--password-stdin", stdin=PASSWORD + "\n")
        assert code == 0, err
        setup.token = (await login(http, node.url, "maria", PASSWORD))["access_token"]
        yield setup


def media_files(shop: Shop) -> list[Path]:
    folder = shop.node.config.data_dir / "media"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


async def test_products_with_price_image_stock_and_visibility(shop: Shop,
                                                              tmp_path: Path) -> None:
    image = tmp_path / "sencha.jpg"
    image.write_bytes(b"\xff\xd8\xff a picture of tea " * 100)
    await shop.ok("business", "product", "add", "SENCHA", "--name", "Sencha",
                  "--price", "8.90", "--currency", "EUR", "--image", str(image),
                  "--description", "Green tea from Shizuoka")
    await shop.ok("business", "product", "add", "GYOKURO", "--name", "Gyokuro",
                  "--price", "1200", "--currency", "JPY", "--stock", "out")
    await shop.ok("business", "product", "add", "OLD", "--name", "Old blend", "--price", "3",
                  "--currency", "EUR", "--hidden")
    catalog = await shop.get("/business/catalog")
    by_sku = {p["sku"]: p for p in catalog["products"]}
    assert set(by_sku) == {"SENCHA", "GYOKURO"}, "a hidden product is not in the catalog"
    sencha = by_sku["SENCHA"]
    assert (sencha["price_minor"], sencha["currency"]) == (890, "EUR")
    assert by_sku["GYOKURO"]["price_minor"] == 1200
    assert by_sku["GYOKURO"]["availability"] == "out_of_stock"
    async with shop.http.get(shop.node.url + PREFIX + f"/media/{sencha['image']}",
                             headers={"Authorization": f"Bearer {shop.token}"}) as r:
        assert r.status == 200 and await r.read() == image.read_bytes()

    await shop.ok("business", "product", "edit", "SENCHA", "--price", "9.5", "--stock", "out")
    await shop.ok("business", "product", "edit", "OLD", "--visible")
    await shop.ok("business", "product", "remove", "GYOKURO")
    products = {p["sku"]: p for p in (await shop.get("/business/products"))["products"]}
    assert set(products) == {"SENCHA", "OLD"}
    assert products["SENCHA"]["price_minor"] == 950
    assert products["SENCHA"]["availability"] == "out_of_stock"
    assert products["OLD"]["availability"] == "in_stock"
    listed = await shop.ok("business", "product", "list")
    assert "9.50 EUR" in listed and "sold out" in listed


async def test_bad_product_input_exits_2_and_changes_nothing(shop: Shop,
                                                             tmp_path: Path) -> None:
    await shop.ok("business", "product", "add", "SENCHA", "--name", "Sencha",
                  "--price", "8.90", "--currency", "EUR")
    before = await shop.get("/business/products")
    image = tmp_path / "new.png"
    image.write_bytes(b"\x89PNG not uploaded")
    add = ("business", "product", "add", "NEW", "--image", str(image))
    await shop.refused(*add, "--name", "New", "--price", "8.905", "--currency", "EUR",
                       says="EUR has at most 2 decimals")
    await shop.refused(*add, "--name", "New", "--price", "8", "--currency", "XYZ",
                       says="INVALID_CURRENCY")
    await shop.refused(*add, "--name", "", "--price", "8", "--currency", "EUR",
                       says="name must have 1 to 200 characters")
    await shop.refused(*add, "--price", "8", "--currency", "EUR", says="--name")
    await shop.refused("business", "product", "add", "bad sku!", "--name", "X", "--price",
                       "1", "--currency", "EUR", says="INVALID_SKU")
    await shop.refused("business", "product", "add", "SENCHA", "--name", "Again", "--price",
                       "1", "--currency", "EUR", says="SKU_EXISTS")
    await shop.refused("business", "product", "edit", "SENCHA", "--price", "-1",
                       says="INVALID_PRICE")
    await shop.refused("business", "product", "edit", "NOPE", "--price", "1",
                       says="UNKNOWN_SKU")
    await shop.refused("business", "product", "add", "NEW", "--name", "New", "--price", "1",
                       "--currency", "EUR", "--image", str(tmp_path / "missing.png"),
                       says="missing.png")
    assert await shop.get("/business/products") == before
    assert media_files(shop) == [], "no image was stored for a refused product"


async def test_quick_replies_labels_greeting_and_away(shop: Shop) -> None:
    await shop.ok("business", "quick-reply", "add", "/thanks",
                  "Thank you {customer_name}, enjoy your tea!")
    await shop.ok("business", "quick-reply", "edit", "/thanks", "Thanks, {customer_name}!")
    await shop.ok("business", "quick-reply", "add", "/bye", "Goodbye")
    await shop.ok("business", "quick-reply", "remove", "/bye")
    await shop.refused("business", "quick-reply", "add", "/oops", "Hi {agent name}",
                       says="UNKNOWN_PLACEHOLDER")
    replies = (await shop.get("/business/quick-replies"))["quick_replies"]
    assert [(r["shortcut"], r["text"]) for r in replies] == [("/thanks",
                                                            "Thanks, {customer_name}!")]

    await shop.ok("business", "label", "add", "VIP", "--color", "#FFAA00")
    await shop.ok("business", "label", "edit", "vip", "--name", "Regular")
    await shop.ok("business", "label", "remove", "Paid")
    await shop.refused("business", "label", "add", "Blue", "--color", "blue",
                       says="INVALID_COLOR")
    names = {label["name"]: label["color"]
             for label in (await shop.get("/business/labels"))["labels"]}
    assert names.get("Regular") == "#ffaa00" and "VIP" not in names and "Paid" not in names
    assert "Blue" not in names

    await shop.refused("business", "greeting", "--enabled", "on", says="MISSING_TEXT")
    await shop.ok("business", "greeting", "--text", "Welcome to {business_name}!",
                  "--enabled", "on", "--after-days", "30")
    await shop.ok("business", "away", "--text", "{business_name} is closed; we answer "
                  "tomorrow.", "--enabled", "on", "--now", "on")
    await shop.refused("business", "away", "--text", "{closed_until}", says="UNKNOWN_PLACEHOLDER")
    await shop.refused("business", "greeting", "--after-days", "0", says="after_days_silence")
    settings = await shop.get("/business/automation")
    assert settings["greeting"] == {"enabled": True, "text": "Welcome to {business_name}!",
                                    "after_days_silence": 30}
    assert settings["away"]["enabled"] and settings["away"]["manual"]
    assert settings["away"]["text"].endswith("we answer tomorrow.")
    assert "away by hand: on" in await shop.ok("business", "away")


async def test_weekly_hours_with_day_ranges_and_open_now(shop: Shop) -> None:
    await shop.ok("business", "profile", "set", "--name", "Tea & Leaf", "--timezone", "UTC",
                  "--hours", "mon-fri=09:00-18:00", "--hours", "sat=09:00-12:00,13:00-16:00",
                  "--hours", "sun=closed")
    hours = (await shop.get("/business/profile"))["hours"]
    week = [{"open": "09:00", "close": "18:00"}]
    assert hours == {"mon": week, "tue": week, "wed": week, "thu": week, "fri": week,
                     "sat": [{"open": "09:00", "close": "12:00"},
                             {"open": "13:00", "close": "16:00"}], "sun": []}
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    await shop.ok("business", "profile", "set", "--exception", f"{today}=closed",
                  "--exception", f"{tomorrow}=10:00-14:00")
    shown = await shop.ok("business", "profile", "show")
    assert f"open now:        no, opens {tomorrow:%a} {tomorrow} 10:00 (UTC)" in shown
    await shop.ok("business", "profile", "set", "--exception", f"{today}=00:00-24:00",
                  "--exception", f"{tomorrow}=closed")
    shown = await shop.ok("business", "profile", "show")
    assert f"open now:        yes, until 00:00 ({tomorrow:%a} {tomorrow}, UTC)" in shown
    before = await shop.get("/business/profile")
    await shop.refused("business", "profile", "set", "--hours", "mon-someday=09:00-10:00",
                       says="a range such as mon-fri")
    await shop.refused("business", "profile", "set", "--hours", "mon=09:00-25:00",
                       says="INVALID_HOURS")
    after = await shop.get("/business/profile")
    assert after["version"] == before["version"] and after["hours"] == before["hours"]
