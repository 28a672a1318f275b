"""``GET /health``: is the node up and its database answering."""

from __future__ import annotations

from aiohttp import web

from node import __version__
from node.appkeys import CONFIG, DB
from node.storage import db as dbmod

routes = web.RouteTableDef()


@routes.get("/health", name="health")
async def health(request: web.Request) -> web.Response:
    """``ok``, or ``degraded`` with a ``reason`` while writes fail (a full disk)."""
    db = request.app[DB]
    version = await db.read(dbmod.schema_version)
    problem = await db.health()
    extra = {"reason": problem} if problem else {}
    return web.json_response({
        "status": "degraded" if problem else "ok",
        **extra,
        "server_name": request.app[CONFIG].node.server_name,
        "version": __version__,
        "schema_version": version,
    })
