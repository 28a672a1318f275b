"""Removing what the node no longer needs to hold (``[retention]``).

Ciphertext is normally deleted as soon as its device acknowledges it; what a device
never fetches (a lost phone) goes after ``undelivered_days``. Idempotency records of
client sends and of inbound federation transactions are kept long enough for any retry
(``TXN_KEEP_DAYS``, ``INBOUND_TXN_KEEP_DAYS``), then dropped. Business records have their own task
(``node.services.business.retention``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from federation import storage as fed_store
from node.config import Config
from node.errors import StorageFull
from node.services.accounts import now_ms
from node.storage import messages as store
from node.storage.db import Database

log = logging.getLogger("kontor.retention")

DAY_MS = 24 * 3600 * 1000
TXN_KEEP_DAYS = 7  # client sends: apps retry within minutes
# Inbound federation transactions: longer than any sender keeps retrying one
# ([federation] message_expiry_hours is at most 60 days), so a late retry is recognised.
INBOUND_TXN_KEEP_DAYS = 61
INTERVAL_SECONDS = 3600.0
FIRST_DELAY_SECONDS = 30.0


def _sweep_txn(db: Any, undelivered_before: int, txn_before: int,
               inbound_before: int) -> dict[str, int]:
    return {"events": store.expire_events_txn(db, undelivered_before),
            "send_txns": store.expire_send_txns_txn(db, txn_before),
            "inbound_txns": fed_store.expire_inbound_txns_txn(db, inbound_before)}


async def sweep(db: Database, config: Config, now: int | None = None) -> dict[str, int]:
    """One round of cleanup; returns how many rows of each kind went."""
    now = now_ms() if now is None else now
    return await db.write(_sweep_txn, now - config.retention.undelivered_days * DAY_MS,
                          now - TXN_KEEP_DAYS * DAY_MS, now - INBOUND_TXN_KEEP_DAYS * DAY_MS)


async def run_forever(db: Database, config: Config) -> None:
    """The background task: sweep every hour."""
    await asyncio.sleep(FIRST_DELAY_SECONDS)
    while True:
        try:
            removed = await sweep(db, config)
            if any(removed.values()):
                log.info("retention removed %s", removed)
        except StorageFull as exc:  # /health says degraded; no traceback needed
            log.warning("retention sweep skipped: %s", exc.message)
        except Exception:  # noqa: BLE001 - logged; the task must survive
            log.exception("retention sweep failed")
        await asyncio.sleep(INTERVAL_SECONDS)
