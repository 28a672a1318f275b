"""Request middlewares: request ids and logging, body limits, and the one error mapper
(``KontorError`` and federation's ``FederationError`` become JSON here, nowhere else)."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from federation.errors import FederationError
from node import logs
from node.errors import KontorError, MethodNotAllowed, NotFound, PayloadTooLarge

log = logging.getLogger("kontor.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {
    400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED", 408: "TIMEOUT", 413: "TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_response(exc: KontorError | FederationError) -> web.Response:
    """The JSON body for one of our errors, the node's or federation's (both carry a
    status, a code, a message and details)."""
    if isinstance(exc, FederationError):
        exc = KontorError(exc.message, code=exc.code, status=exc.status, details=exc.details)
    headers = {}
    retry = exc.details.get("retry_after_ms")
    if isinstance(retry, int):
        headers["Retry-After"] = str(max(1, (retry + 999) // 1000))
    return web.json_response(exc.to_json(), status=exc.status, headers=headers)


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id, log it once, and map every error to JSON."""
    rid = secrets.token_hex(8)
    token = logs.request_id.set(rid)
    start = time.perf_counter()
    status = 500
    try:
        response = await _mapped(request, handler)
        status = response.status
        response.headers["X-Request-Id"] = rid
        return response
    finally:
        log.info("%s %s %d", request.method, logged_path(request), status,
                 extra={"ms": round((time.perf_counter() - start) * 1000, 1)})
        logs.request_id.reset(token)


#: Route parameters that name a person or an order: hashed in log lines (node.logs).
PSEUDONYMOUS = {"address": "acct", "order_id": "order"}


def logged_path(request: web.Request) -> str:
    """The request's path for the log: a matched route's template with its parameters
    filled in, those that name an account or an order as pseudonyms; else the path."""
    info = request.match_info
    resource = info.route.resource if info.route is not None else None
    template = getattr(resource, "canonical", None)
    if not info or not isinstance(template, str) or "{" not in template:
        return request.rel_url.path
    values = {name: logs.pseudonym(value, PSEUDONYMOUS[name]) if name in PSEUDONYMOUS
              else value for name, value in info.items()}
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError):
        return request.rel_url.path


async def _mapped(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (KontorError, FederationError) as exc:
        return error_response(exc)
    except ConnectionError as exc:  # the client went away mid-request: its affair
        log.info("client went away during %s %s: %s", request.method, logged_path(request),
                 exc or type(exc).__name__)
        return error_response(KontorError("the connection was lost", code="CLIENT_GONE"))
    except RequestPayloadError as exc:  # e.g. a broken chunked encoding
        return error_response(KontorError(f"malformed request body: {exc}",
                                          code="MALFORMED_BODY"))
    except web.HTTPException as exc:
        if exc.status < 400 or exc.headers.get("Upgrade"):
            raise
        return error_response(_from_http_exception(request, exc))
    except Exception:
        log.exception("unhandled error in %s %s", request.method, logged_path(request))
        return web.json_response(
            {"error": {"code": "INTERNAL", "message": "internal error; the operator's log "
                       f"has the details under request id {logs.request_id.get()}"}},
            status=500)


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> KontorError:
    if exc.status == 404:
        return NotFound(f"no route for {request.method} {request.rel_url.path}",
                        code="UNKNOWN_ROUTE")
    if exc.status == 405:
        return MethodNotAllowed(f"{request.method} is not allowed on {request.rel_url.path}")
    if exc.status == 413:
        return PayloadTooLarge("request body too large")
    code = _HTTP_CODES.get(exc.status, "BAD_REQUEST")
    return KontorError(exc.reason or "bad request", code=code, status=exc.status)


def body_limit_middleware(default_limit: int,
                          overrides: dict[str, int] | None = None) -> Callable:
    """Refuse a declared Content-Length over the limit before reading anything.

    ``overrides`` maps a route name to its own limit (media uploads).
    """
    overrides = overrides or {}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        route_name = request.match_info.route.name or ""
        limit = overrides.get(route_name, default_limit)
        length = request.content_length
        if length is not None and length > limit:
            raise PayloadTooLarge(f"request body of {length} bytes exceeds the limit of "
                                  f"{limit} bytes", details={"limit": limit})
        return await handler(request)

    return middleware
