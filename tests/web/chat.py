"""Helpers of the chat page tests: the shop's admin on the Python SDK, the chat page in a
watched browser page, and waiting for what the guest sends (tests/web/helpers.py holds the
set-ups all browser tests share; the `chat_shop` fixture is in tests/web/conftest.py)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from node.client import Client, Message
from tests.nodes import RunningNode
from tests.web.helpers import PASSPHRASE, PASSWORD, WAIT_MS, Watched, team_account

ALL_DAY = {day: [{"open": "00:00", "close": "24:00"}]
           for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def artifacts(tmp_path: Path) -> Path:
    """Where screenshots go: $KONTOR_ARTIFACTS when set (kept by CI), else tmp_path."""
    folder = Path(os.environ.get("KONTOR_ARTIFACTS") or tmp_path) / "chat-page"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def admin(shop: RunningNode, tmp_path: Path) -> Client:
    """The shop's admin `olga` on a Python SDK device: sets the profile, answers."""
    await team_account(shop, "olga", "admin")
    return await Client.login(shop.url, "olga", PASSWORD, passphrase=PASSPHRASE,
                              store=tmp_path / "olga.kontor")


async def open_chat(context: Any, url: str) -> Watched:
    """/chat in a new page of ``context``, once its composer is there."""
    customer = Watched(await context.new_page(), url)
    await customer.page.goto(url + "/chat")
    await expect(customer.page.get_by_role("textbox", name="Message")).to_be_visible(
        timeout=WAIT_MS)
    return customer


async def next_of(client: Client, kind: type, count: int = 1) -> list[Message]:
    """The next ``count`` messages whose content is a ``kind``."""
    got: list[Message] = []
    async with asyncio.timeout(WAIT_MS / 1000):
        while len(got) < count:
            got += [m for m in await client.sync_once(timeout_ms=2000)
                    if isinstance(m, Message) and isinstance(m.content, kind)]
    return got


async def texts_from(client: Client, sender_prefix: str, count: int) -> list[Message]:
    """The next ``count`` text messages whose sender starts with ``sender_prefix``."""
    got: list[Message] = []
    async with asyncio.timeout(WAIT_MS / 1000):
        while len(got) < count:
            got += [m for m in await client.sync_once(timeout_ms=2000)
                    if isinstance(m, Message) and m.type == "text"
                    and m.sender.startswith(sender_prefix)]
    return got
