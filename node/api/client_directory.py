"""Client API: a business's public documents, fetched through the client's own node.

``GET /directory/{server}/{profile|catalog}`` answers the signed document together with
the key document of the server that signed it, so the app verifies both itself (the
node is not trusted with them). For this node's own business the documents come from
its database; for another server, over federation from that server's discovered
address.

``GET /keypins/{server}`` answers the DNS key pins of a server (or of an address's
server), looked up by this node for browsers, which cannot query DNS
(``node.services.keypins``).
"""

from __future__ import annotations

from aiohttp import web

from federation.client import FED_PREFIX, RemoteError
from federation.discovery import InvalidServerName, parse_server_name
from node.api.auth import requester
from node.appkeys import BUSINESS, CONFIG, DB, FEDERATION, KEY_PINS, NODE_KEY
from node.errors import Forbidden, InvalidParameter, NotFound, Unavailable
from node.services.accounts import split_address
from node.services.business import catalog, profile
from node.services.federation_runtime import own_key_document

PREFIX = "/_kontor/client/v1"
DOCUMENTS = ("profile", "catalog")
routes = web.RouteTableDef()


@routes.get(PREFIX + "/directory/{server}/{document}", name="client.directory")
async def directory(request: web.Request) -> web.Response:
    await requester(request)
    server, document = request.match_info["server"], request.match_info["document"]
    if document not in DOCUMENTS:
        raise NotFound("the directory holds profile and catalog documents",
                       code="UNKNOWN_DOCUMENT")
    try:
        parse_server_name(server)
    except InvalidServerName as exc:
        raise InvalidParameter(str(exc), code="INVALID_SERVER_NAME") from None
    runtime = request.app.get(FEDERATION)
    if server == request.app[CONFIG].node.server_name:
        biz = request.app[BUSINESS]
        doc = await (profile if document == "profile" else catalog).public_document(biz)
        keys = await own_key_document(request.app[DB], request.app[CONFIG],
                                      request.app[NODE_KEY])
        return web.json_response({"server_name": server, "document": doc, "keys": keys})
    if runtime is None:
        raise Forbidden("federation is disabled on this node", code="FEDERATION_DISABLED")
    try:
        doc = await runtime.client.get_public(server, f"{FED_PREFIX}/{document}")
        keys = await runtime.client.fetch_keys(server)
    except RemoteError as exc:
        if exc.status == 403:  # our [federation] policy (DESTINATION_DENIED) or theirs
            raise Forbidden(str(exc), code=exc.code) from None
        if exc.status == 404:
            raise NotFound(f"{server} publishes no {document}", code="UNKNOWN_DOCUMENT") \
                from None
        raise Unavailable(f"cannot fetch the {document} of {server}: {exc}",
                          code="REMOTE_UNAVAILABLE") from None
    return web.json_response({"server_name": server, "document": doc, "keys": keys})


@routes.get(PREFIX + "/keypins/{server}", name="client.keypins")
async def keypins(request: web.Request) -> web.Response:
    """The ``_kontor-key`` pins of a server name or of an address's server."""
    await requester(request)
    name = request.match_info["server"]
    server = split_address(name)[1] if "@" in name else name
    found, published = await request.app[KEY_PINS].lookup(server)
    return web.json_response({"server_name": server, "pins": found, "published": published})
