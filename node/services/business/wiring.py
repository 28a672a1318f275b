"""Plugging the business layer into the app: state, hooks and the retention task.

``install(app)`` appends a cleanup context that runs after storage has opened. It
registers, on the app's hook registry, two transaction hooks (``node.events``: they run
inside the core's write transaction, so they cost no transaction of their own):

- ``message.stored`` -> ``conversations.message_stored_txn`` at priority
  ``HOOK_PRIORITY`` (the conversation record, its session start and unread count are
  committed with the message, so after-commit hooks such as the automation device
  see them up to date), for a message between the business and someone else;
- ``receipt.delivered`` -> ``stats.receipt_delivered_txn``, for a message the
  business sent.

Other messages (between two people on the node, or two of its team) run neither.

and starts ``retention.run_forever``, cancelled on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from node.appkeys import BUSINESS, CONFIG, DB, HOOKS, NODE_KEY, NOTIFIER
from node.events import AfterCommit
from node.services.business import conversations, retention, stats
from node.services.business.context import Business

HOOK_PRIORITY = 100


def install(app: web.Application) -> None:
    """Run the business layer with ``app`` (call after the storage context is added)."""
    app.cleanup_ctx.append(_business)


def register_hooks(app: web.Application, biz: Business) -> None:
    """The business layer's transaction hooks (see the module docstring)."""
    def business_inbox(db: Any, **payload: Any) -> AfterCommit | None:
        return conversations.message_stored_txn(db, biz, **payload)

    def business_delivery_stats(db: Any, **payload: Any) -> None:
        stats.receipt_delivered_txn(db, biz, **payload)

    def to_or_from_business(*, sender: str, to: str, **_: Any) -> bool:
        """Between the business and someone else (what ``conversations._side`` takes)."""
        return (sender == biz.address) != (to == biz.address)

    def sent_by_business(*, sender: str, **_: Any) -> bool:
        return sender == biz.address

    app[HOOKS].on_txn("message.stored", business_inbox, priority=HOOK_PRIORITY,
                      when=to_or_from_business)
    app[HOOKS].on_txn("receipt.delivered", business_delivery_stats, priority=HOOK_PRIORITY,
                      when=sent_by_business)


async def _business(app: web.Application) -> AsyncIterator[None]:
    biz = Business(app[DB], app[NOTIFIER], app[CONFIG], app[NODE_KEY])
    app[BUSINESS] = biz
    register_hooks(app, biz)
    task = asyncio.create_task(retention.run_forever(biz), name="kontor-business-retention")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
