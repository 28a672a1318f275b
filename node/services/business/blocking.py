"""Blocking: the business refuses messages from an address or from a whole server.

``check_sender`` is what messaging (local sends) calls before storing anything, and
``is_server_blocked`` what the federation door asks of a verified origin;
``node.storage.business.is_blocked_txn`` answers the same question inside a write
transaction (an inbound transaction's items). A block applies to everything the sender would
deliver to this node. The business's own team and this node's server cannot be blocked.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from node.errors import Conflict, Forbidden, InvalidParameter, NotFound
from node.services.accounts import Requester, now_ms
from node.services.business import validate as v
from node.services.business.context import Business, require_reader, require_team
from node.services.business.conversations import is_team
from node.storage import business as store
from node.storage.db import Database

MAX_REASON = 500
MAX_BLOCKS = 10_000


async def check_sender(db: Database, sender: str, to: str) -> None:
    """Raise Forbidden (code BLOCKED) when ``sender`` or its server is blocked."""
    if await db.read(store.is_blocked_txn, sender.lower()):
        raise Forbidden(f"{to} does not accept messages from {sender}", code="BLOCKED")


async def is_server_blocked(db: Database, server: str) -> bool:
    """Whether the business refuses everything from the whole server ``server`` (asked by
    ``node.services.inbound`` of every verified federation request)."""
    return bool(await db.read(store.is_server_blocked, server))


def parse_target(value: Any) -> tuple[str, str]:
    """``anna@example.org`` -> (address, "address"); ``example.org`` -> (server, "server")."""
    if isinstance(value, str) and "@" in value:
        return v.address(value, "target"), "address"
    return v.server_name(value), "server"


def _block_txn(db: Any, biz: Business, block: store.Block) -> dict[str, Any]:
    target, kind = block.target, block.kind
    if (kind == "server" and target == biz.server_name.lower()) or \
            (kind == "address" and is_team(db, biz.address, target)):
        raise InvalidParameter("the business's own node and team cannot be blocked",
                               code="CANNOT_BLOCK")
    if len(store.list_blocks(db)) >= MAX_BLOCKS:
        raise Conflict(f"at most {MAX_BLOCKS} blocks", code="TOO_MANY_BLOCKS")
    if not store.add_block_txn(db, block):
        raise Conflict(f"{target} is already blocked", code="ALREADY_BLOCKED")
    return dataclasses.asdict(block)


async def block(biz: Business, who: Requester, target: Any, reason: Any = "") -> dict[str, Any]:
    require_team(who)
    name, kind = parse_target(target)
    text = v.text(reason or "", "reason", MAX_REASON)
    return await biz.db.write(_block_txn, biz,
                              store.Block(name, kind, text, who.address, now_ms()))


async def unblock(biz: Business, who: Requester, target: Any) -> None:
    require_team(who)
    name, _ = parse_target(target)
    if not await biz.db.write(store.remove_block_txn, name):
        raise NotFound(f"{name} is not blocked", code="NOT_BLOCKED")


async def list_all(biz: Business, who: Requester) -> list[dict[str, Any]]:
    require_reader(who)
    return await biz.db.read(store.list_blocks)
