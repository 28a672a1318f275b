"""Client API: a business's public documents, fetched through the client's own node.

``GET /directory/{server}/{profile|catalog}`` answers the signed document together with
the key document of the server that signed it, so the app verifies both itself (the
node is not trusted with them). Where they come from (this node's database, or another
server's discovered address over federation) is ``node.services.routing``'s decision.

``GET /keypins/{server}`` answers the DNS key pins of a server (or of an address's
server), looked up by this node for browsers, which cannot query DNS
(``node.services.keypins``).
"""

from __future__ import annotations

from aiohttp import web

from federation.servername import InvalidServerName, parse_server_name
from node.api.auth import requester
from node.appkeys import KEY_PINS, ROUTER
from node.errors import InvalidParameter, NotFound
from node.services import routing
from node.services.accounts import split_address

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
        raise InvalidParameter(exc.message, code="INVALID_SERVER_NAME") from None
    return web.json_response(await routing.document(request.app[ROUTER], server, document))


@routes.get(PREFIX + "/keypins/{server}", name="client.keypins")
async def keypins(request: web.Request) -> web.Response:
    """The ``_kontor-key`` pins of a server name or of an address's server."""
    await requester(request)
    name = request.match_info["server"]
    server = split_address(name)[1] if "@" in name else name
    found, published = await request.app[KEY_PINS].lookup(server)
    return web.json_response({"server_name": server, "pins": found, "published": published})
