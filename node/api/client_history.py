"""Client API: sealed history (``node.services.history``): the history key's epochs and
holders, giving keys to a device, and storing and paging sealed copies."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from node.api.auth import requester
from node.api.parsing import field, read_json_object
from node.appkeys import HISTORY
from node.errors import InvalidParameter
from node.services import history
from node.services.accounts import split_address

PREFIX = "/_kontor/client/v1/history"
routes = web.RouteTableDef()

ID_RE = re.compile(r"^[A-Za-z0-9._~:-]{1,64}\Z")
B64_RE = re.compile(r"^[A-Za-z0-9_-]+\Z")
CURSOR_RE = re.compile(r"^([0-9]{1,16})\.([A-Za-z0-9._~:-]{1,64})\Z")
MAX_SEALED = 88 * 1024  # base64url of a 64 KiB record, padded, with its 45-byte overhead
MAX_KEYS_MESSAGE = 64 * 1024


def _epoch(value: Any, name: str = "epoch") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**32:
        raise InvalidParameter(f"{name} must be a whole number from 1 to 2^32-1")
    return value


@routes.get(PREFIX, name="client.history.state")
async def state(request: web.Request) -> web.Response:
    who = await requester(request)
    return web.json_response(await history.state(request.app[HISTORY], who))


@routes.get(PREFIX + "/devices", name="client.history.devices")
async def devices(request: web.Request) -> web.Response:
    who = await requester(request)
    return web.json_response(await history.devices(request.app[HISTORY], who))


@routes.post(PREFIX + "/epochs", name="client.history.epochs")
async def start_epoch(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await read_json_object(request)
    epoch = _epoch(field(body, "epoch", int))
    return web.json_response(await history.start_epoch(request.app[HISTORY], who, epoch))


@routes.post(PREFIX + "/keys", name="client.history.keys")
async def give_keys(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await read_json_object(request)
    device_id = field(body, "device_id", str, max_len=64)
    epochs = field(body, "epochs", list, max_len=10_000)
    ciphertext = field(body, "ciphertext", str, max_len=MAX_KEYS_MESSAGE)
    if not B64_RE.match(ciphertext):
        raise InvalidParameter("ciphertext is unpadded base64url")
    checked = [_epoch(e, "epochs[]") for e in epochs]
    answer = await history.give_keys(request.app[HISTORY], who, device_id, checked,
                                     ciphertext)
    return web.json_response(answer)


def _item(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidParameter("every item is an object")
    item = {"item_id": field(raw, "item_id", str, max_len=64),
            "conversation": field(raw, "conversation", str, max_len=320),
            "ts": field(raw, "ts", int), "epoch": _epoch(field(raw, "epoch", int)),
            "sealed": field(raw, "sealed", str, max_len=MAX_SEALED)}
    if not ID_RE.match(item["item_id"]) or not B64_RE.match(item["sealed"]):
        raise InvalidParameter("item_id is 1-64 of A-Z a-z 0-9 . _ ~ : -; sealed is "
                               "unpadded base64url")
    split_address(item["conversation"])
    if not 0 <= item["ts"] < 2**53:
        raise InvalidParameter("ts is a time in ms")
    return item


@routes.put(PREFIX + "/items", name="client.history.put")
async def put_items(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await read_json_object(request)
    raw = field(body, "items", list)
    if not 0 < len(raw) <= history.MAX_ITEMS_PER_PUT:
        raise InvalidParameter(f"items holds 1 to {history.MAX_ITEMS_PER_PUT} copies")
    items = [_item(i) for i in raw]
    return web.json_response(await history.put_items(request.app[HISTORY], who, items))


@routes.get(PREFIX + "/items", name="client.history.items")
async def list_items(request: web.Request) -> web.Response:
    who = await requester(request)
    conversation = request.query.get("conversation")
    if conversation is not None:
        split_address(conversation)
    raw_before = request.query.get("before")
    before = None
    if raw_before is not None:
        match = CURSOR_RE.match(raw_before)
        if match is None:
            raise InvalidParameter("before is the `next` of the previous page")
        before = (int(match.group(1)), match.group(2))
    raw_limit = request.query.get("limit", "100")
    if not re.fullmatch(r"[0-9]{1,3}", raw_limit) or not 0 < int(raw_limit) <= \
            history.MAX_PAGE:
        raise InvalidParameter(f"limit is 1 to {history.MAX_PAGE}")
    answer = await history.items(request.app[HISTORY], who, conversation, before,
                                 int(raw_limit))
    return web.json_response(answer)
