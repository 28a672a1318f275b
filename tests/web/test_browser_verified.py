"""The "verified" mark in the browser: a business profile is verified when the key that
signed it is pinned in the business's DNS (``_kontor-key`` TXT), which the browser's own
node looks up for it (``GET /keypins/{server}``) and the page compares with the signing
key itself, as the Python SDK does. Three nodes through the test DNS server: ``b.test``
pins its key, ``c.test`` pins another key, ``a.test`` (the browser's node) pins none."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp

from crypto.keys import SigningKey
from federation import pins
from node.nodekey import key_path, load_key
from tests.dnsserver import DnsServer
from tests.federation.network import start_nodes
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSWORD
from tests.web.page import WebDevice

PROFILE = """async (name) => {
  const p = await window.me.businessProfile(name);
  return {server: p.serverName, verified: p.verified, why: p.why, type: p.document.type};
}"""


def _pin(node: RunningNode) -> str:
    return pins.pin_value(load_key(key_path(node.config.data_dir)).public_key)


async def _keypins(node: RunningNode, token: str, name: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(
            f"{node.url}/_kontor/client/v1/keypins/{name}", headers=headers) as resp:
        return resp.status, await resp.json()


async def test_profiles_are_verified_by_the_dns_pin_the_node_looks_up(
        tmp_path: Path, browser: Any) -> None:
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            nodes = await start_nodes(stack, dns, tmp_path, ["a", "b", "c"])
            dns.add_txt("_kontor-key.b.test", f"v=kontor1 ed25519={_pin(nodes['b'])}")
            wrong = pins.pin_value(SigningKey.generate().public_key)
            dns.add_txt("_kontor-key.c.test", f"v=kontor1 ed25519={wrong}")
            context = await browser.new_context()
            stack.push_async_callback(context.close)
            web = await WebDevice.open(context, nodes["a"].url)
            await web.register("carl", PASSWORD)

            pinned = await web.run(PROFILE, "shop@b.test")
            assert pinned["server"] == "b.test" and pinned["verified"] is True, pinned
            assert "pinned in the DNS of b.test" in pinned["why"]
            catalog = await web.run("""async () => (await window.me.businessCatalog(
                "b.test")).verified""")
            assert catalog is True
            other = await web.run(PROFILE, "c.test")
            assert other["verified"] is False and "is another one" in other["why"], other
            none = await web.run(PROFILE, "a.test")
            assert none["verified"] is False and "publishes no key pin" in none["why"], none
            assert web.foreign_requests == []

            # The route itself: the pins as published, an address's server, bad names.
            token = await web.run("""async () => (await window.me.store.getJson(
                "kv", "account")).access_token""")
            asked = sum(q.name.startswith("_kontor-key.b.test") for q in dns.queries)
            assert asked >= 1  # (the profile's and catalog's lookups: once, then cached)
            assert await _keypins(nodes["a"], token, "anna@b.test") == (
                200, {"server_name": "b.test", "pins": [_pin(nodes["b"])], "published": True})
            assert sum(q.name.startswith("_kontor-key.b.test") for q in dns.queries) == asked
            assert (await _keypins(nodes["a"], token, "a.test"))[1]["published"] is False
            for bad in ("no_such..name", "x" * 300, "anna@", "%20"):
                status, body = await _keypins(nodes["a"], token, bad)
                assert status == 400 and body["error"]["code"] in (
                    "INVALID_SERVER_NAME", "INVALID_ADDRESS"), (bad, body)
            status, body = await _keypins(nodes["a"], "", "b.test")
            assert (status, body["error"]["code"]) == (401, "MISSING_TOKEN")
