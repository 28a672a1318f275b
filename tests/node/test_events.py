"""The hook registry: declared events only, their payloads as declared, by priority."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from node.events import EVENTS, Hooks, payload_fields

STORED = {"sender": "carl@c.test", "to": "shop@s.test", "message_id": "m1",
          "sender_device": "D", "ts": 1}


async def test_handlers_run_by_priority_and_a_failing_one_stops_nothing(
        caplog: pytest.LogCaptureFixture) -> None:
    hooks, seen = Hooks(), []

    async def low(**payload: Any) -> None:
        seen.append(("low", payload))

    async def high(**payload: Any) -> None:
        seen.append(("high", payload))
        raise RuntimeError("broken feature")

    hooks.on("message.stored", low, priority=1)
    hooks.on("message.stored", high, priority=100)
    with caplog.at_level(logging.ERROR, logger="kontor.events"):
        await hooks.fire("message.stored", **STORED)
    assert seen == [("high", STORED), ("low", STORED)]
    assert "broken feature" in caplog.text


async def test_only_declared_events_with_their_declared_payload() -> None:
    hooks = Hooks()

    async def handler(**payload: Any) -> None:
        raise AssertionError("must not run")

    with pytest.raises(ValueError):
        hooks.on("message.received", handler)
    hooks.on("message.stored", handler)
    with pytest.raises(ValueError):
        await hooks.fire("message.stored", **{**STORED, "extra": 1})
    with pytest.raises(ValueError):
        await hooks.fire("message.stored", sender="a@b")
    with pytest.raises(ValueError):
        await hooks.fire("message.unknown")
    assert payload_fields("receipt.delivered") == {"message_id", "by", "device", "ts"}
    assert set(EVENTS) == {"message.stored", "receipt.delivered"}
