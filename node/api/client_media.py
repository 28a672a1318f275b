"""Client API: upload and download of encrypted media blobs."""

from __future__ import annotations

from aiohttp import web

from node.api.auth import requester
from node.appkeys import CONFIG, DB
from node.errors import UnsupportedMediaType
from node.services import media

PREFIX = "/_kontor/client/v1"
routes = web.RouteTableDef()


@routes.post(PREFIX + "/media", name="client.media.upload")
async def upload(request: web.Request) -> web.Response:
    who = await requester(request)
    if request.content_type != "application/octet-stream":
        raise UnsupportedMediaType("upload the encrypted bytes as application/octet-stream")
    config = request.app[CONFIG]
    result = await media.upload(request.app[DB], config.data_dir, who,
                                request.content.iter_chunked(256 * 1024),
                                config.limits.max_media_bytes)
    return web.json_response(result)


@routes.get(PREFIX + "/media/{media_id}", name="client.media.download")
async def download(request: web.Request) -> web.FileResponse:
    await requester(request)
    path = await media.locate(request.app[DB], request.app[CONFIG].data_dir,
                              request.match_info["media_id"])
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})
