"""Device lists and one-time prekey claims, including concurrent claims."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.api.helpers import call, key_documents, keyed_device, register
from tests.nodes import RunningNode


async def test_concurrent_claims_never_share_a_prekey(node: RunningNode,
                                                      http: aiohttp.ClientSession) -> None:
    bob = await keyed_device(http, node.url, "bob", prekeys=40)
    claimers = [await register(http, node.url, f"c{i}") for i in range(4)]

    async def claim(token: str) -> str | None:
        status, body = await call(http, node.url, "POST", "/keys/claim", token,
                                  {"address": bob["address"]})
        assert status == 200, body
        [device] = body["devices"]
        otk = device["one_time_prekey"]
        return otk["key_id"] if otk else None

    results = await asyncio.gather(*[claim(c["access_token"]) for c in claimers
                                     for _ in range(15)])
    handed_out = [r for r in results if r is not None]
    assert len(handed_out) == 40, "every prekey is handed out"
    assert len(set(handed_out)) == 40, "no prekey is handed out twice"
    assert results.count(None) == 20, "exhausted devices are returned without one"
    status, count = await call(http, node.url, "GET", "/keys/count", bob["access_token"])
    assert count == {"one_time_prekeys": 0}


async def test_device_list_and_key_rules(node: RunningNode,
                                         http: aiohttp.ClientSession) -> None:
    anna = await keyed_device(http, node.url, "anna", prekeys=3)
    plain = await register(http, node.url, "nokeys")
    status, listing = await call(http, node.url, "GET", f"/keys/devices/{anna['address']}",
                                 plain["access_token"])
    assert status == 200
    [device] = listing["devices"]
    assert device["device_id"] == anna["device_id"]
    assert "one_time_prekey" not in device, "listing does not consume prekeys"
    status, own = await call(http, node.url, "GET", f"/keys/devices/{plain['address']}",
                             plain["access_token"])
    assert own["devices"] == [], "devices without keys are not listed"
    nobody = f"nobody@{node.config.node.server_name}"
    status, err = await call(http, node.url, "GET", f"/keys/devices/{nobody}",
                             plain["access_token"])
    assert status == 404 and err["error"]["code"] == "UNKNOWN_ACCOUNT"
    # Another account's identity cannot be uploaded under this device.
    status, err = await call(http, node.url, "PUT", "/keys", plain["access_token"], {
        "device_keys": {"address": anna["address"], "device_id": anna["device_id"]}})
    assert status == 400 and err["error"]["code"] == "INVALID_KEYS"
    status, err = await call(http, node.url, "PUT", "/keys", anna["access_token"], {
        "one_time_prekeys": [{"key_id": f"k{i}"} for i in range(201)]})
    assert status == 400 and err["error"]["code"] == "TOO_MANY_PREKEYS"


async def test_documents_with_bad_signatures_are_refused(node: RunningNode,
                                                         http: aiohttp.ClientSession) -> None:
    session = await register(http, node.url, "mallory")
    token = session["access_token"]
    docs = key_documents(session["address"], session["device_id"], 2)
    forged = {**docs["device_keys"], "keys": dict(docs["device_keys"]["keys"])}
    other = key_documents(session["address"], session["device_id"], 0)["device_keys"]
    x_key = f"x25519:{session['device_id']}"
    forged["keys"][x_key] = other["keys"][x_key]  # swap the X25519 key, keep the signature
    status, err = await call(http, node.url, "PUT", "/keys", token, {"device_keys": forged})
    assert status == 400 and err["error"]["code"] == "INVALID_KEYS"
    # Prekeys signed by another identity are refused, and nothing of the request is kept.
    foreign = key_documents(session["address"], session["device_id"], 2)
    status, err = await call(http, node.url, "PUT", "/keys", token, {
        "device_keys": docs["device_keys"], "signed_prekey": foreign["signed_prekey"]})
    assert status == 400 and err["error"]["code"] == "INVALID_KEYS"
    status, listing = await call(http, node.url, "GET", f"/keys/devices/{session['address']}",
                                 token)
    assert listing["devices"] == []
    status, err = await call(http, node.url, "PUT", "/keys", token, {
        **docs, "one_time_prekeys": foreign["one_time_prekeys"]})
    assert status == 400 and err["error"]["code"] == "INVALID_KEYS"
    status, ok = await call(http, node.url, "PUT", "/keys", token, docs)
    assert status == 200 and ok == {"one_time_prekeys": 2}
