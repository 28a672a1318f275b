"""Web chat guests against a real node on loopback: the proof-of-work challenge, guest
creation, its limits, setting a password, and the removal of idle guests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from crypto.encoding import b64decode, b64encode
from node.appkeys import AUTOMATION, BUSINESS, DB, GUESTS
from node.services import guest_challenge as pow_
from node.services import guests
from node.services.accounts import now_ms
from node.storage import accounts as account_store
from tests.api.helpers import call
from tests.nodes import RunningNode, running_node, write_config

GUEST_RE = re.compile(r"^guest-[a-z2-7]{12}@localhost:\d+$")


def _ini(tmp_path: Path, **webchat: Any) -> Path:
    values = {"enabled": "true", "pow_difficulty": 8, **webchat}
    return write_config(tmp_path / "node", sections={"webchat": values})


@pytest.fixture
async def guest_node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    async with running_node(_ini(tmp_path)) as running:
        yield running


async def challenge(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    status, body = await call(http, base, "POST", "/guest/challenge", body={})
    assert status == 200, body
    return body


def solve(doc: dict[str, Any]) -> str:
    return b64encode(pow_.solve(b64decode(doc["challenge"]), doc["difficulty"]))


async def new_guest(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    doc = await challenge(http, base)
    status, body = await call(http, base, "POST", "/guest/register", body={
        "challenge": doc["challenge"], "nonce": solve(doc), "device_name": "Chromium"})
    assert status == 200, body
    return body


async def test_a_guest_is_made_from_a_proof_and_each_challenge_works_once(
        guest_node: RunningNode, http: aiohttp.ClientSession) -> None:
    base = guest_node.url
    doc = await challenge(http, base)
    assert doc["difficulty"] == 8 and doc["expires_ms"] > now_ms()
    assert len(b64decode(doc["challenge"])) == pow_.LENGTH
    body = {"challenge": doc["challenge"], "nonce": solve(doc), "device_name": "Chromium"}
    status, guest = await call(http, base, "POST", "/guest/register", body=body)
    assert status == 200, guest
    assert GUEST_RE.match(guest["address"]) and guest["role"] == "customer"
    assert guest["guest"] is True
    status, info = await call(http, base, "GET", "/account", guest["access_token"])
    assert status == 200
    assert (info["address"], info["guest"], info["has_password"]) == (
        guest["address"], True, False)
    assert [d["name"] for d in info["devices"]] == ["Chromium"]
    status, again = await call(http, base, "POST", "/guest/register", body=body)
    assert (status, again["error"]["code"]) == (409, "CHALLENGE_USED")
    second = await new_guest(http, base)
    assert second["address"] != guest["address"]


async def test_bad_challenges_and_proofs_are_refused_and_create_nothing(
        guest_node: RunningNode, http: aiohttp.ClientSession) -> None:
    base, app = guest_node.url, guest_node.app
    doc = await challenge(http, base)
    raw = b64decode(doc["challenge"])
    nonce = pow_.solve(raw, doc["difficulty"])
    wrong = next(n.to_bytes(2, "big") for n in range(1000)
                 if not pow_.proof_ok(raw, n.to_bytes(2, "big"), doc["difficulty"]))
    easier = raw[:1] + bytes([1]) + raw[2:]  # the difficulty is under the MAC
    other_node = pow_.make(b"\x01" * 32, app[GUESTS].config.node.server_name, 8, now_ms())[0]
    expired = pow_.make(app[GUESTS].secret, app[GUESTS].config.node.server_name, 8,
                        now_ms() - pow_.TTL_MS - 1000)[0]
    cases = [
        ({"challenge": doc["challenge"], "nonce": b64encode(wrong)}, "INVALID_PROOF"),
        ({"challenge": b64encode(easier), "nonce": b64encode(nonce)}, "INVALID_CHALLENGE"),
        ({"challenge": b64encode(other_node), "nonce": "AA"}, "INVALID_CHALLENGE"),
        ({"challenge": b64encode(expired), "nonce": b64encode(pow_.solve(expired, 8))},
         "CHALLENGE_EXPIRED"),
        ({"challenge": doc["challenge"][:-4], "nonce": b64encode(nonce)}, "INVALID_CHALLENGE"),
        ({"challenge": doc["challenge"], "nonce": "A" * 44}, "INVALID_PARAMETER"),
        ({"challenge": doc["challenge"], "nonce": ""}, "INVALID_PARAMETER"),
        ({"challenge": doc["challenge"], "nonce": "not base64!"}, "INVALID_PARAMETER"),
        ({"challenge": doc["challenge"]}, "MISSING_FIELD"),
        ({"challenge": 7, "nonce": b64encode(nonce)}, "INVALID_PARAMETER"),
    ]
    for body, code in cases:
        status, answer = await call(http, base, "POST", "/guest/register", body=body)
        assert (status, answer["error"]["code"]) == (400, code), body
    assert await app[DB].read(account_store.live_guest_count) == 0
    status, guest = await call(http, base, "POST", "/guest/register", body={
        "challenge": doc["challenge"], "nonce": b64encode(nonce)})
    assert status == 200, guest  # the refusals used nothing up


async def test_webchat_off_refuses_guests(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    ini = write_config(tmp_path / "node")
    async with running_node(ini) as node:
        for path in ("/guest/challenge", "/guest/register"):
            status, body = await call(http, node.url, "POST", path, body={})
            assert (status, body["error"]["code"]) == (403, "WEBCHAT_DISABLED"), path
        assert await node.app[DB].read(account_store.live_guest_count) == 0


async def test_mass_sign_ups_from_one_address_are_limited(
        tmp_path: Path, http: aiohttp.ClientSession) -> None:
    ini = _ini(tmp_path, guests_per_address_hour=2, guests_per_address_day=3)
    async with running_node(ini) as node:
        doc = await challenge(http, node.url)  # handed out before the limit was reached
        for _ in range(2):
            await new_guest(http, node.url)
        for path, body in (("/guest/challenge", {}),
                           ("/guest/register", {"challenge": doc["challenge"],
                                                "nonce": solve(doc)})):
            async with http.post(node.url + "/_kontor/client/v1" + path, json=body) as r:
                answer = await r.json()
                assert r.status == 429, answer
                assert answer["error"]["code"] == "GUEST_LIMIT"
                assert answer["error"]["scope"] == "hour"
                assert 3500 <= int(r.headers["Retry-After"]) <= 3600
        assert await node.app[DB].read(account_store.live_guest_count) == 2


async def test_the_node_takes_at_most_max_guests_without_a_password(
        tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running_node(_ini(tmp_path, max_guests=1)) as node:
        first = await new_guest(http, node.url)
        status, body = await call(http, node.url, "POST", "/guest/challenge", body={})
        assert (status, body["error"]["code"], body["error"]["scope"]) == (
            429, "GUEST_LIMIT", "node")
        status, _ = await call(http, node.url, "POST", "/account/password",
                               first["access_token"], {"password": "a long password"})
        assert status == 200
        await new_guest(http, node.url)  # a guest with a password no longer counts


async def test_a_guest_sets_a_password_and_logs_in_elsewhere_under_the_same_address(
        guest_node: RunningNode, http: aiohttp.ClientSession) -> None:
    base = guest_node.url
    guest = await new_guest(http, base)
    token = guest["access_token"]
    status, body = await call(http, base, "POST", "/account/password", token,
                              {"password": "short"})
    assert (status, body["error"]["code"]) == (400, "WEAK_PASSWORD")
    status, _ = await call(http, base, "POST", "/account/password", token,
                           {"password": "my first password"})
    assert status == 200
    status, info = await call(http, base, "GET", "/account", token)
    assert (info["guest"], info["has_password"]) == (True, True)
    status, other = await call(http, base, "POST", "/login", body={
        "username": guest["address"], "password": "my first password",
        "device_name": "phone"})
    assert status == 200 and other["address"] == guest["address"]
    status, body = await call(http, base, "POST", "/account/password", token,
                              {"password": "a second password"})
    assert (status, body["error"]["code"]) == (401, "INVALID_CREDENTIALS")
    status, _ = await call(http, base, "POST", "/account/password", token,
                           {"password": "a second password",
                            "old_password": "my first password"})
    assert status == 200
    status, body = await call(http, base, "POST", "/login", body={
        "username": guest["address"], "password": "my first password"})
    assert status == 401


async def test_the_guest_prefix_cannot_be_registered(
        tmp_path: Path, http: aiohttp.ClientSession) -> None:
    ini = write_config(tmp_path / "node", sections={"accounts": {"registration": "open"}})
    async with running_node(ini) as node:
        status, body = await call(http, node.url, "POST", "/register", body={
            "username": "guest-abcdefghijkl", "password": "a long password"})
        assert (status, body["error"]["code"]) == (400, "INVALID_USERNAME")


async def test_idle_guests_are_removed_with_their_data_a_bounded_batch_at_a_time(
        guest_node: RunningNode, http: aiohttp.ClientSession) -> None:
    app, base = guest_node.app, guest_node.url
    idle = [await new_guest(http, base) for _ in range(3)]
    kept = idle.pop()
    status, _ = await call(http, base, "POST", "/account/password", kept["access_token"],
                           {"password": "keep me please"})
    assert status == 200
    g, biz, forget = app[GUESTS], app[BUSINESS], app[AUTOMATION].forget
    days = g.config.webchat.guest_expiry_days
    assert await guests.expire_tick(g, biz, forget, now=now_ms() + (days - 1) * 86400_000) == 0
    later = now_ms() + (days + 1) * 86400_000
    assert await guests.expire_tick(g, biz, forget, now=later, batch=1) == 1
    assert await guests.expire_tick(g, biz, forget, now=later, batch=10) == 1
    assert await guests.expire_tick(g, biz, forget, now=later, batch=10) == 0
    for guest in idle:
        assert await app[DB].read(account_store.get_account, guest["address"]) is None
        status, body = await call(http, base, "GET", "/account", guest["access_token"])
        assert (status, body["error"]["code"]) == (401, "DEVICE_REVOKED")
    status, info = await call(http, base, "GET", "/account", kept["access_token"])
    assert status == 200 and info["guest"] is True


async def test_the_default_difficulty_is_enforced(tmp_path: Path,
                                                  http: aiohttp.ClientSession) -> None:
    ini = write_config(tmp_path / "node", sections={"webchat": {"enabled": "true"}})
    async with running_node(ini) as node:
        doc = await challenge(http, node.url)
        assert doc["difficulty"] == 17
        raw = b64decode(doc["challenge"])
        weak = next(n.to_bytes(4, "big") for n in range(1 << 20)
                    if pow_.leading_zero_bits(hashlib.sha256(
                        raw + n.to_bytes(4, "big")).digest()) in range(8, 17))
        status, body = await call(http, node.url, "POST", "/guest/register", body={
            "challenge": doc["challenge"], "nonce": b64encode(weak)})
        assert (status, body["error"]["code"]) == (400, "INVALID_PROOF")
        status, body = await call(http, node.url, "POST", "/guest/register", body={
            "challenge": doc["challenge"], "nonce": solve(doc)})
        assert status == 200, body
