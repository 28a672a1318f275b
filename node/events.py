"""A small hook registry: features react to named events instead of being wired in.

Like Prosody's modules, a feature registers handlers for events such as
``message.stored`` with a priority; the core fires the event after its own work has
committed. A failing hook is logged and does not undo or block the core's work.

Every event is declared in ``EVENTS`` with its payload (a TypedDict, passed to the
handlers as keyword arguments); ``on`` refuses an undeclared event and ``fire`` a
payload that does not match its declaration, so this list is complete:

- ``message.stored`` (``MessageStored``): a message was stored for delivery, sent here
  (``node.services.messaging.send``) or received from another node
  (``node.services.inbound.receive_transaction``); not fired for repairs.
  Handlers: the business inbox (``business.conversations.on_message_stored``, priority
  100) and the automation device (greeting and away messages, priority 10).
- ``receipt.delivered`` (``ReceiptDelivered``): a recipient's device acknowledged a
  message (here, or reported by another node). Handler: the business's delivery
  statistics (``business.stats.on_receipt_delivered``, priority 100).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

log = logging.getLogger("kontor.events")

Hook = Callable[..., Awaitable[None]]


class MessageStored(TypedDict):
    """``message.stored``: who wrote to whom, the message id, the sending device (None
    when unknown) and the time it was stored (ms, the node's clock)."""

    sender: str
    to: str
    message_id: str
    sender_device: str | None
    ts: int


class ReceiptDelivered(TypedDict):
    """``receipt.delivered``: the message delivered, the address and device that
    received it, and when (ms)."""

    message_id: str
    by: str
    device: str
    ts: int


EVENTS: dict[str, type] = {
    "message.stored": MessageStored,
    "receipt.delivered": ReceiptDelivered,
}


def payload_fields(event: str) -> frozenset[str]:
    """The payload's field names of a declared event (KeyError for another)."""
    return frozenset(EVENTS[event].__annotations__)


class Hooks:
    """Named events with prioritised async handlers (higher priority runs first)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[tuple[int, Hook]]] = {}

    def on(self, event: str, handler: Hook, priority: int = 0) -> None:
        """Run ``handler(**payload)`` when ``event`` fires; ValueError if undeclared."""
        if event not in EVENTS:
            raise ValueError(f"no event {event!r} is declared in node.events.EVENTS")
        handlers = self._handlers.setdefault(event, [])
        handlers.append((priority, handler))
        handlers.sort(key=lambda item: -item[0])

    async def fire(self, event: str, **payload: Any) -> None:
        """Call the handlers in order; ValueError when the payload is not the declared
        one (a programming error: the core's own work is already committed)."""
        if event not in EVENTS or set(payload) != payload_fields(event):
            raise ValueError(f"event {event!r} fired with {sorted(payload)}, not its "
                             "declared payload")
        for _, handler in self._handlers.get(event, []):
            try:
                await handler(**payload)
            except Exception:
                log.exception("hook %s for %s failed", getattr(handler, "__name__", "?"), event)
