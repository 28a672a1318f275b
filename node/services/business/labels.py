"""Labels: named, coloured tags the team puts on conversations.

A new node starts with "New customer", "New order", "Pending payment", "Paid" and
"Order complete" (created once, by the business schema's first migration). Names are
unique without regard to case. Deleting a label detaches it everywhere.
"""

from __future__ import annotations

from typing import Any

from node.errors import Conflict, InvalidParameter, NotFound
from node.services.accounts import Requester, now_ms
from node.services.business import validate as v
from node.services.business.context import Business, require_reader, require_team
from node.services.business.conversations import existing_txn, push_txn, write_and_push
from node.storage import business as store

MAX_LABELS = 100
MAX_NAME = 50


def check_name(value: Any) -> str:
    return v.text(value, "name", MAX_NAME, min_len=1, single_line=True).strip()


async def list_all(biz: Business, who: Requester) -> list[dict[str, Any]]:
    require_reader(who)
    return await biz.db.read(store.list_labels)


def label_txn(db: Any, label_id: int) -> dict[str, Any]:
    label = store.get_label(db, label_id)
    if label is None:
        raise NotFound(f"no label {label_id}", code="UNKNOWN_LABEL")
    return label


def _create_txn(db: Any, name: str, color: str, now: int) -> dict[str, Any]:
    if store.count_labels(db) >= MAX_LABELS:
        raise Conflict(f"at most {MAX_LABELS} labels", code="TOO_MANY_LABELS")
    label_id = store.create_label_txn(db, name, color, now)
    if label_id is None:
        raise Conflict(f"a label named {name!r} exists", code="LABEL_EXISTS")
    return label_txn(db, label_id)


async def create(biz: Business, who: Requester, name: Any, color: Any) -> dict[str, Any]:
    require_team(who)
    return await biz.db.write(_create_txn, check_name(name), v.color(color), now_ms())


def _update_txn(db: Any, business: str, label_id: int, changes: dict[str, Any],
                now: int) -> tuple[dict[str, Any], list[int]]:
    label = label_txn(db, label_id)
    name = changes.get("name", label["name"])
    color = changes.get("color", label["color"])
    if store.update_label_txn(db, label_id, name, color) is None:
        raise Conflict(f"a label named {name!r} exists", code="LABEL_EXISTS")
    pks = push_txn(db, business, store.label_customers(db, label_id), "labels", now)
    return label_txn(db, label_id), pks


async def update(biz: Business, who: Requester, label_id: int,
                 changes: dict[str, Any]) -> dict[str, Any]:
    """Rename and/or recolour."""
    require_team(who)
    v.no_unknown(changes, {"name", "color"}, "label")
    if not changes:
        raise InvalidParameter("nothing to change", code="EMPTY_UPDATE")
    checked = {}
    if "name" in changes:
        checked["name"] = check_name(changes["name"])
    if "color" in changes:
        checked["color"] = v.color(changes["color"])
    return await write_and_push(biz, _update_txn, biz.address, label_id, checked, now_ms())


def _delete_txn(db: Any, business: str, label_id: int, now: int) -> tuple[None, list[int]]:
    label_txn(db, label_id)
    customers = store.label_customers(db, label_id)
    store.delete_label_txn(db, label_id)
    return None, push_txn(db, business, customers, "labels", now)


async def delete(biz: Business, who: Requester, label_id: int) -> None:
    require_team(who)
    await write_and_push(biz, _delete_txn, biz.address, label_id, now_ms())


def attach_by_name_txn(db: Any, customer: str, name: str, now: int) -> bool:
    """Attach the label called ``name`` if it still exists (automatic labelling)."""
    label = store.label_by_name(db, name)
    return label is not None and store.attach_label_txn(db, customer, label["label_id"], now)


def detach_by_name_txn(db: Any, customer: str, name: str) -> bool:
    label = store.label_by_name(db, name)
    return label is not None and store.detach_label_txn(db, customer, label["label_id"])


def _attach_txn(db: Any, business: str, customer: str, label_id: int, attach: bool,
                now: int) -> tuple[list[dict[str, Any]], list[int]]:
    existing_txn(db, customer)
    label_txn(db, label_id)
    changed = (store.attach_label_txn(db, customer, label_id, now) if attach
               else store.detach_label_txn(db, customer, label_id))
    pks = push_txn(db, business, [customer], "labels", now) if changed else []
    return store.conversation_labels(db, customer), pks


async def set_attached(biz: Business, who: Requester, customer: str, label_id: int,
                       attach: bool) -> list[dict[str, Any]]:
    """Attach or detach a label; returns the conversation's labels (idempotent)."""
    require_team(who)
    return await write_and_push(biz, _attach_txn, biz.address,
                                v.address(customer, "customer"), label_id, attach, now_ms())
