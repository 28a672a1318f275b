"""Client API: the web chat's guest accounts (proof-of-work challenge, creation) and
setting a password on one's own account."""

from __future__ import annotations

import contextlib

from aiohttp import web

from crypto.encoding import b64decode
from crypto.errors import EncodingError
from node.api.auth import client_address, limit_address, requester
from node.api.parsing import field, name_field, read_json_object
from node.appkeys import ACCOUNTS, GUESTS, LOGIN_FAILURES
from node.errors import InvalidParameter, RateLimited, Unauthorized
from node.services import accounts, guests
from node.services.guest_challenge import LENGTH, MAX_NONCE_BYTES

PREFIX = "/_kontor/client/v1"
MAX_BODY = 4096
routes = web.RouteTableDef()


def _bytes_field(body: dict[str, object], name: str, max_bytes: int) -> bytes:
    text = field(body, name, str, max_len=(max_bytes * 4 + 2) // 3)
    try:
        raw = b64decode(text)
    except EncodingError:
        raise InvalidParameter(f"field {name!r} must be unpadded base64url") from None
    if not raw:
        raise InvalidParameter(f"field {name!r} must not be empty")
    return raw


@routes.post(PREFIX + "/guest/challenge", name="client.guest.challenge")
async def challenge(request: web.Request) -> web.Response:
    limit_address(request)
    guests.require_enabled(request.app[GUESTS])
    await read_json_object(request, MAX_BODY)
    return web.json_response(await guests.challenge(request.app[GUESTS],
                                                    client_address(request)))


@routes.post(PREFIX + "/guest/register", name="client.guest.register")
async def register(request: web.Request) -> web.Response:
    limit_address(request)
    g = request.app[GUESTS]
    guests.require_enabled(g)  # before reading anything
    body = await read_json_object(request, MAX_BODY)
    raw = _bytes_field(body, "challenge", LENGTH)
    nonce = _bytes_field(body, "nonce", MAX_NONCE_BYTES)
    name = name_field(body, "device_name", 100)
    return web.json_response(await guests.register(g, client_address(request), raw, nonce,
                                                   name))


@routes.post(PREFIX + "/account/password", name="client.account.password")
async def set_password(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await read_json_object(request, MAX_BODY)
    password = field(body, "password", str, max_len=accounts.MAX_PASSWORD)
    old = field(body, "old_password", str, required=False, max_len=accounts.MAX_PASSWORD)
    failures = request.app[LOGIN_FAILURES]
    if failures.exhausted(who.address):
        raise RateLimited("too many wrong passwords for this account; wait a minute",
                          retry_after_ms=60_000)
    try:
        await accounts.change_password(request.app[ACCOUNTS], who, password, old)
    except Unauthorized:
        with contextlib.suppress(RateLimited):
            failures.check(who.address, "account")
        raise
    return web.json_response({})
