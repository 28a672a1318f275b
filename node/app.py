"""The aiohttp application factory: ``create_app(config)`` builds everything, no globals."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator

from aiohttp import web

from federation.policy import ServerPolicy
from node import draining, logs
from node.api.fedauth import federation_auth
from node.api.routes import add_routes
from node.appkeys import (
    ACCOUNT_LIMITER,
    ACCOUNTS,
    ADDRESS_LIMITER,
    AUTOMATION,
    BUSINESS,
    CONFIG,
    DB,
    FEDERATION,
    GUESTS,
    HISTORY,
    HOOKS,
    KEY_PINS,
    KEYS,
    LOGIN_FAILURES,
    MEDIA,
    MESSAGING,
    NODE_KEY,
    NOTIFIER,
    PASSWORDS,
    PRESENCE,
    ROUTER,
)
from node.config import Config
from node.events import Hooks
from node.middlewares import body_limit_middleware, request_middleware
from node.nodekey import key_path, load_key
from node.services import guests, retention, runlock
from node.services.accounts import Accounts
from node.services.automation_device import AutomationDevice
from node.services.business import wiring as business_wiring
from node.services.federation_runtime import FederationRuntime
from node.services.history import History
from node.services.keypins import KeyPins
from node.services.keys import Keys
from node.services.media import Media
from node.services.messaging import Messaging
from node.services.notifier import Notifier
from node.services.passwords import PasswordHasher
from node.services.presence import Presence
from node.services.ratelimit import RateLimiter
from node.services.routing import Router
from node.services.setup import STREAM_EPOCH, init_node
from node.storage import accounts as account_store
from node.storage import nodestore
from node.storage.db import Database

LOGIN_FAILURES_PER_MINUTE = 10


def create_app(config: Config) -> web.Application:
    """Build the node's application for ``config``; storage opens on startup."""
    limits = config.limits
    app = web.Application(
        middlewares=[
            request_middleware,
            body_limit_middleware(limits.max_body_bytes,
                                  {"client.media.upload": limits.max_media_bytes}),
            federation_auth,
        ],
        client_max_size=limits.max_body_bytes,
    )
    app[CONFIG] = config
    draining.install(app)
    app[HOOKS] = Hooks()
    app[NOTIFIER] = Notifier()
    app[PRESENCE] = Presence()
    app[ACCOUNT_LIMITER] = RateLimiter(limits.rate_per_account)
    app[ADDRESS_LIMITER] = RateLimiter(limits.rate_per_address)
    app[LOGIN_FAILURES] = RateLimiter(LOGIN_FAILURES_PER_MINUTE)
    app[KEY_PINS] = KeyPins.for_nameserver(config.federation.dns_nameserver)
    app.cleanup_ctx.append(_passwords)
    app.cleanup_ctx.append(_storage)
    business_wiring.install(app)
    app.cleanup_ctx.append(_routing)
    app.cleanup_ctx.append(_automation)
    app.cleanup_ctx.append(_guests)
    add_routes(app)
    return app


async def _passwords(app: web.Application) -> AsyncIterator[None]:
    """The bounded argon2id pool (``[limits] password_hash_workers``)."""
    limits = app[CONFIG].limits
    app[PASSWORDS] = PasswordHasher(limits.password_hash_workers, limits.password_hash_queue)
    try:
        yield
    finally:
        await asyncio.to_thread(app[PASSWORDS].close)


async def _storage(app: web.Application) -> AsyncIterator[None]:
    """Initialise if needed, migrate, open the database; close it on shutdown."""
    config = app[CONFIG]
    report = init_node(config)
    logs.configure_pseudonyms(report.log_secret, clear=config.logging.addresses)
    lock = runlock.acquire(config.data_dir)
    app[NODE_KEY] = load_key(key_path(config.data_dir))
    db = Database(config.database_path)
    app[DB] = db
    runtime = None
    if config.federation.enabled:
        runtime = FederationRuntime(config, db, app[NODE_KEY], app[NOTIFIER], app[HOOKS])
        await runtime.start()
        app[FEDERATION] = runtime
    epoch = await db.read(nodestore.get_meta, STREAM_EPOCH)
    app[MESSAGING] = Messaging(db, app[NOTIFIER], app[HOOKS], config.node.server_name,
                               config.business_address, runtime.link if runtime else None,
                               epoch or "", runtime.policy if runtime else ServerPolicy())
    app[ACCOUNTS] = Accounts(db, app[PASSWORDS], config)
    app[KEYS] = Keys(db, app[NOTIFIER], config.business_address)
    app[MEDIA] = Media(db, config.data_dir, config.limits.max_media_bytes)
    app[HISTORY] = History(db, app[NOTIFIER], config.business_address,
                           config.business.history_approval)
    tasks = [asyncio.create_task(retention.run_forever(db, config), name="retention"),
             asyncio.create_task(app[NOTIFIER].watch_revocations(
                 functools.partial(db.read, account_store.live_device_pks)),
                 name="revocations")]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if runtime is not None:
            await runtime.close()
        db.close()
        runlock.release(lock)


async def _routing(app: web.Application) -> AsyncIterator[None]:
    """The one decision of local or remote for keys, media and the directory."""
    runtime = app.get(FEDERATION)
    app[ROUTER] = Router(app[DB], app[CONFIG], app[NODE_KEY], app[BUSINESS], app[KEYS],
                         app[MEDIA], runtime.link if runtime else None,
                         runtime.client if runtime else None)
    yield


async def _automation(app: web.Application) -> AsyncIterator[None]:
    """The business's automation device (greeting and away messages)."""
    device = AutomationDevice(app[ACCOUNTS], app[MESSAGING], app[BUSINESS], app[ROUTER])
    await device.start(app[HOOKS])
    app[AUTOMATION] = device
    try:
        yield
    finally:
        await device.close()


async def _guests(app: web.Application) -> AsyncIterator[None]:
    """The web chat's guest accounts and the task that removes idle ones."""
    g = guests.build(app[DB], app[CONFIG], await guests.load_secret(app[DB]))
    app[GUESTS] = g
    task = asyncio.create_task(guests.run_forever(g, app[BUSINESS], app[AUTOMATION].forget),
                               name="guest-expiry")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
