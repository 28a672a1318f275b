"""Malformed and oversize input on client routes: a 4xx with a code, nothing changed."""

from __future__ import annotations

import aiohttp
import pytest

from node.appkeys import ACCOUNT_LIMITER
from tests.api.helpers import PREFIX, call, keyed_device
from tests.nodes import RunningNode


@pytest.mark.parametrize("body,code", [
    ({"to": "bob"}, "INVALID_ADDRESS"),
    ({"to": "bob@x", "envelopes": []}, "INVALID_PARAMETER"),
    ({"to": "bob@x", "envelopes": {}}, "INVALID_ENVELOPES"),
    ({"to": "bob@x", "envelopes": {"bob@x": {"D": "not base64!"}}}, "INVALID_ENVELOPES"),
    ({"to": "bob@x", "envelopes": {"bob@x": {"D": 5}}}, "INVALID_ENVELOPES"),
    ({"to": "bob@x", "envelopes": {"bob@x": {}}}, "INVALID_ENVELOPES"),
    ({"to": "bob@x\n", "envelopes": {"bob@x": {"D": "QQ"}}}, "INVALID_ADDRESS"),
    ({"envelopes": {}}, "MISSING_FIELD"),
])
async def test_malformed_send_bodies(node: RunningNode, http: aiohttp.ClientSession,
                                     body: dict, code: str) -> None:
    anna = await keyed_device(http, node.url, "anna")
    status, err = await call(http, node.url, "PUT", "/send/t1", anna["access_token"], body)
    assert (status, err["error"]["code"]) == (400, code)
    assert err["error"]["message"]


async def test_bad_txn_id_and_queries(node: RunningNode, http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    token = anna["access_token"]
    status, err = await call(http, node.url, "PUT", "/send/" + "x" * 65, token, {})
    assert (status, err["error"]["code"]) == (400, "INVALID_TXN_ID")
    for query in ("since=-1", "limit=0", "limit=501", "timeout=999999", "since=abc"):
        status, err = await call(http, node.url, "GET", "/sync?" + query, token)
        assert (status, err["error"]["code"]) == (400, "INVALID_PARAMETER"), query
    status, err = await call(http, node.url, "POST", "/sync/ack", token, {"up_to": "5"})
    assert (status, err["error"]["code"]) == (400, "INVALID_PARAMETER")


async def test_oversize_and_wrong_type(node: RunningNode, http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    headers = {"Authorization": f"Bearer {anna['access_token']}",
               "Content-Type": "application/json"}
    big = b'{"to": "b@x", "envelopes": {"b@x": {"D": "' + b"A" * (2 << 20) + b'"}}}'
    async with http.put(node.url + PREFIX + "/send/big", data=big, headers=headers) as r:
        assert r.status == 413 and (await r.json())["error"]["code"] == "TOO_LARGE"
    async with http.put(node.url + PREFIX + "/send/t2", data=b"{}",
                        headers={**headers, "Content-Type": "text/plain"}) as r:
        assert r.status == 415


async def test_rate_limit_per_account(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.nodes import running_node, write_config

    ini = write_config(tmp_path / "n", sections={
        "accounts": {"registration": "open"}, "limits": {"rate_per_account": 5}})
    async with running_node(ini) as node, aiohttp.ClientSession() as http:
        # The limiter's clock stands still: no token comes back while the test runs,
        # however slow the machine (one comes back every 12 s at 5 a minute).
        node.app[ACCOUNT_LIMITER].clock = lambda: 1000.0
        anna = await keyed_device(http, node.url, "anna")
        statuses, refused = [], None
        for _ in range(8):  # more than the 5 a minute allowed
            status, body = await call(http, node.url, "GET", "/keys/count",
                                      anna["access_token"])
            statuses.append(status)
            if status == 429 and refused is None:
                refused = body
        assert 429 in statuses and statuses[-1] == 429, statuses
        assert refused is not None and refused["error"]["code"] == "RATE_LIMITED"
        assert refused["error"]["retry_after_ms"] > 0


async def test_huge_numbers_and_deviceless_recipients(node: RunningNode,
                                                      http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna")
    async with http.put(node.url + PREFIX + "/send/big", data=b'{"to": ' + b"9" * 5000 + b"}",
                        headers={"Authorization": f"Bearer {anna['access_token']}",
                                 "Content-Type": "application/json"}) as r:
        assert (r.status, (await r.json())["error"]["code"]) == (400, "INVALID_JSON")
    status, plain = await call(http, node.url, "POST", "/register", body={
        "username": "nokeys", "password": "correct horse battery"})
    status, err = await call(http, node.url, "PUT", "/send/nd", anna["access_token"], {
        "to": plain["address"], "envelopes": {plain["address"]: {"X": "QQ"}}})
    assert (status, err["error"]["code"]) == (409, "NO_DEVICES")
    # A WebSocket acknowledgement out of range is answered, not a crash.
    url = node.url + PREFIX + "/ws?since=0"
    async with http.ws_connect(url, headers={
            "Authorization": f"Bearer {anna['access_token']}"}) as ws:
        await ws.send_json({"type": "ack", "up_to": 2**70})
        answer = await ws.receive_json(timeout=10)
        assert answer["type"] == "error" and answer["error"]["code"] == "INVALID_MESSAGE"
        # Frames are parsed as strictly as bodies: no duplicate keys, NaN or deep nesting.
        for frame in ('{"type": "ack", "up_to": 0, "up_to": 0}', '{"type": "ack", '
                      '"up_to": NaN}', '{"type": "ack", "up_to": 0, "x": [[[[[0]]]]]}'):
            await ws.send_str(frame)
            answer = await ws.receive_json(timeout=10)
            assert answer["error"]["code"] == "INVALID_MESSAGE", frame
