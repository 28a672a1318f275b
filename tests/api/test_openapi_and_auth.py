"""The OpenAPI document covers every client route, and every protected route refuses
requests without a valid token."""

from __future__ import annotations

import re

import aiohttp
import pytest

from node.api.openapi import ROUTES
from tests.api.helpers import PREFIX, call, register
from tests.nodes import RunningNode


async def test_every_client_route_is_documented(node: RunningNode,
                                                http: aiohttp.ClientSession) -> None:
    status, doc = await call(http, node.url, "GET", "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    served = set()
    for route in node.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith(PREFIX) and route.method != "HEAD":
            served.add((route.method.lower(), path))
    documented = {(method, PREFIX + path) for method, path, *_ in ROUTES}
    assert served - documented == set(), "routes missing from the OpenAPI document"
    assert documented - served == set(), "documented routes the node does not serve"
    for method, path in served:
        assert method in doc["paths"][path]


PROTECTED = [(m, p) for m, p, _, auth, *_ in ROUTES if auth]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: {"{address}": "x@y", "{txn_id}": "t1",
                                           "{media_id}": "A" * 43, "{label_id}": "1",
                                           "{shortcut}": "thanks", "{sku}": "sku-1",
                                           "{order_id}": "o-1",
                                           "{target}": "spam.example",
                                           "{server}": "x.example",
                                           "{document}": "profile", "{device_id}": "ABC",
                                           "{invite_id}": "0" * 16}[m.group(0)], path)


@pytest.mark.parametrize("method,path", PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
async def test_protected_routes_need_a_valid_token(node: RunningNode,
                                                   http: aiohttp.ClientSession,
                                                   method: str, path: str) -> None:
    url = node.url + PREFIX + concrete(path)
    async with http.request(method, url, json={}) as r:
        assert r.status == 401
        assert (await r.json())["error"]["code"] == "MISSING_TOKEN"
    for bad in ("Bearer nonsense-token", "Basic abc", "Bearer " + "x" * 1000):
        async with http.request(method, url, json={}, headers={"Authorization": bad}) as r:
            assert r.status == 401
            assert (await r.json())["error"]["code"] in ("UNKNOWN_TOKEN", "MISSING_TOKEN")


async def test_revoked_token_is_refused_everywhere(node: RunningNode,
                                                   http: aiohttp.ClientSession) -> None:
    session = await register(http, node.url, "gone")
    token = session["access_token"]
    assert (await call(http, node.url, "POST", "/logout", token, {}))[0] == 200
    for method, path in PROTECTED:
        status, _ = await call(http, node.url, method.upper(), concrete(path), token, {})
        assert status == 401, (method, path)
