"""The door of the federation API: every request but the public documents must carry a
valid RFC 9421 signature from the origin node (docs/protocol.md, "Request signatures").

Nothing a request merely claims reserves anything before its signature verifies: the
origin named by the keyid is used only to refuse a denied origin early. The body is read
(size limit, whole within ``[http] body_timeout_seconds``) and the signature checked in
one of ``[federation] max_unverified_per_address`` places of the *client address*. Then,
with the origin proven: its nonce, its rate limit, a block by the business, and one of
``max_inbound_per_origin`` slots of that origin for the handler. The origin's outbox
backoff is reset (it is evidently up) and the handler runs with ``request[ORIGIN]`` set.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from federation.keys import KeyLookupError
from federation.nonces import NonceCapacityError, ReplayError
from federation.policy import ServerPolicy
from federation.signatures import (
    KONTOR_LABEL,
    SignatureVerificationError,
    parse_keyid,
    verify_kontor_request,
)
from federation.structfields import InnerList, StructuredFieldError, parse_dictionary
from node.api.parsing import read_limited
from node.appkeys import CONFIG, DB, FEDERATION
from node.errors import (
    BadRequest,
    BodyTimeout,
    Forbidden,
    KontorError,
    NotFound,
    RateLimited,
    Unauthorized,
)
from node.storage import business as business_store

PREFIX = "/_kontor/federation/v1"
PUBLIC_ROUTES = frozenset({"federation.keys", "federation.profile", "federation.catalog"})
ORIGIN = web.RequestKey("federation_origin", object)
SLOT_WAIT_SECONDS = 10.0

# How each verification failure is answered.
STATUS = {
    "MISSING_SIGNATURE": 401, "MALFORMED_SIGNATURE": 401, "MISSING_COMPONENT": 401,
    "UNSUPPORTED_ALGORITHM": 401, "BAD_SIGNATURE": 401, "STALE_SIGNATURE": 401,
    "EXPIRED_SIGNATURE": 401, "UNKNOWN_KEY": 401, "MISSING_DIGEST": 400,
    "DIGEST_MISMATCH": 400, "UNSUPPORTED_DIGEST": 400, "WRONG_DESTINATION": 421,
}


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
        if not isinstance(keyid, str):
            raise ValueError("no kontor signature with a keyid")
        return parse_keyid(keyid)[0]
    except (StructuredFieldError, ValueError) as exc:
        raise Unauthorized(f"malformed Signature-Input: {exc}",
                           code="MALFORMED_SIGNATURE") from None


def _check_lists(origin: str, allow: tuple[str, ...], deny: tuple[str, ...]) -> None:
    if not ServerPolicy(allow, deny).permits(origin):  # the same rule as outgoing
        raise Forbidden(f"this node does not federate with {origin}", code="ORIGIN_DENIED")


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
    config = request.app[CONFIG]
    runtime = request.app.get(FEDERATION)
    if runtime is None:
        raise NotFound("federation is disabled on this node", code="FEDERATION_DISABLED")
    route = request.match_info.route.name
    if route in PUBLIC_ROUTES:
        return await handler(request)
    claimed = _claimed_origin(request)  # only to refuse early: it reserves nothing
    _check_lists(claimed, config.federation.allow, config.federation.deny)
    with _unverified(runtime, request.remote or "unknown",
                     config.federation.max_unverified_per_address):
        body = await _read_body(request, config)
        verified = await _verify(request, runtime, body)
    origin = verified.origin
    if origin != claimed:  # cannot happen unless the parsers disagree
        raise Unauthorized("the signature's origin is not the one checked",
                           code="MALFORMED_SIGNATURE")
    runtime.limiter.check(origin, "origin")
    if await request.app[DB].read(business_store.is_server_blocked, origin):
        raise Forbidden(f"this node refuses everything from {origin}", code="BLOCKED")
    async with _slot(runtime, origin, config.federation.max_inbound_per_origin):
        request[ORIGIN] = VerifiedOrigin(origin, body)
        await runtime.sender.peer_alive(origin)
        return await handler(request)


async def _read_body(request: web.Request, config: Any) -> bytes:
    """The whole body, within the size limit and ``[http] body_timeout_seconds``."""
    seconds = config.http.body_timeout_seconds
    try:
        async with asyncio.timeout(seconds):
            return await read_limited(request, config.limits.max_body_bytes)
    except TimeoutError:
        raise BodyTimeout(seconds, "the request body did not arrive whole within") from None


@contextlib.contextmanager
def _unverified(runtime: Any, address: str, limit: int) -> Iterator[None]:
    """One of ``limit`` requests from client ``address`` read and verified at once;
    429 at once beyond (what a request claims to be does not count here)."""
    if runtime.unverified[address] >= limit:
        raise RateLimited(f"too many unverified federation requests from {address}",
                          retry_after_ms=1000)
    runtime.unverified[address] += 1
    try:
        yield
    finally:
        runtime.unverified[address] -= 1
        if runtime.unverified[address] <= 0:
            del runtime.unverified[address]


@contextlib.asynccontextmanager
async def _slot(runtime: Any, origin: str, limit: int) -> AsyncIterator[None]:
    """One of ``limit`` concurrent request slots of ``origin``; a request waits up to
    SLOT_WAIT_SECONDS for one, then gets 429."""
    slots, users = runtime.inflight.get(origin, (None, 0))
    if slots is None:
        slots = asyncio.Semaphore(limit)
    runtime.inflight[origin] = (slots, users + 1)  # entries go when unused: bounded
    try:
        try:
            await asyncio.wait_for(slots.acquire(), SLOT_WAIT_SECONDS)
        except TimeoutError:
            raise RateLimited(f"too many concurrent requests from {origin}",
                              retry_after_ms=1000) from None
        try:
            yield
        finally:
            slots.release()
    finally:
        slots, users = runtime.inflight[origin]
        if users <= 1:
            del runtime.inflight[origin]
        else:
            runtime.inflight[origin] = (slots, users - 1)


async def _verify(request: web.Request, runtime: Any, body: bytes) -> Any:
    config = request.app[CONFIG]
    now = time.time()

    async def lookup_key(origin: str, key_id: str) -> bytes:
        try:
            return await runtime.keyring.public_key(origin, key_id)
        except KeyLookupError as exc:
            if exc.code == "KEY_PIN_MISMATCH":  # not "unknown": the peer is misconfigured
                raise Unauthorized(str(exc), code=exc.code) from None
            raise

    try:
        verified = await verify_kontor_request(
            request.method, target_uri(request), request.headers, body,
            our_server_name=config.node.server_name, lookup_key=lookup_key,
            now=now, max_skew_seconds=config.federation.clock_skew_seconds,
            not_before=runtime.started_at)
    except SignatureVerificationError as exc:
        raise KontorError(str(exc), code=exc.code, status=STATUS.get(exc.code, 401)) from None
    try:
        runtime.nonces.check_and_remember(verified.origin, verified.nonce,
                                          verified.accept_until, now)
    except ReplayError:
        raise Unauthorized("this request was already received (nonce seen before)",
                           code="REPLAYED_NONCE") from None
    except NonceCapacityError as exc:
        raise RateLimited(str(exc), retry_after_ms=1000) from None
    except ValueError as exc:
        raise BadRequest(str(exc), code="MALFORMED_SIGNATURE") from None
    return verified
