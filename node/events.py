"""A small hook registry: features react to named events instead of being wired in.

Like Prosody's modules, a feature registers handlers for events such as
``message.stored`` with a priority (higher runs first). There are two kinds:

- *Transaction hooks* (``on_txn``): synchronous ``hook(db, **payload)`` run by the core
  inside its own write transaction (on the event loop; on the writer thread while
  another process holds the file), right after the core's writes (``run_txn``). A
  hook that changes data costs no transaction of its own, and its change commits, or
  not, with the core's. Each hook runs in its own SAVEPOINT:
  one that raises is logged and rolled back alone, and never undoes or blocks the
  core's work nor the other hooks. A hook returns what must happen only after the
  commit (an ``AfterCommit``, such as waking the devices it appended events for), or
  None; the core runs those (``after_commit``) once its write has committed, on the
  event loop, and drops them when the write failed. Data-changing features belong here.
- *After-commit hooks* (``on``): ``async handler(**payload)`` awaited by the core
  (``fire``) after its write has committed and the transaction hooks' after-commit
  work ran, so they see the transaction hooks' changes. For what must not hold the
  transaction: work that sends messages or waits on the network. A failing one is
  logged and stops nothing.

Every event is declared in ``EVENTS`` with its payload (a TypedDict, passed to the
handlers as keyword arguments); ``on`` / ``on_txn`` refuse an undeclared event, and
``fire`` / ``run_txn`` a payload that does not match its declaration, so this list is
complete:

- ``message.stored`` (``MessageStored``): a message was stored for delivery, sent here
  (``node.services.messaging.send``) or received from another node
  (``node.services.inbound.receive_transaction``); not for repairs. Transaction hook:
  the business inbox (``business.conversations.message_stored_txn``, priority 100,
  only for a message between the business and someone else).
  After-commit hook: the automation device (greeting and away messages, priority 10;
  it sends messages, so it runs after the commit and sees the conversation updated).
- ``receipt.delivered`` (``ReceiptDelivered``): a recipient's device acknowledged a
  message (here, or reported by another node). Transaction hook: the business's
  delivery statistics (``business.stats.receipt_delivered_txn``, priority 100, only
  for a message the business sent).

A transaction hook may come with a pure test of the payload (``on_txn(..., when=)``:
no database, no side effect); where it is false the hook does not run and costs no
savepoint, so a message that concerns no feature costs no statement beyond the core's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypedDict

from node.storage.connection import savepoint

log = logging.getLogger("kontor.events")

Hook = Callable[..., Awaitable[None]]
#: What a transaction hook leaves for after the commit (run on the event loop).
AfterCommit = Callable[[], None]
TxnHook = Callable[..., AfterCommit | None]
#: A transaction hook's pure test of the payload (keyword arguments): run it or not.
When = Callable[..., bool]


class MessageStored(TypedDict):
    """``message.stored``: who wrote to whom, the message id, the sending device (None
    when unknown) and the time it was stored (ms, the node's clock)."""

    sender: str
    to: str
    message_id: str
    sender_device: str | None
    ts: int


class ReceiptDelivered(TypedDict):
    """``receipt.delivered``: the message delivered, who sent it, the address and
    device that received it, and when (ms)."""

    message_id: str
    sender: str
    by: str
    device: str
    ts: int


EVENTS: dict[str, type] = {
    "message.stored": MessageStored,
    "receipt.delivered": ReceiptDelivered,
}


_FIELDS = {event: frozenset(payload.__annotations__) for event, payload in EVENTS.items()}


def payload_fields(event: str) -> frozenset[str]:
    """The payload's field names of a declared event (KeyError for another)."""
    return _FIELDS[event]


class Hooks:
    """Named events with prioritised handlers of both kinds (see the module docstring)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[tuple[int, Hook]]] = {}
        self._txn_hooks: dict[str, list[tuple[int, tuple[TxnHook, When | None]]]] = {}

    def on(self, event: str, handler: Hook, priority: int = 0) -> None:
        """Await ``handler(**payload)`` after the commit; ValueError if undeclared."""
        _add(self._handlers, event, handler, priority)

    def on_txn(self, event: str, hook: TxnHook, priority: int = 0, *,
               when: When | None = None) -> None:
        """Run ``hook(db, **payload)`` inside the core's write transaction (only where
        the pure test ``when(**payload)`` is true, when given); ValueError if
        undeclared."""
        _add(self._txn_hooks, event, (hook, when), priority)

    def run_txn(self, db: Any, event: str, **payload: Any) -> list[AfterCommit]:
        """Inside the core's transaction: run the transaction hooks, each in a savepoint
        of its own; return their after-commit work. A hook that raises is logged and
        rolled back alone, unless the whole transaction is gone (a full disk): then the
        error goes on to fail the core's write, as any error of its own would."""
        _check(event, payload)
        after = []
        for _, (hook, when) in self._txn_hooks.get(event, ()):
            try:  # (a test that raises is logged and skips its hook, as a hook that raises)
                if when is not None and not when(**payload):
                    continue
                with savepoint(db, "hook"):
                    done = hook(db, **payload)
            except Exception:
                if not db.conn.in_transaction:
                    raise
                log.exception("transaction hook %s for %s failed (rolled back)",
                              _name(hook), event)
                continue
            if done is not None:
                after.append(done)
        return after

    @staticmethod
    def after_commit(after: Iterable[AfterCommit]) -> None:
        """After the commit, on the loop: run what the transaction hooks left; a failing
        one is logged and stops nothing."""
        for work in after:
            try:
                work()
            except Exception:
                log.exception("after-commit work %s failed", _name(work))

    async def fire(self, event: str, **payload: Any) -> None:
        """Await the after-commit handlers in order; ValueError when the payload is not
        the declared one (a programming error: the core's own work is already
        committed)."""
        _check(event, payload)
        for _, handler in self._handlers.get(event, []):
            try:
                await handler(**payload)
            except Exception:
                log.exception("hook %s for %s failed", _name(handler), event)


def _add(table: dict[str, list[tuple[int, Any]]], event: str, handler: Any,
         priority: int) -> None:
    if event not in EVENTS:
        raise ValueError(f"no event {event!r} is declared in node.events.EVENTS")
    handlers = table.setdefault(event, [])
    handlers.append((priority, handler))
    handlers.sort(key=lambda item: -item[0])


def _check(event: str, payload: dict[str, Any]) -> None:
    if payload.keys() != _FIELDS.get(event):
        raise ValueError(f"event {event!r} fired with {sorted(payload)}, not its "
                         "declared payload")


def _name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or type(fn).__name__)
