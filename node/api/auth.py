"""Who is calling: bearer tokens and rate limits for the client API."""

from __future__ import annotations

from aiohttp import web

from node.appkeys import ACCOUNT_LIMITER, ACCOUNTS, ADDRESS_LIMITER
from node.errors import Unauthorized
from node.services import accounts
from node.services.accounts import Requester

MAX_TOKEN_LENGTH = 256
#: Browsers cannot set headers on a WebSocket: /ws also takes the token as the
#: subprotocol "kontor-bearer.<token>" beside WS_PROTOCOL, the one the node selects.
WS_PROTOCOL = "kontor.v1"
BEARER_PROTOCOL = "kontor-bearer."


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


def limit_address(request: web.Request) -> None:
    """Count the request against its client address."""
    request.app[ADDRESS_LIMITER].check(client_address(request), "address")


def _bearer_token(request: web.Request, from_protocol: bool) -> str | None:
    """The token of the Authorization header, else (WebSocket) of the subprotocol."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if from_protocol:
        for item in request.headers.get("Sec-WebSocket-Protocol", "").split(",")[:8]:
            item = item.strip()
            if item.startswith(BEARER_PROTOCOL) and len(item) > len(BEARER_PROTOCOL):
                return item[len(BEARER_PROTOCOL):]
    return None


async def requester(request: web.Request, *, from_protocol: bool = False) -> Requester:
    """The authenticated device of the request; 401 without a valid token.

    ``from_protocol``: also accept the token as a WebSocket subprotocol (see above)."""
    limit_address(request)
    token = _bearer_token(request, from_protocol)
    if token is None:
        raise Unauthorized("this route needs an Authorization: Bearer <access token> header",
                           code="MISSING_TOKEN")
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("unknown or revoked access token; log in again",
                           code="UNKNOWN_TOKEN")
    who = await accounts.authenticate(request.app[ACCOUNTS], token)
    request.app[ACCOUNT_LIMITER].check(who.address, "account")
    return who
