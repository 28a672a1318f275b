"""Retention: a periodic task applying ``[retention]`` with bounded work per tick.

Each tick removes at most ``BATCH`` resolved conversations silent for longer than
``resolved_conversation_days`` (0 keeps them; orders and daily counters stay), at most
``BATCH`` media blobs uploaded more than ``media_days`` ago (the profile's logo and
product images are kept), and business message-log rows older than ``LOG_KEEP_DAYS``.
A tick that hit a limit is followed by another one soon; otherwise the task sleeps
``INTERVAL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from node.services.accounts import now_ms
from node.services.business import profile as profile_mod
from node.services.business.context import DAY_MS, Business
from node.services.media import blob_path
from node.storage import business as store
from node.storage import messages as message_store

log = logging.getLogger("kontor.business.retention")

BATCH = 100
INTERVAL_SECONDS = 600.0
BUSY_INTERVAL_SECONDS = 1.0
FIRST_DELAY_SECONDS = 5.0
LOG_KEEP_DAYS = 400


def _kept_media(db: Any, biz: Business) -> set[str]:
    logo = profile_mod.current(db, biz.config).get("logo")
    return store.product_images(db) | ({logo} if logo else set())


def _tick_txn(db: Any, biz: Business, now: int, batch: int) -> dict[str, Any]:
    retention = biz.config.retention
    stale: list[str] = []
    if retention.resolved_conversation_days > 0:
        before = now - retention.resolved_conversation_days * DAY_MS
        stale = store.stale_resolved_conversations(db, before, batch)
        for customer in stale:
            store.delete_conversation_records_txn(db, customer)
    media = message_store.expired_media(db, now - retention.media_days * DAY_MS, batch,
                                        _kept_media(db, biz))
    message_store.delete_media_rows_txn(db, media)
    logs = store.expire_message_log_txn(db, now - LOG_KEEP_DAYS * DAY_MS)
    return {"conversations": len(stale), "media": media, "message_log": logs}


async def tick(biz: Business, now: int | None = None, batch: int = BATCH) -> dict[str, int]:
    """One bounded round of cleanup; returns how much went, per kind."""
    result = await biz.db.write(_tick_txn, biz, now_ms() if now is None else now, batch)
    for media_id in result["media"]:
        blob_path(biz.config.data_dir, media_id).unlink(missing_ok=True)
    return {"conversations": result["conversations"], "media": len(result["media"]),
            "message_log": result["message_log"]}


async def run_forever(biz: Business) -> None:
    """The background task: tick, then sleep (briefly when there is more to do)."""
    await asyncio.sleep(FIRST_DELAY_SECONDS)
    while True:
        try:
            done = await tick(biz)
            busy = done["conversations"] >= BATCH or done["media"] >= BATCH
            if any(done.values()):
                log.info("retention removed %s", done)
        except Exception:
            log.exception("retention tick failed")
            busy = False
        await asyncio.sleep(BUSY_INTERVAL_SECONDS if busy else INTERVAL_SECONDS)
