"""Plugging the business layer into the app: state, hooks and the retention task.

``install(app)`` appends a cleanup context that runs after storage has opened. It
registers, on the app's hook registry:

- ``message.stored`` -> ``conversations.on_message_stored`` at priority
  ``HOOK_PRIORITY`` (high, so the conversation record, its session start and unread
  count are up to date before lower-priority hooks such as the automation device run);
- ``receipt.delivered`` -> ``stats.on_receipt_delivered``.

and starts ``retention.run_forever``, cancelled on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from node.appkeys import BUSINESS, CONFIG, DB, HOOKS, NODE_KEY, NOTIFIER
from node.services.business import conversations, retention, stats
from node.services.business.context import Business

HOOK_PRIORITY = 100


def install(app: web.Application) -> None:
    """Run the business layer with ``app`` (call after the storage context is added)."""
    app.cleanup_ctx.append(_business)


def register_hooks(app: web.Application, biz: Business) -> None:
    async def business_inbox(**payload: Any) -> None:
        await conversations.on_message_stored(biz, **payload)

    async def business_delivery_stats(**payload: Any) -> None:
        await stats.on_receipt_delivered(biz, **payload)

    app[HOOKS].on("message.stored", business_inbox, priority=HOOK_PRIORITY)
    app[HOOKS].on("receipt.delivered", business_delivery_stats, priority=HOOK_PRIORITY)


async def _business(app: web.Application) -> AsyncIterator[None]:
    biz = Business(app[DB], app[NOTIFIER], app[CONFIG], app[NODE_KEY])
    app[BUSINESS] = biz
    register_hooks(app, biz)
    task = asyncio.create_task(retention.run_forever(biz), name="kontor-business-retention")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
