"""The business's public documents: the signed profile and catalog.

Served without a token at ``/_kontor/public/v1/`` (for web pages and apps before login)
and to other nodes at ``/_kontor/federation/v1/`` (public routes: ``node.api.fedauth``
lets them through without a request signature). The documents carry the node's
signature, so where they were fetched from does not matter to whoever checks it.
"""

from __future__ import annotations

from aiohttp import web

from node.api.auth import limit_address
from node.appkeys import BUSINESS
from node.services.business import catalog, profile

PUBLIC = "/_kontor/public/v1"
FEDERATION = "/_kontor/federation/v1"
routes = web.RouteTableDef()


@routes.get(PUBLIC + "/profile", name="public.profile")
async def public_profile(request: web.Request) -> web.Response:
    limit_address(request)
    return web.json_response(await profile.public_document(request.app[BUSINESS]))


@routes.get(PUBLIC + "/catalog", name="public.catalog")
async def public_catalog(request: web.Request) -> web.Response:
    limit_address(request)
    return web.json_response(await catalog.public_document(request.app[BUSINESS]))


@routes.get(FEDERATION + "/profile", name="federation.profile")
async def federation_profile(request: web.Request) -> web.Response:
    return web.json_response(await profile.public_document(request.app[BUSINESS]))


@routes.get(FEDERATION + "/catalog", name="federation.catalog")
async def federation_catalog(request: web.Request) -> web.Response:
    return web.json_response(await catalog.public_document(request.app[BUSINESS]))
