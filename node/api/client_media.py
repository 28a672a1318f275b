"""Client API: upload and download of encrypted media blobs."""

from __future__ import annotations

from aiohttp import web

from node.api.auth import requester
from node.api.fedauth import verified_origin
from node.appkeys import CONFIG, MEDIA, ROUTER
from node.errors import InvalidParameter, UnsupportedMediaType
from node.protocol.names import is_server_name
from node.services import media, routing

PREFIX = "/_kontor/client/v1"
routes = web.RouteTableDef()


@routes.post(PREFIX + "/media", name="client.media.upload")
async def upload(request: web.Request) -> web.Response:
    who = await requester(request)
    if request.content_type != "application/octet-stream":
        raise UnsupportedMediaType("upload the encrypted bytes as application/octet-stream")
    result = await media.upload(request.app[MEDIA], who,
                                request.content.iter_chunked(256 * 1024))
    return web.json_response(result)


@routes.get(PREFIX + "/media/{media_id}", name="client.media.download")
async def download(request: web.Request) -> web.FileResponse:
    """A blob of this node, or with ``?server=`` one uploaded on another node (fetched
    over federation, checked against its hash, kept)."""
    await requester(request)
    config = request.app[CONFIG]
    media_id = request.match_info["media_id"]
    server = request.query.get("server", config.node.server_name)
    if server != config.node.server_name and not is_server_name(server):
        raise InvalidParameter("server must be a server name", code="INVALID_SERVER_NAME")
    path = await routing.media_path(request.app[ROUTER], server, media_id)
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})


@routes.get("/_kontor/federation/v1/media/{media_id}", name="federation.media")
async def federation_download(request: web.Request) -> web.FileResponse:
    """A blob for another node (the request is signed; see node.api.fedauth)."""
    verified_origin(request)
    path = await media.locate(request.app[MEDIA], request.match_info["media_id"])
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})
