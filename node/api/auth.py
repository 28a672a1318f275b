"""Who is calling: bearer tokens and rate limits for the client API."""

from __future__ import annotations

from aiohttp import web

from node.appkeys import ACCOUNT_LIMITER, ADDRESS_LIMITER, DB
from node.errors import Unauthorized
from node.services import accounts
from node.services.accounts import Requester

MAX_TOKEN_LENGTH = 256


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


def limit_address(request: web.Request) -> None:
    """Count the request against its client address."""
    request.app[ADDRESS_LIMITER].check(client_address(request), "address")


async def requester(request: web.Request) -> Requester:
    """The authenticated device of the request; 401 without a valid token."""
    limit_address(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("this route needs an Authorization: Bearer <access token> header",
                           code="MISSING_TOKEN")
    token = token.strip()
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("unknown or revoked access token; log in again",
                           code="UNKNOWN_TOKEN")
    who = await accounts.authenticate(request.app[DB], token)
    request.app[ACCOUNT_LIMITER].check(who.address, "account")
    return who
