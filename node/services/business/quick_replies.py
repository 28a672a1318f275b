"""Quick replies: canned texts an agent inserts by shortcut ("/thanks").

Texts may hold placeholders from ``PLACEHOLDERS`` (``{customer_name}``,
``{business_name}``, ...); ``{{`` and ``}}`` write literal braces. Unknown placeholders
are refused when a reply is saved, so every stored text expands cleanly.
Expansion lives in ``node.protocol.placeholders``, which the SDK shares.
"""

from __future__ import annotations

import re
from typing import Any

from node.errors import Conflict, InvalidParameter, NotFound
from node.protocol.placeholders import PLACEHOLDERS, placeholders_in, problems
from node.services.accounts import Requester, now_ms
from node.services.business import validate as v
from node.services.business.context import Business, require_admin, require_reader
from node.storage import business as store

SHORTCUT_RE = re.compile(r"^[a-z0-9_-]{1,32}\Z")
MAX_TEXT = 4096
MAX_REPLIES = 500


def check_text(value: Any, name: str = "text", *, min_len: int = 1) -> str:
    """A reply text: size-limited, with known placeholders only (400
    ``UNKNOWN_PLACEHOLDER`` naming the others, also in ``unknown``)."""
    text = v.text(value, name, MAX_TEXT, min_len=min_len)
    bad = [token[:40] for token in problems(text)][:10]
    if bad:
        raise InvalidParameter(
            f"{name} uses unknown placeholder(s) {', '.join(bad)}; known: "
            f"{', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))} "
            "(write {{ and }} for a brace)",
            code="UNKNOWN_PLACEHOLDER", details={"unknown": bad})
    return text


def check_shortcut(value: Any) -> str:
    """``/thanks`` or ``thanks`` -> ``thanks``."""
    if not isinstance(value, str):
        raise InvalidParameter("shortcut must be a string", code="INVALID_SHORTCUT")
    name = value[1:] if value.startswith("/") else value
    if not SHORTCUT_RE.match(name):
        raise InvalidParameter("a shortcut is / and 1-32 characters of a-z 0-9 _ -",
                               code="INVALID_SHORTCUT")
    return name


def to_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"shortcut": "/" + row["shortcut"], "text": row["text"],
            "placeholders": sorted(placeholders_in(row["text"])),
            "created_ms": row["created_ms"], "updated_ms": row["updated_ms"]}


async def list_all(biz: Business, who: Requester) -> list[dict[str, Any]]:
    require_reader(who)
    return [to_json(r) for r in await biz.db.read(store.list_quick_replies)]


async def get(biz: Business, who: Requester, shortcut: str) -> dict[str, Any]:
    require_reader(who)
    row = await biz.db.read(store.get_quick_reply, check_shortcut(shortcut))
    if row is None:
        raise NotFound(f"no quick reply /{shortcut[:32]}", code="UNKNOWN_QUICK_REPLY")
    return to_json(row)


def _create_txn(db: Any, shortcut: str, text: str, now: int) -> None:
    if store.count_quick_replies(db) >= MAX_REPLIES:
        raise Conflict(f"at most {MAX_REPLIES} quick replies", code="TOO_MANY_QUICK_REPLIES")
    if not store.create_quick_reply_txn(db, shortcut, text, now):
        raise Conflict(f"/{shortcut} exists already", code="QUICK_REPLY_EXISTS")


async def create(biz: Business, who: Requester, shortcut: Any, text: Any) -> dict[str, Any]:
    require_admin(who)
    name, checked = check_shortcut(shortcut), check_text(text)
    await biz.db.write(_create_txn, name, checked, now_ms())
    return await get(biz, who, name)


async def update(biz: Business, who: Requester, shortcut: str, text: Any) -> dict[str, Any]:
    require_admin(who)
    name, checked = check_shortcut(shortcut), check_text(text)
    if not await biz.db.write(store.update_quick_reply_txn, name, checked, now_ms()):
        raise NotFound(f"no quick reply /{name}", code="UNKNOWN_QUICK_REPLY")
    return await get(biz, who, name)


async def delete(biz: Business, who: Requester, shortcut: str) -> None:
    require_admin(who)
    name = check_shortcut(shortcut)
    if not await biz.db.write(store.delete_quick_reply_txn, name):
        raise NotFound(f"no quick reply /{name}", code="UNKNOWN_QUICK_REPLY")
