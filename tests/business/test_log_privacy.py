"""The operator's log names no one: accounts appear as keyed hashes, order ids too,
unless ``[logging] addresses = true``; so an erased customer leaves no trace there."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp

from node import logs
from node.cli import main
from tests.api.helpers import call
from tests.business.helpers import B, business_replies, customer, customer_sends, team_member
from tests.nodes import running_node, write_config

ORDER_ID = "ord-secret-7"


@contextmanager
def captured_log() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Everything logged at INFO and above, in the text and in the JSON format."""
    text, js = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(text), logging.StreamHandler(js)]
    handlers[0].setFormatter(logs.TextFormatter())
    handlers[1].setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    level = root.level
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield text, js
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)


async def _activity(url: str, node: object, http: aiohttp.ClientSession) -> tuple[str, str]:
    boss = await team_member(node, http, "boss", "admin")  # type: ignore[arg-type]
    anna = await team_member(node, http, "anna", "agent")  # type: ignore[arg-type]
    carl = await customer(node, http, "carl")  # type: ignore[arg-type]
    dora = await customer(node, http, "dora")  # type: ignore[arg-type]
    admin = boss["access_token"]
    for who in (carl, dora):
        await customer_sends(node, http, who, "c-" + who["device_id"])  # type: ignore[arg-type]
        await business_replies(node, http, anna, who, "a-" + who["device_id"])  # type: ignore
    await call(http, url, "POST", B + "/products", admin,
               {"sku": "tea", "name": "Tea", "price_minor": 450, "currency": "EUR"})
    status, _ = await call(http, url, "POST", B + "/orders", admin, {
        "conversation": carl["address"], "order_id": ORDER_ID,
        "items": [{"sku": "tea", "quantity": 2}]})
    assert status == 200
    for method, path in [("GET", B + f"/orders/{ORDER_ID}"),
                         ("GET", f"/keys/devices/{carl['address']}"),
                         ("GET", f"/no/such/route/{carl['address']}"),
                         ("GET", B + f"/customers/{carl['address']}/export"),
                         ("DELETE", B + f"/customers/{carl['address']}")]:
        await call(http, url, method, path, admin)
    return carl["address"], dora["address"]


async def test_after_activity_and_erasure_the_log_names_no_account_and_no_order(
        tmp_path: Path) -> None:
    ini = write_config(tmp_path / "node", sections={"accounts": {"registration": "open"}})
    with captured_log() as (text, js):
        async with running_node(ini) as node, aiohttp.ClientSession() as http:
            carl, dora = await _activity(node.url, node, http)
            erase = ["customer", "erase", dora, "-c", str(ini), "--yes"]
            assert await asyncio.to_thread(main, erase) == 0
            carl_hash = logs.pseudonym(carl)
        async with running_node(ini) as node:  # the same node again: the same hashes
            assert logs.pseudonym(carl) == carl_hash
    for out in (text.getvalue(), js.getvalue()):
        assert "GET /_kontor/client/v1/keys/devices/" + carl_hash in out, out
        assert f"/customers/{carl_hash}/export" in out
        for secret in (carl, dora, ORDER_ID, "carl@", "dora@"):
            assert secret not in out, (secret, out)
    assert logs.pseudonym(ORDER_ID, "order") in text.getvalue()
    for line in js.getvalue().splitlines():
        json.loads(line)


async def test_addresses_true_logs_them_as_they_are(tmp_path: Path) -> None:
    ini = write_config(tmp_path / "node", sections={"accounts": {"registration": "open"},
                                                    "logging": {"addresses": "true"}})
    try:
        with captured_log() as (text, _):
            async with running_node(ini) as node, aiohttp.ClientSession() as http:
                carl = await customer(node, http, "carl")
                await call(http, node.url, "GET", f"/keys/devices/{carl['address']}",
                           carl["access_token"])
        assert f"/keys/devices/{carl['address']} 200" in text.getvalue()
    finally:
        logs.configure_pseudonyms(b"\0" * 32)  # other tests in this process: hashed again


def test_addresses_anywhere_in_a_line_are_hashed() -> None:
    logs.configure_pseudonyms(b"k" * 32)
    record = logging.LogRecord("kontor.test", logging.WARNING, __file__, 1,
                               "could not reach %s for %s", ("Eve@Remote.Example:8448",
                                                             "order x"), None)
    line = logs.TextFormatter().format(record)
    assert "eve@" not in line.lower() and logs.pseudonym("eve@remote.example:8448") in line
