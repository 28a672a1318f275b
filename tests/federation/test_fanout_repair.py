"""Fan-out that repairs itself, on the wire: a recipient's device added after the sending
node looked up the list gets the message through a repair under the same message id,
and the sending device hears ``devices_changed``, never ``failed``."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp

from tests.api.helpers import call, keyed_device
from tests.dnsserver import DnsServer
from tests.federation.network import start_nodes
from tests.nodes import eventually


async def _events(http: aiohttp.ClientSession, base: str, token: str,
                  kind: str) -> list[dict[str, Any]]:
    status, body = await call(http, base, "GET", "/sync?since=0&limit=500", token)
    assert status == 200, body
    return [e for e in body["events"] if e["type"] == kind]


async def test_a_device_added_after_the_lookup_gets_the_message_by_repair(
        tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        dns = stack.enter_context(DnsServer())
        nodes = await start_nodes(stack, dns, tmp_path, ["a", "b"])
        a, b = nodes["a"].url, nodes["b"].url
        http = await stack.enter_async_context(aiohttp.ClientSession())
        carl = await keyed_device(http, a, "carl")
        bob1 = await keyed_device(http, b, "bob")
        status, listed = await call(http, a, "GET", "/keys/devices/bob@b.test",
                                    carl["access_token"])
        assert status == 200 and [d["device_id"] for d in listed["devices"]] == \
            [bob1["device_id"]]
        bob2 = await keyed_device(http, b, "bob", login_only=True)  # a does not know it

        status, sent = await call(http, a, "PUT", "/send/t1", carl["access_token"], {
            "to": "bob@b.test", "envelopes": {"bob@b.test": {bob1["device_id"]: "AAAA"}}})
        assert status == 200, sent
        changed = await eventually(lambda: _events(http, a, carl["access_token"],
                                                   "devices_changed"),
                                   timeout=20, what="the devices_changed event")
        assert changed[0]["message_id"] == sent["message_id"]
        assert changed[0]["missing"] == [bob2["device_id"]] and changed[0]["extra"] == []
        assert await _events(http, a, carl["access_token"], "failed") == []

        # A repair must come from the same device, for a message it sent ...
        status, err = await call(http, a, "PUT", "/send/t2", carl["access_token"], {
            "to": "bob@b.test", "repair": "m_unknown",
            "envelopes": {"bob@b.test": {bob2["device_id"]: "BBBB"}}})
        assert status == 404 and err["error"]["code"] == "UNKNOWN_MESSAGE"
        # ... and may not name a device that does not exist.
        status, err = await call(http, a, "PUT", "/send/t3", carl["access_token"], {
            "to": "bob@b.test", "repair": sent["message_id"],
            "envelopes": {"bob@b.test": {"NOSUCHDEVIC": "BBBB"}}})
        assert status == 409 and err["error"]["code"] == "DEVICE_MISMATCH"
        assert err["error"]["extra"] == {"bob@b.test": ["NOSUCHDEVIC"]}
        assert err["error"]["missing"] == {}

        status, repaired = await call(http, a, "PUT", "/send/t4", carl["access_token"], {
            "to": "bob@b.test", "repair": sent["message_id"],
            "envelopes": {"bob@b.test": {bob2["device_id"]: "BBBB"}}})
        assert status == 200 and repaired == sent, "the original id and time"
        got = await eventually(lambda: _events(http, b, bob2["access_token"], "message"),
                               timeout=20, what="the repaired envelope on bob's new device")
        assert [(e["message_id"], e["ciphertext"], e["ts"]) for e in got] == \
            [(sent["message_id"], "BBBB", sent["ts"])]
        first = await _events(http, b, bob1["access_token"], "message")
        assert [e["ciphertext"] for e in first] == ["AAAA"], "the first device got it once"
        # The repair reported nothing: no second devices_changed, no failure.
        status, body = await call(http, a, "PUT", "/send/t5", carl["access_token"], {
            "to": "bob@b.test", "envelopes": {"bob@b.test": {
                bob1["device_id"]: "CCCC", bob2["device_id"]: "DDDD"}}})
        assert status == 200, body
        await eventually(lambda: _two_messages(http, b, bob2["access_token"]), timeout=20,
                         what="the next message on the new device")
        assert len(await _events(http, a, carl["access_token"], "devices_changed")) == 1
        assert await _events(http, a, carl["access_token"], "failed") == []


async def _two_messages(http: aiohttp.ClientSession, base: str, token: str) -> bool | None:
    return len(await _events(http, base, token, "message")) == 2 or None
