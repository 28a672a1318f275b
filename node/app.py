"""The aiohttp application factory: ``create_app(config)`` builds everything, no globals."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from node.api import health
from node.appkeys import CONFIG, DB, NODE_KEY
from node.config import Config
from node.middlewares import body_limit_middleware, request_middleware
from node.nodekey import key_path, load_key
from node.services.setup import init_node
from node.storage.db import Database


def create_app(config: Config) -> web.Application:
    """Build the node's application for ``config``; storage opens on startup."""
    app = web.Application(
        middlewares=[request_middleware, body_limit_middleware(config.limits.max_body_bytes)],
        client_max_size=config.limits.max_body_bytes,
    )
    app[CONFIG] = config
    app.cleanup_ctx.append(_storage)
    app.router.add_routes(health.routes)
    return app


async def _storage(app: web.Application) -> AsyncIterator[None]:
    """Initialise if needed, migrate, open the database; close it on shutdown."""
    config = app[CONFIG]
    init_node(config)
    app[NODE_KEY] = load_key(key_path(config.data_dir))
    app[DB] = Database(config.database_path)
    yield
    app[DB].close()
