"""Orders: recorded by the team's apps, priced by the node from its own catalog.

The order itself travels end to end between customer and business; the agent's app
then records it here with its items. The node recomputes the total (a figure the app
sends must match), stores the order, and labels the conversation. Status moves forward
only (new -> confirmed -> paid -> shipped -> completed, steps may be skipped) or to
cancelled; completed and cancelled are final. Labels follow the status: recording adds
"New order", confirmed adds "Pending payment", paid adds "Paid" (and removes "Pending
payment"), completed adds "Order complete".
"""

from __future__ import annotations

import re
from typing import Any

from node.errors import Conflict, InvalidParameter, NotFound
from node.services.accounts import Requester, now_ms
from node.services.business import catalog
from node.services.business import validate as v
from node.services.business.context import Business, require_reader, require_team
from node.services.business.conversations import existing_txn, push_txn, write_and_push
from node.services.business.labels import attach_by_name_txn, detach_by_name_txn
from node.storage import business as store

ORDER_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")
FLOW = ("new", "confirmed", "paid", "shipped", "completed")
STATUSES = (*FLOW, "cancelled")
FINAL = ("completed", "cancelled")
LABELS_ON = {"confirmed": ("Pending payment", None), "paid": ("Paid", "Pending payment"),
             "completed": ("Order complete", None)}


def check_order_id(value: Any) -> str:
    if not isinstance(value, str) or not ORDER_ID_RE.match(value):
        raise InvalidParameter("order_id is 1-64 characters of A-Z a-z 0-9 . _ -",
                               code="INVALID_ORDER_ID")
    return value


def to_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": row["order_id"], "conversation": row["customer"],
            "items": row["lines"], "total_minor": row["total_minor"],
            "currency": row["currency"], "status": row["status"],
            "created_by": row["created_by"], "created_ms": row["created_ms"],
            "updated_ms": row["updated_ms"]}


def _record_txn(db: Any, business: str, order: dict[str, Any], items: Any,
                expected: dict[str, Any], now: int) -> tuple[dict[str, Any], list[int]]:
    customer = order["customer"]
    existing_txn(db, customer)
    total, currency, lines = catalog.compute_order_total(store.list_products(db), items)
    if expected.get("total_minor") not in (None, total) or \
            expected.get("currency") not in (None, currency):
        raise InvalidParameter(f"the catalog prices this order at {total} {currency}",
                               code="TOTAL_MISMATCH",
                               details={"total_minor": total, "currency": currency})
    order |= {"lines": lines, "total_minor": total, "currency": currency}
    if store.get_order(db, order["order_id"]) is None:  # (a repeat takes nothing)
        catalog.take_stock_txn(db, lines, now)
    if not store.insert_order_txn(db, order, now):
        existing = store.get_order(db, order["order_id"])
        if existing is not None and existing["customer"] != customer:
            # Order ids come from customers' apps: one cannot claim another's order.
            raise Conflict(f"order id {order['order_id']} belongs to another conversation",
                           code="ORDER_ID_TAKEN")
        raise Conflict(f"order {order['order_id']} exists", code="ORDER_EXISTS")
    attach_by_name_txn(db, customer, "New order", now)
    pks = push_txn(db, business, [customer], "order", now)
    row = store.get_order(db, order["order_id"])
    assert row is not None
    return to_json(row), pks


async def record(biz: Business, who: Requester, body: dict[str, Any]) -> dict[str, Any]:
    """Record an order ``{conversation, order_id, items, [total_minor, currency]}``."""
    require_team(who)
    v.no_unknown(body, {"conversation", "order_id", "items", "total_minor", "currency"},
                 "order")
    customer = v.address(body.get("conversation"), "conversation")
    order = {"order_id": check_order_id(body.get("order_id")), "customer": customer,
             "created_by": who.address}
    expected: dict[str, object] = {}
    if body.get("total_minor") is not None:
        expected["total_minor"] = v.whole(body["total_minor"], "total_minor", 0, 2**53 - 1)
    if body.get("currency") is not None:
        expected["currency"] = catalog.check_currency(body["currency"])
    return await write_and_push(biz, _record_txn, biz.address, order, body.get("items"),
                                expected, now_ms())


def order_txn(db: Any, order_id: str) -> dict[str, Any]:
    row = store.get_order(db, order_id)
    if row is None:
        raise NotFound(f"no order {order_id}", code="UNKNOWN_ORDER")
    return row


def check_transition(current: str, new: str) -> None:
    if new not in STATUSES:
        raise InvalidParameter(f"status is one of {', '.join(STATUSES)}")
    if new == current:
        return
    if current in FINAL or (new != "cancelled" and FLOW.index(new) < FLOW.index(current)):
        raise Conflict(f"an order cannot go from {current} to {new}",
                       code="INVALID_TRANSITION")


def _status_txn(db: Any, business: str, order_id: str, status: str,
                now: int) -> tuple[dict[str, Any], list[int]]:
    row = order_txn(db, order_id)
    check_transition(row["status"], status)
    pks: list[int] = []
    if status != row["status"]:
        store.set_order_status_txn(db, order_id, status, now)
        if status == "cancelled":  # what it took from counted stock goes back
            catalog.take_stock_txn(db, row["lines"], now, sign=+1)
        add, remove = LABELS_ON.get(status, (None, None))
        if add:
            attach_by_name_txn(db, row["customer"], add, now)
        if remove:
            detach_by_name_txn(db, row["customer"], remove)
        pks = push_txn(db, business, [row["customer"]], "order", now)
    return to_json(order_txn(db, order_id)), pks


async def set_status(biz: Business, who: Requester, order_id: str,
                     body: dict[str, Any]) -> dict[str, Any]:
    require_team(who)
    v.no_unknown(body, {"status"}, "order")
    if "status" not in body:
        raise InvalidParameter("missing field 'status'", code="MISSING_FIELD")
    return await write_and_push(biz, _status_txn, biz.address, check_order_id(order_id),
                                body["status"], now_ms())


async def get(biz: Business, who: Requester, order_id: str) -> dict[str, Any]:
    require_reader(who)
    return to_json(await biz.db.read(order_txn, check_order_id(order_id)))


async def for_conversation(biz: Business, who: Requester,
                           customer: str) -> list[dict[str, Any]]:
    require_reader(who)
    customer = v.address(customer, "customer")

    def read(db: Any) -> list[dict[str, Any]]:
        existing_txn(db, customer)
        return store.list_orders(db, customer)
    return [to_json(r) for r in await biz.db.read(read)]
