"""The door of the federation API, its HTTP half: every request but the public
documents must carry a valid RFC 9421 signature from the origin node (docs/protocol.md,
"Request signatures").

This module reads what the request says (the origin its keyid claims, the body within
``[limits] max_body_bytes`` and ``[http] body_timeout_seconds``) and hands it to
``node.services.inbound.Inbound``, which decides each rule once: a denied origin is
refused before anything is read, the body is read and the signature checked in one of
the client address's places, then the proven origin's nonce, rate, block and
concurrency slot. The handler runs with ``request[ORIGIN]`` set.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from federation.signatures import KONTOR_LABEL, InvalidKeyId, parse_keyid
from federation.structfields import InnerList, StructuredFieldError, parse_dictionary
from node.api.parsing import read_limited
from node.appkeys import CONFIG, FEDERATION
from node.config import Config
from node.errors import BodyTimeout, NotFound, Unauthorized
from node.services import inbound as door

PREFIX = "/_kontor/federation/v1"
PUBLIC_ROUTES = frozenset({"federation.keys", "federation.profile", "federation.catalog"})
ORIGIN = web.RequestKey("federation_origin", object)


@dataclass(frozen=True)
class VerifiedOrigin:
    """A request whose origin proved itself: the origin's server name and the body."""

    server_name: str
    body: bytes


def verified_origin(request: web.Request) -> VerifiedOrigin:
    """The verified origin of a federation request (set by ``federation_auth``)."""
    origin = request.get(ORIGIN)
    if not isinstance(origin, VerifiedOrigin):
        raise Unauthorized("this route needs a signed federation request",
                           code="MISSING_SIGNATURE")
    return origin


def _claimed_origin(request: web.Request) -> str:
    """The origin named by the keyid of the ``kontor`` signature (checked again against
    the verified signature before the handler runs)."""
    header = request.headers.get("Signature-Input")
    if header is None:
        raise Unauthorized("sign federation requests (RFC 9421, see docs/protocol.md)",
                           code="MISSING_SIGNATURE")
    try:
        member = parse_dictionary(header).get(KONTOR_LABEL)
        keyid = member.params.get("keyid") if isinstance(member, InnerList) else None
        if isinstance(keyid, str):
            return parse_keyid(keyid)[0]
        problem = "no kontor signature with a keyid"
    except (StructuredFieldError, InvalidKeyId) as exc:
        problem = exc.message
    raise Unauthorized(f"malformed Signature-Input: {problem}", code="MALFORMED_SIGNATURE")


def target_uri(request: web.Request) -> str:
    """The URI the origin signed: our scheme and server name, then the raw path."""
    config = request.app[CONFIG]
    if config.node.public_url:
        scheme = config.node.public_url.partition("://")[0]
    else:
        scheme = "https" if config.tls.cert_file else "http"
    return f"{scheme}://{config.node.server_name}{request.raw_path}"


@web.middleware
async def federation_auth(request: web.Request, handler: Any) -> web.StreamResponse:
    """Verify signed federation requests before their handlers run."""
    if not request.path.startswith(PREFIX + "/"):
        return await handler(request)
    runtime = request.app.get(FEDERATION)
    if runtime is None:
        raise NotFound("federation is disabled on this node", code="FEDERATION_DISABLED")
    if request.match_info.route.name in PUBLIC_ROUTES:
        return await handler(request)
    inbound = runtime.inbound
    claimed = _claimed_origin(request)  # only to refuse early: it reserves nothing
    door.refuse_denied(inbound, claimed)
    with door.unverified_place(inbound, request.remote or "unknown"):
        body = await _read_body(request, request.app[CONFIG])
        verified = await door.authenticate(inbound, request.method, target_uri(request),
                                           request.headers, body)
    if verified.origin != claimed:  # cannot happen unless the parsers disagree
        raise Unauthorized("the signature's origin is not the one checked",
                           code="MALFORMED_SIGNATURE")
    async with door.admitted(inbound, verified.origin):
        request[ORIGIN] = VerifiedOrigin(verified.origin, body)
        return await handler(request)


async def _read_body(request: web.Request, config: Config) -> bytes:
    """The whole body, within the size limit and ``[http] body_timeout_seconds``."""
    seconds = config.http.body_timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            return await read_limited(request, config.limits.max_body_bytes)
    except TimeoutError:
        raise BodyTimeout(seconds, "the request body did not arrive whole within") from None
