"""What an inbound federation transaction may store, and storing it exactly once.

``check_items`` is the transaction's rule (a list of 1..500 items, every author on the
origin, else the whole transaction is refused); ``item_problem`` is each item's (a
malformed item is answered ``INVALID_ITEM`` on its own). ``receive_txn`` runs in one
write transaction: a (origin, txn id) seen before gets its stored answer, else each item
is delivered to the local devices it names, and the answer is recorded with them; the
transaction hooks of what was stored (``node.events``) run last, in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from federation import storage as fed_store
from node.errors import BadRequest, Conflict, Forbidden
from node.events import AfterCommit, Hooks
from node.protocol.names import server_of
from node.services import team
from node.services.accounts import split_address
from node.services.messaging import delivered, receipt_events
from node.storage import accounts as account_store
from node.storage import business as business_store
from node.storage import messages as message_store
from node.text import bad_text_path, is_clean_id

MAX_ITEMS = 500
MAX_DEVICES = 100


def check_items(origin: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The transaction's items; every author must live on ``origin`` (else the whole
    transaction is refused). A malformed item does not sink the others: it is answered
    INVALID_ITEM on its own (``item_problem``)."""
    items = body.get("items")
    if not isinstance(items, list) or not 0 < len(items) <= MAX_ITEMS:
        raise BadRequest(f"items must be a list of 1 to {MAX_ITEMS} items",
                         code="INVALID_TRANSACTION")
    for item in items:
        author = item.get(AUTHOR.get(_kind(item), "")) if isinstance(item, dict) else None
        if isinstance(author, str) and server_of(author).lower() != origin.lower() \
                and author.count("@") == 1:
            raise Forbidden(f"{author[:320]} does not live on {origin}",
                            code="SENDER_NOT_ON_ORIGIN")
    return items


AUTHOR = {"message": "sender", "receipt": "by"}


def _kind(item: dict[str, Any]) -> str:
    kind = item.get("kind")
    return kind if isinstance(kind, str) else ""


def _short_str(value: Any, limit: int = 64) -> bool:
    """An id: 1..``limit`` characters, no whitespace, control, bidi or surrogate."""
    return isinstance(value, str) and 0 < len(value) <= limit and is_clean_id(value)


def _ts(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def item_problem(item: Any) -> str | None:
    """Why an item cannot be taken (None when it is well formed)."""
    if not isinstance(item, dict) or _kind(item) not in AUTHOR:
        return "every item is an object of kind message or receipt"
    bad = bad_text_path(item)
    if bad is not None:
        return f"{bad} is not valid Unicode text"
    for key in (AUTHOR[item["kind"]], "to"):
        value = item.get(key)
        if not isinstance(value, str) or len(value) > 320:
            return f"{key} must be an address"
        try:
            split_address(value)
        except BadRequest as exc:
            return exc.message
        if value != value.lower():  # one spelling per address (blocks, conversations)
            return f"{key} must be written in lower case"
    if not (_short_str(item.get("message_id")) and _ts(item.get("ts"))):
        return "message_id (1-64 visible characters) and ts (ms) are required"
    if item["kind"] == "receipt":
        if item.get("receipt") != "delivered" or not _short_str(item.get("device")):
            return "a receipt is delivered, with the device that got the message"
        return None
    envelopes = item.get("envelopes")
    if not (_short_str(item.get("sender_device")) and isinstance(envelopes, dict)
            and 0 < len(envelopes) <= MAX_DEVICES
            and all(_short_str(k) and isinstance(v, str) and 0 < len(v) <= 64 * 1024
                    for k, v in envelopes.items())):
        return f"a message needs sender_device and 1 to {MAX_DEVICES} envelopes"
    if item.get("repair", False) is not True and "repair" in item:
        return "repair is true when present"
    return None


@dataclass
class Delivered:
    """What a transaction stored: device wake-ups, the items that went in (as their
    events' payloads, stamped with our clock) and its transaction hooks' after-commit
    work."""

    pks: list[int]
    messages: list[dict[str, Any]]
    receipts: list[dict[str, Any]]
    after: list[AfterCommit] = field(default_factory=list)


@dataclass(frozen=True)
class InboundTxn:
    """One checked transaction from ``origin`` for this node (``server_name``, whose
    business account is ``business``), received at ``now``."""

    server_name: str
    business: str
    origin: str
    txn_id: str
    digest: str  # of the body, to tell a replay from a reused id
    items: list[Any]
    now: int


def _deliver_item_txn(db: Any, txn: InboundTxn, item: dict[str, Any],
                      done: Delivered) -> dict[str, Any]:
    server_name, business, now = txn.server_name, txn.business, txn.now
    problem = item_problem(item)
    if problem is not None:
        return {"error": "INVALID_ITEM", "message": problem}
    to = item["to"]
    if server_of(to) != server_name or account_store.get_account(db, to) is None:
        return {"error": "UNKNOWN_ACCOUNT"}
    if business_store.is_blocked_txn(db, item[AUTHOR[item["kind"]]]):
        return {"error": "BLOCKED"}  # refused at the door: nothing of it is stored
    if item["kind"] == "receipt":
        payload = {k: item[k] for k in ("receipt", "message_id", "by", "device", "ts")}
        events = receipt_events(db, to, business, payload)
        message_store.append_events_txn(db, events, now)
        done.pks += [e[0] for e in events]
        done.receipts.append(delivered(payload, to))  # (a receipt goes to the sender)
        return {}
    devices = team.devices(db, to, business)
    payload = {k: item[k] for k in ("message_id", "sender", "sender_device", "to", "ts")}
    events = [(devices[d], "message", item["message_id"], {**payload, "ciphertext": c})
              for d, c in item["envelopes"].items() if d in devices]
    message_store.record_message_txn(db, item["message_id"], item["sender"],
                                     item["sender_device"], to, now)
    message_store.append_events_txn(db, events, now)
    done.pks += [e[0] for e in events]
    repair = item.get("repair") is True  # completes an earlier item: only the named devices
    if not repair:
        done.messages.append(payload)
    missing = [] if repair else sorted(set(devices) - set(item["envelopes"]))
    extra = sorted(set(item["envelopes"]) - set(devices))
    if missing or extra:
        return {"error": "DEVICE_MISMATCH", "missing": missing, "extra": extra}
    return {}


def _hooks_txn(db: Any, hooks: Hooks, txn: InboundTxn, done: Delivered) -> None:
    """The transaction hooks of what was stored, in this transaction; they see our
    clock, not the peer's."""
    done.messages = [{**item, "ts": txn.now} for item in done.messages]
    done.receipts = [{**receipt, "ts": txn.now} for receipt in done.receipts]
    for payload in done.messages:
        done.after += hooks.run_txn(db, "message.stored", **payload)
    for payload in done.receipts:
        done.after += hooks.run_txn(db, "receipt.delivered", **payload)


def receive_txn(db: Any, txn: InboundTxn, hooks: Hooks) -> tuple[dict[str, Any], Delivered]:
    done = Delivered([], [], [])
    previous = fed_store.get_inbound_txn(db, txn.origin, txn.txn_id)
    if previous is not None:
        if previous[0] != txn.digest:
            raise Conflict("transaction id reused with a different body", code="TXN_CONFLICT")
        return previous[1], done
    results = [_deliver_item_txn(db, txn, item, done) for item in txn.items]
    response = {"results": results}
    fed_store.record_inbound_txn(db, txn.origin, txn.txn_id, txn.digest, response, txn.now)
    _hooks_txn(db, hooks, txn, done)
    return response, done
