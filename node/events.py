"""A small hook registry: features react to named events instead of being wired in.

Like Prosody's modules, a feature registers handlers for events such as
``message.stored`` with a priority; the core fires the event after its own work has
committed. A failing hook is logged and does not undo or block the core's work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("kontor.events")

Hook = Callable[..., Awaitable[None]]


class Hooks:
    """Named events with prioritised async handlers (higher priority runs first)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[tuple[int, Hook]]] = {}

    def on(self, event: str, handler: Hook, priority: int = 0) -> None:
        handlers = self._handlers.setdefault(event, [])
        handlers.append((priority, handler))
        handlers.sort(key=lambda item: -item[0])

    async def fire(self, event: str, **payload: Any) -> None:
        for _, handler in self._handlers.get(event, []):
            try:
                await handler(**payload)
            except Exception:
                log.exception("hook %s for %s failed", getattr(handler, "__name__", "?"), event)
