"""Strings that are not Unicode text, and names with control or bidi characters, get a
4xx on every client route (found by walking the served OpenAPI document), never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from node.api.parsing import parse_json_bytes
from node.appkeys import BUSINESS
from node.services.business import automation
from tests.api.helpers import PREFIX, call, register
from tests.api.test_openapi_and_auth import concrete
from tests.business.helpers import team_member
from tests.nodes import RunningNode, running_node, write_config

SURROGATE = "\ud800"
UNREADABLE = ("a\x00b", "x\u202eevil", "\x1b[31m")


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    ini = write_config(tmp_path / "node", sections={
        "accounts": {"registration": "open"}, "business": {"account": "shop"}})
    async with running_node(ini) as running:
        yield running


def one_field(schema: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    """``schema``'s object with plain values, but ``value`` everywhere in ``name``."""
    props = schema.get("properties") or {}
    doc = filled(schema, "x")
    if isinstance(doc, dict):
        doc.pop("x", None)
        doc[name] = filled(props.get(name, {"type": "string"}), value)
    return doc


def filled(schema: dict[str, Any], value: str, depth: int = 0) -> Any:
    """A document of ``schema``'s shape with ``value`` in every string (and as a key)."""
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        out = {name: filled(sub, value, depth + 1) for name, sub in props.items()}
        if not props or schema.get("additionalProperties"):
            out[value] = value
        return out
    if kind == "array":
        return [filled(schema.get("items") or {"type": "string"}, value, depth + 1)]
    if kind == "integer":
        return 1
    if kind == "boolean":
        return True
    return value


async def raw(http: aiohttp.ClientSession, method: str, url: str, token: str | None,
              body: Any) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode()  # ensure_ascii: "\ud800" travels as valid JSON
    async with http.request(method, url, data=data, headers=headers) as r:
        payload = await r.json() if r.content_type == "application/json" else None
        return r.status, payload


async def documented_routes(node: RunningNode, http: aiohttp.ClientSession
                            ) -> list[tuple[str, str, dict[str, Any]]]:
    status, doc = await call(http, node.url, "GET", "/openapi.json")
    assert status == 200
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            out.append((method, path, schema))
    assert len(out) > 30, "the walk covers the documented routes"
    return out


async def test_no_route_answers_500_to_invalid_text(node: RunningNode,
                                                    http: aiohttp.ClientSession) -> None:
    admin = await team_member(node, http, "boss", role="admin")
    customer = await register(http, node.url, "carl")
    routes = await documented_routes(node, http)
    checked = 0
    for method, path, schema in routes:
        if path.endswith("/logout") or path.endswith("/ws"):
            continue  # would end the sessions the walk uses; covered elsewhere
        url = node.url + concrete(path)
        for token in (admin["access_token"], customer["access_token"]):
            if schema is not None:
                status, body = await raw(http, method, url, token, filled(schema, SURROGATE))
                assert status != 500, (method, path, body)
                if status == 400:
                    assert body["error"]["code"] == "INVALID_TEXT", (method, path, body)
                    assert body["error"]["field"], (method, path, body)
                    checked += 1
                for bad in UNREADABLE:
                    status, body = await raw(http, method, url, token, filled(schema, bad))
                    assert status < 500, (method, path, bad, body)
                for name in schema.get("properties") or {}:
                    for bad in (SURROGATE, *UNREADABLE):
                        status, body = await raw(http, method, url, token,
                                                 one_field(schema, name, bad))
                        assert status < 500, (method, path, name, bad, body)
            for bad in (SURROGATE, *UNREADABLE):
                odd = url.rsplit("/", 1)[0] + "/" + quote(bad, errors="surrogatepass") \
                    if "{" in path else url + "?since=" + quote(bad, errors="surrogatepass")
                status, body = await raw(http, method, odd, token, {})
                assert status < 500, (method, odd, body)
    assert checked > 20, "the JSON layer refused the surrogate on the routes with bodies"


async def test_device_name_and_names_refuse_control_and_bidi(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    for bad in (SURROGATE, *UNREADABLE):
        status, body = await call(http, node.url, "POST", "/register", body={
            "username": "dora", "password": "correct horse battery", "device_name": bad})
        assert status == 400 and body["error"]["code"] == "INVALID_TEXT", (bad, body)
    admin = await team_member(node, http, "boss", role="admin")
    status, body = await call(http, node.url, "POST", "/business/labels",
                              admin["access_token"], {"name": "VIP\u202e", "color": "#000000"})
    assert status == 400 and body["error"]["code"] == "INVALID_TEXT", body
    assert body["error"]["field"] == "name"


async def test_a_greeting_with_invalid_text_is_refused_at_save(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    admin = await team_member(node, http, "boss", role="admin")
    status, body = await raw(http, "PUT", node.url + PREFIX + "/business/automation",
                             admin["access_token"], {"greeting": {"text": "Hi" + SURROGATE}})
    assert status == 400 and body["error"]["code"] == "INVALID_TEXT", body
    # The service refuses it too (the CLI path: argv can carry surrogates).
    with pytest.raises(Exception) as refused:
        automation.check_changes({"greeting": {"text": "Hi" + SURROGATE}})
    assert getattr(refused.value, "code", "") == "INVALID_TEXT"
    settings = await node.app[BUSINESS].db.read(automation.settings_of)
    assert settings["greeting"]["text"] == ""


@pytest.mark.parametrize("raw, code", [
    (b'{"a": "\\ud800"}', "INVALID_TEXT"),  # the escape of a lone surrogate
    (b'{"a": "x\\u00e9\\uDC00"}', "INVALID_TEXT"),  # upper-case hex, after another escape
    (b'{"\\udbff": 1}', "INVALID_TEXT"),  # in a key
    (b'{"a": "\xed\xa0\x80"}', "INVALID_JSON"),  # an encoded surrogate: not UTF-8
])
def test_a_body_that_could_hold_a_surrogate_is_looked_at(raw: bytes, code: str) -> None:
    """Only a \\u escape can bring a lone surrogate into a body decoded as strict UTF-8,
    so a body without one is not scanned; every way in is still refused."""
    with pytest.raises(Exception) as refused:
        parse_json_bytes(raw)
    assert getattr(refused.value, "code", "") == code


def test_an_escaped_backslash_before_u_is_text() -> None:
    assert parse_json_bytes(b'{"a": "\\\\ud800", "b": "\\u00e9"}') == \
        {"a": "\\ud800", "b": "\u00e9"}
