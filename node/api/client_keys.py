"""Client API: device keys, device lists and one-time prekey claims."""

from __future__ import annotations

from aiohttp import web

from node.api.auth import requester
from node.api.parsing import field, read_json_object
from node.appkeys import KEYS, ROUTER
from node.errors import InvalidParameter
from node.services import keys, routing
from node.services.accounts import split_address

PREFIX = "/_kontor/client/v1"
routes = web.RouteTableDef()


@routes.put(PREFIX + "/keys", name="client.keys.upload")
async def upload(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await read_json_object(request)
    for name in ("device_keys", "signed_prekey"):
        field(body, name, dict, required=False)
    field(body, "one_time_prekeys", list, required=False)
    return web.json_response(await keys.upload(request.app[KEYS], who, body))


@routes.get(PREFIX + "/keys/count", name="client.keys.count")
async def count(request: web.Request) -> web.Response:
    who = await requester(request)
    return web.json_response(await keys.count(request.app[KEYS], who))


@routes.get(PREFIX + "/keys/devices/{address}", name="client.keys.devices")
async def devices(request: web.Request) -> web.Response:
    await requester(request)
    address = request.match_info["address"]
    split_address(address)
    return web.json_response(await routing.devices(request.app[ROUTER], address))


@routes.post(PREFIX + "/keys/claim", name="client.keys.claim")
async def claim(request: web.Request) -> web.Response:
    await requester(request)
    body = await read_json_object(request)
    address = field(body, "address", str, max_len=320)
    split_address(address)
    device_ids = field(body, "device_ids", list, required=False, max_len=100)
    if device_ids is not None and not all(isinstance(d, str) for d in device_ids):
        raise InvalidParameter("device_ids must be a list of strings")
    return web.json_response(await routing.claim(request.app[ROUTER], address, device_ids))
