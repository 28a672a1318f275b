"""The aiohttp application factory: ``create_app(config)`` builds everything, no globals."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from node.api import (
    client_accounts,
    client_keys,
    client_media,
    client_messages,
    health,
    openapi,
)
from node.appkeys import (
    ACCOUNT_LIMITER,
    ADDRESS_LIMITER,
    CONFIG,
    DB,
    HOOKS,
    MESSAGING,
    NODE_KEY,
    NOTIFIER,
)
from node.config import Config
from node.events import Hooks
from node.middlewares import body_limit_middleware, request_middleware
from node.nodekey import key_path, load_key
from node.services.messaging import Messaging
from node.services.notifier import Notifier
from node.services.ratelimit import RateLimiter
from node.services.setup import init_node
from node.storage.db import Database


def create_app(config: Config) -> web.Application:
    """Build the node's application for ``config``; storage opens on startup."""
    limits = config.limits
    app = web.Application(
        middlewares=[
            request_middleware,
            body_limit_middleware(limits.max_body_bytes,
                                  {"client.media.upload": limits.max_media_bytes}),
        ],
        client_max_size=limits.max_body_bytes,
    )
    app[CONFIG] = config
    app[HOOKS] = Hooks()
    app[NOTIFIER] = Notifier()
    app[ACCOUNT_LIMITER] = RateLimiter(limits.rate_per_account)
    app[ADDRESS_LIMITER] = RateLimiter(limits.rate_per_address)
    app.cleanup_ctx.append(_storage)
    for module in (health, client_accounts, client_keys, client_messages, client_media,
                   openapi):
        app.router.add_routes(module.routes)
    return app


async def _storage(app: web.Application) -> AsyncIterator[None]:
    """Initialise if needed, migrate, open the database; close it on shutdown."""
    config = app[CONFIG]
    init_node(config)
    app[NODE_KEY] = load_key(key_path(config.data_dir))
    db = Database(config.database_path)
    app[DB] = db
    app[MESSAGING] = Messaging(db, app[NOTIFIER], app[HOOKS], config.node.server_name,
                               config.business_address)
    yield
    db.close()
