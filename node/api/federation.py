"""Federation API: what other nodes call. Every route but the key document requires an
RFC 9421 signature from the origin node (``node.api.fedauth``, which also read the body
within its limit); transactions go to ``node.services.inbound``."""

from __future__ import annotations

import re

from aiohttp import web

from node.api.fedauth import verified_origin
from node.api.parsing import field, parse_json_bytes
from node.appkeys import CONFIG, FEDERATION, KEYS
from node.errors import InvalidJson, InvalidParameter, NotFound
from node.services import inbound, keys
from node.services.accounts import parse_address

PREFIX = "/_kontor/federation/v1"
TXN_ID_RE = re.compile(r"^[A-Za-z0-9._~-]{1,64}\Z")
routes = web.RouteTableDef()


@routes.get(PREFIX + "/keys", name="federation.keys")
async def key_document(request: web.Request) -> web.Response:
    return web.json_response(await request.app[FEDERATION].own_key_document())


def _local_address(request: web.Request, address: str) -> str:
    if parse_address(address).server != request.app[CONFIG].node.server_name:
        raise NotFound(f"{address} is not an account of this node", code="UNKNOWN_ACCOUNT")
    return address


@routes.get(PREFIX + "/devices/{address}", name="federation.devices")
async def devices(request: web.Request) -> web.Response:
    verified_origin(request)
    address = _local_address(request, request.match_info["address"])
    return web.json_response(await keys.device_list(request.app[KEYS], address))


@routes.post(PREFIX + "/claim", name="federation.claim")
async def claim(request: web.Request) -> web.Response:
    origin = verified_origin(request)
    body = _object(origin.body)
    address = _local_address(request, field(body, "address", str, max_len=320))
    device_ids = field(body, "device_ids", list, required=False, max_len=100)
    if device_ids is not None and not all(isinstance(d, str) for d in device_ids):
        raise InvalidParameter("device_ids must be a list of strings")
    return web.json_response(await keys.claim(request.app[KEYS], address, device_ids))


@routes.put(PREFIX + "/send/{txn_id}", name="federation.send")
async def send(request: web.Request) -> web.Response:
    origin = verified_origin(request)
    txn_id = request.match_info["txn_id"]
    if not TXN_ID_RE.match(txn_id):
        raise InvalidParameter("txn_id is 1-64 characters of A-Z a-z 0-9 . _ ~ -",
                               code="INVALID_TXN_ID")
    body = _object(origin.body, check_text=False)  # items are checked one by one
    return web.json_response(await inbound.receive_transaction(
        request.app[FEDERATION].inbound, origin.server_name, txn_id, body))


def _object(raw: bytes, check_text: bool = True) -> dict:
    body = parse_json_bytes(raw, check_text=check_text)
    if not isinstance(body, dict):
        raise InvalidJson("the body must be a JSON object")
    return body
