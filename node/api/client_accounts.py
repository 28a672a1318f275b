"""Client API: registration, login, logout and the account's devices."""

from __future__ import annotations

import contextlib

from aiohttp import web

from node.api.auth import limit_address, requester
from node.api.parsing import field, name_field, read_json_object
from node.appkeys import ACCOUNTS, CONFIG, LOGIN_FAILURES, NOTIFIER
from node.errors import RateLimited, Unauthorized
from node.services import accounts

PREFIX = "/_kontor/client/v1"
routes = web.RouteTableDef()


@routes.post(PREFIX + "/register", name="client.register")
async def register(request: web.Request) -> web.Response:
    limit_address(request)
    config = request.app[CONFIG]
    body = await read_json_object(request)
    address = accounts.make_address(field(body, "username", str, max_len=320),
                                    config.node.server_name)
    password = field(body, "password", str, max_len=accounts.MAX_PASSWORD)
    invite = field(body, "invite", str, required=False, max_len=128)
    name = name_field(body, "device_name", 100)
    result = await accounts.register(request.app[ACCOUNTS], address, password, invite, name)
    return web.json_response(result)


@routes.post(PREFIX + "/login", name="client.login")
async def login(request: web.Request) -> web.Response:
    limit_address(request)
    body = await read_json_object(request)
    address = accounts.make_address(field(body, "username", str, max_len=320),
                                    request.app[CONFIG].node.server_name)
    password = field(body, "password", str, max_len=accounts.MAX_PASSWORD)
    name = name_field(body, "device_name", 100)
    failures = request.app[LOGIN_FAILURES]
    if failures.exhausted(address):  # guessing one account's password from many addresses
        raise RateLimited("too many wrong passwords for this account; wait a minute",
                          retry_after_ms=60_000)
    try:
        return web.json_response(await accounts.login(request.app[ACCOUNTS], address,
                                                      password, name))
    except Unauthorized:
        with contextlib.suppress(RateLimited):
            failures.check(address, "account")
        raise


@routes.post(PREFIX + "/logout", name="client.logout")
async def logout(request: web.Request) -> web.Response:
    who = await requester(request)
    await accounts.logout(request.app[ACCOUNTS], who)
    request.app[NOTIFIER].revoke([who.device_pk])
    return web.json_response({})


@routes.get(PREFIX + "/account", name="client.account")
async def account(request: web.Request) -> web.Response:
    who = await requester(request)
    return web.json_response(await accounts.account_info(request.app[ACCOUNTS], who))
