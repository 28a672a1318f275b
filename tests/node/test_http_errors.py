"""Bad requests get a JSON 4xx with a code; nothing produces a traceback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from node.api.parsing import read_json_object
from tests.nodes import running_node


async def echo(request: web.Request) -> web.Response:
    return web.json_response(await read_json_object(request))


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("secret-internal-detail")


def add_test_routes(app: web.Application) -> None:
    app.router.add_post("/test/echo", echo)
    app.router.add_get("/test/boom", boom)


@pytest.fixture
async def node(node_ini: Path) -> AsyncIterator[str]:
    async with running_node(node_ini, add_test_routes) as running:
        yield running.url


async def post(url: str, data: bytes, content_type: str = "application/json",
               chunked: bool = False) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        payload: object = data
        if chunked:
            async def gen() -> AsyncIterator[bytes]:
                for i in range(0, len(data), 65536):
                    yield data[i:i + 65536]
            payload = gen()
        async with http.post(url, data=payload, headers={"Content-Type": content_type}) as r:
            return r.status, await r.json()


@pytest.mark.parametrize("body,status,code", [
    (b'{"a": 1', 400, "INVALID_JSON"),
    (b'{"a": 1, "a": 2}', 400, "INVALID_JSON"),
    (b'{"a": NaN}', 400, "INVALID_JSON"),
    (b'[1, 2]', 400, "INVALID_JSON"),
    (b'\xff\xfe', 400, "INVALID_JSON"),
    (b'[' * 100 + b']' * 100, 400, "INVALID_JSON"),
])
async def test_malformed_json(node: str, body: bytes, status: int, code: str) -> None:
    got_status, got = await post(node + "/test/echo", body)
    assert (got_status, got["error"]["code"]) == (status, code)
    assert got["error"]["message"]


async def test_wrong_content_type(node: str) -> None:
    status, body = await post(node + "/test/echo", b'{"a": 1}', "text/plain")
    assert status == 415 and body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize("chunked", [False, True])
async def test_oversize_body(node: str, chunked: bool) -> None:
    big = b'{"a": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    status, body = await post(node + "/test/echo", big, chunked=chunked)
    assert status == 413 and body["error"]["code"] == "TOO_LARGE"


async def test_valid_body_round_trips(node: str) -> None:
    status, body = await post(node + "/test/echo", b'{"a": [1, "two"]}')
    assert status == 200 and body == {"a": [1, "two"]}


async def test_unknown_route_and_internal_error_are_json(node: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(node + "/no/such/route") as r:
            assert r.status == 404
            assert (await r.json())["error"]["code"] == "UNKNOWN_ROUTE"
        async with http.get(node + "/test/boom") as r:
            assert r.status == 500
            text = await r.text()
    assert "Traceback" not in text and "secret-internal-detail" not in text
    assert "INTERNAL" in text
