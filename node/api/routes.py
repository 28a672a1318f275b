"""Every HTTP route of the node, added to the application in one place.

Each handler module declares its routes beside its handlers (an aiohttp
``RouteTableDef`` named ``routes``, every route with a name); ``add_routes`` is the only
code that adds them to the app, from ``MODULES`` in this order. A test checks that no
handler module is missing here, and another that the OpenAPI document lists exactly
the routes served.
"""

from __future__ import annotations

from aiohttp import web

from node.api import (
    business,
    business_inbox,
    business_team,
    client_accounts,
    client_directory,
    client_guests,
    client_history,
    client_keys,
    client_media,
    client_messages,
    federation,
    health,
    openapi,
    public,
)
from node.api import web as web_app

MODULES = (health, client_accounts, client_guests, client_keys, client_messages,
           client_media, client_history, openapi, federation, business, business_inbox,
           business_team, public, client_directory, web_app)


def add_routes(app: web.Application) -> None:
    """Add every module's routes to ``app``."""
    for module in MODULES:
        app.router.add_routes(module.routes)
