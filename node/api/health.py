"""``GET /health``: is the node up and its database answering."""

from __future__ import annotations

from aiohttp import web

from node import __version__
from node.appkeys import CONFIG, DB
from node.storage import db as dbmod

routes = web.RouteTableDef()


@routes.get("/health", name="health")
async def health(request: web.Request) -> web.Response:
    version = await request.app[DB].read(dbmod.schema_version)
    return web.json_response({
        "status": "ok",
        "server_name": request.app[CONFIG].node.server_name,
        "version": __version__,
        "schema_version": version,
    })
