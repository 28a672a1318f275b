"""The federation door: every kind of bad request gets its own 4xx code and stores
nothing. Requests are built by hand here, signed with a real node's key."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import nacl.signing
import pytest

from federation.signatures import sign_kontor_request
from node.appkeys import BUSINESS, DB, FEDERATION
from node.nodekey import key_path, load_key
from node.services.accounts import Requester
from node.services.business import blocking
from tests.dnsserver import DnsServer
from tests.federation.network import node_config
from tests.nodes import RunningNode, running_node

PATH = "/_kontor/federation/v1/send/"


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[RunningNode, RunningNode]]:
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            a = await stack.enter_async_context(running_node(node_config(dns, tmp_path, "a")))
            b = await stack.enter_async_context(running_node(node_config(
                dns, tmp_path, "b", {"federation": {"deny": "evil.test"}})))
            yield a, b


def transaction(sender: str = "carl@a.test") -> dict[str, Any]:
    return {"items": [{"kind": "message", "message_id": "m_test", "sender": sender,
                       "sender_device": "DEV", "to": "bob@b.test", "ts": 1,
                       "envelopes": {"BOBDEV": "QUFB"}}]}


def signed(a: RunningNode, txn_id: str, body: bytes, **overrides: Any) -> dict[str, str]:
    key = load_key(key_path(a.config.data_dir))
    sign = overrides.pop("sign", key.sign)
    args: dict[str, Any] = {"origin": "a.test", "destination": "b.test",
                            "key_id": key.key_id, "now": int(time.time())}
    args.update(overrides)
    headers = sign_kontor_request("PUT", f"http://b.test{PATH}{txn_id}", body, sign=sign,
                                  **args)
    return {**headers, "Content-Type": "application/json"}


async def stored_rows(b: RunningNode) -> tuple[int, int, int]:
    def count(db: Any) -> tuple[int, int, int]:
        return tuple(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore
                     for t in ("fed_inbound_txns", "messages", "events"))
    return await b.app[DB].read(count)


async def put(b: RunningNode, txn_id: str, body: bytes,
              headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.put(
            b.url + PATH + txn_id, data=body, headers={**headers, "Host": "b.test"}) as r:
        data = await r.json()
        return r.status, data["error"]["code"] if r.status >= 400 else ""


async def test_each_bad_request_gets_its_own_code_and_nothing_is_stored(
        pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    body = json.dumps(transaction()).encode()
    before = await stored_rows(b)
    stranger = nacl.signing.SigningKey.generate()
    cases: list[tuple[str, bytes, dict[str, str], int, str]] = [
        ("forged", body, signed(a, "t1", body, sign=lambda m: stranger.sign(m).signature),
         401, "BAD_SIGNATURE"),
        ("unknown key", body, signed(a, "t2", body, key_id="ed25519:NoSuchKy"),
         401, "UNKNOWN_KEY"),
        ("expired", body, signed(a, "t3", body, now=int(time.time()) - 3600),
         401, "EXPIRED_SIGNATURE"),
        ("stale created", body, signed(a, "t3", body, now=int(time.time()) - 3600,
                                       lifetime=7200), 401, "STALE_SIGNATURE"),
        ("digest", body + b" ", signed(a, "t4", body), 400, "DIGEST_MISMATCH"),
        ("destination", body, signed(a, "t5", body, destination="c.test"),
         421, "WRONG_DESTINATION"),
        ("not signed", body, {"Content-Type": "application/json"}, 401, "MISSING_SIGNATURE"),
        ("denied", body, signed(a, "t6", body, origin="evil.test"), 403, "ORIGIN_DENIED"),
    ]
    other = json.dumps(transaction(sender="mallory@elsewhere.test")).encode()
    cases.append(("sender not on origin", other, signed(a, "t7", other), 403,
                  "SENDER_NOT_ON_ORIGIN"))
    big = json.dumps({"items": [], "pad": "x" * (2 * 1024 * 1024)}).encode()
    cases.append(("oversize", big, signed(a, "t8", big), 413, "TOO_LARGE"))
    before_start = int(b.app[FEDERATION].started_at) - 30  # maybe a replay from before
    cases.append(("signed before a restart", body, signed(a, "t9", body, now=before_start),
                  401, "STALE_SIGNATURE"))
    decoy = signed(a, "t6", body, origin="evil.test")  # a denied origin hiding behind
    decoy["Signature-Input"] = ('x=();keyid="a.test/ed25519:AAAAAAAA", '
                                + decoy["Signature-Input"])
    cases.append(("decoy label", body, decoy, 403, "ORIGIN_DENIED"))
    txn_ids = {"forged": "t1", "unknown key": "t2", "expired": "t3", "stale created": "t3",
               "digest": "t4",
               "destination": "t5", "not signed": "t0", "denied": "t6",
               "sender not on origin": "t7", "oversize": "t8", "decoy label": "t6",
               "signed before a restart": "t9"}
    for name, data, headers, status, code in cases:
        assert await put(b, txn_ids[name], data, headers) == (status, code), name
    assert await stored_rows(b) == before

    # A replayed request (same signature and nonce) is refused the second time.
    good = signed(a, "t9", body)
    status, _ = await put(b, "t9", body, good)
    assert status == 200
    after_first = await stored_rows(b)
    assert await put(b, "t9", body, good) == (401, "REPLAYED_NONCE")
    assert await stored_rows(b) == after_first


async def test_a_retried_transaction_gets_the_same_answer_and_is_stored_once(
        pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    body = json.dumps(transaction()).encode()
    async with aiohttp.ClientSession() as http:
        answers = []
        for _ in range(2):  # a fresh signature each time, as a retrying sender makes
            async with http.put(b.url + PATH + "same", data=body,
                                headers={**signed(a, "same", body), "Host": "b.test"}) as r:
                answers.append((r.status, await r.json()))
    assert answers[0] == answers[1]
    assert answers[0][1]["results"] == [{"error": "UNKNOWN_ACCOUNT"}]
    rows = await stored_rows(b)
    assert rows[0] == 1


async def test_bad_items_are_answered_one_by_one_and_blocked_ones_leave_no_trace(
        pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    await _block(b, "mallory@a.test")
    business = b.config.business_address
    items = [
        {"kind": "receipt", "by": "carl@a.test", "to": "bob@b.test"},  # no message_id
        {"kind": "receipt", "receipt": "read-forged", "message_id": "m1", "by": "carl@a.test",
         "device": "D", "to": business, "ts": 1},
        {"kind": "message", "message_id": "m2", "sender": "mallory@a.test",
         "sender_device": "DEV", "to": business, "ts": 4102444800000,
         "envelopes": {"X": "QUFB"}},
        {"kind": "message", "message_id": "m3", "sender": "carl@a.test",
         "sender_device": "DEV", "to": business, "ts": 1, "envelopes": {}},
        {"kind": "message", "message_id": {"x": 1}, "sender": "carl@a.test",
         "sender_device": "DEV", "to": business, "ts": 1, "envelopes": {"X": "QUFB"}},
    ]
    body = json.dumps({"items": items}).encode()
    async with aiohttp.ClientSession() as http, http.put(
            b.url + PATH + "mixed", data=body,
            headers={**signed(a, "mixed", body), "Host": "b.test"}) as r:
        assert r.status == 200
        results = (await r.json())["results"]
    assert [x.get("error") for x in results] == [
        "INVALID_ITEM", "INVALID_ITEM", "BLOCKED", "INVALID_ITEM", "INVALID_ITEM"]
    conversations = await b.app[DB].read(lambda db: db.execute(
        "SELECT COUNT(*) FROM biz_conversations").fetchone()[0])
    assert conversations == 0, "a blocked sender gets no conversation"
    huge = b'{"items": ' + b"1" * 5000 + b"}"
    assert await put(b, "huge", huge, signed(a, "huge", huge)) == (400, "INVALID_JSON")


async def _block(node: RunningNode, target: str) -> None:
    admin = Requester(node.config.business_address, "x", 0, "admin")
    await blocking.block(node.app[BUSINESS], admin, target, "spam")


async def test_an_author_whose_server_differs_only_by_case_is_an_invalid_item(
        pair: tuple[RunningNode, RunningNode]) -> None:
    """Addresses have one spelling, lower case: such an item is refused on its own (the
    transaction is not refused as SENDER_NOT_ON_ORIGIN) and nothing of it is stored."""
    a, b = pair
    business = b.config.business_address
    items = [{"kind": "message", "message_id": f"m{i}", "sender": sender,
              "sender_device": "DEV", "to": business, "ts": 1, "envelopes": {"X": "QUFB"}}
             for i, sender in enumerate(("carl@A.test", "Carl@a.test"))]
    body = json.dumps({"items": items}).encode()
    async with aiohttp.ClientSession() as http, http.put(
            b.url + PATH + "cased", data=body,
            headers={**signed(a, "cased", body), "Host": "b.test"}) as r:
        assert r.status == 200
        results = (await r.json())["results"]
    assert [x["error"] for x in results] == ["INVALID_ITEM", "INVALID_ITEM"]
    assert "lower case" in results[0]["message"]
    assert (await stored_rows(b))[1] == 0


async def test_a_blocked_server_is_refused_every_signed_request(
        pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    await _block(b, "a.test")
    body = json.dumps(transaction()).encode()
    assert await put(b, "t-blocked", body, signed(a, "t-blocked", body)) == (403, "BLOCKED")
    key = load_key(key_path(a.config.data_dir))
    path = "/_kontor/federation/v1/devices/bob@b.test"
    headers = sign_kontor_request("GET", f"http://b.test{path}", b"", "a.test", "b.test",
                                  key.key_id, key.sign, int(time.time()))
    async with aiohttp.ClientSession() as http, http.get(
            b.url + path, headers={**headers, "Host": "b.test"}) as r:
        assert (r.status, (await r.json())["error"]["code"]) == (403, "BLOCKED")
    assert await stored_rows(b) == (0, 0, 0)


async def test_the_receiver_rebuilds_target_uri_with_its_public_url_scheme(
        tmp_path: Path) -> None:
    """A node behind a TLS proxy (public_url https, plain HTTP listener) verifies the
    https URI its peers sign, and refuses one signed with http."""
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            a = await stack.enter_async_context(running_node(node_config(dns, tmp_path, "a")))
            b = await stack.enter_async_context(running_node(node_config(
                dns, tmp_path, "b", {"node": {"public_url": "https://b.test"}})))
            key = load_key(key_path(a.config.data_dir))
            path = "/_kontor/federation/v1/devices/bob@b.test"
            listener = f"http://127.0.0.1:{b.config.http.listen_port}"  # the proxy's side
            answers = []
            for scheme in ("https", "http"):
                headers = sign_kontor_request("GET", f"{scheme}://b.test{path}", b"",
                                              "a.test", "b.test", key.key_id, key.sign,
                                              int(time.time()))
                async with aiohttp.ClientSession() as http, http.get(
                        listener + path, headers={**headers, "Host": "b.test"}) as r:
                    data = await r.json()
                    answers.append((r.status, data.get("error", {}).get("code")))
    assert answers == [(404, "UNKNOWN_ACCOUNT"), (401, "BAD_SIGNATURE")]
