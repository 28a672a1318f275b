"""Helpers of the inbox tests: an agent's browser page on /app/, its controls found by role
and accessible name, with its console errors and foreign requests (tests/web/helpers.py
holds the set-ups all browser tests share)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.web.helpers import PASSWORD, WAIT_MS, Watched, team_account

__all__ = ["PASSWORD", "WAIT_MS", "Agent", "artifacts", "team_account"]


def artifacts(tmp_path: Path) -> Path:
    """Where the inbox's screenshots go: $KONTOR_ARTIFACTS/inbox when set (CI keeps it),
    else pytest's tmp_path; never the checkout."""
    folder = Path(os.environ.get("KONTOR_ARTIFACTS") or tmp_path) / "inbox"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Agent(Watched):
    """One agent's browser context on /app/, watched for errors and foreign hosts."""

    @classmethod
    async def sign_in(cls, context: Any, url: str, name: str) -> Agent:
        agent = cls(await context.new_page(), url)
        await agent.page.goto(url + "/app/")
        await agent.page.get_by_label("Username").fill(name)
        await agent.page.get_by_label("Password").fill(PASSWORD)
        await agent.page.get_by_role("button", name="Sign in").click()
        await expect(agent.page.get_by_role("button", name="Sign out")).to_be_visible(
            timeout=WAIT_MS)
        await expect(agent.conversations).to_be_attached()
        return agent

    @property
    def conversations(self) -> Any:
        return self.page.get_by_role("list", name="Conversations")

    def item(self, text: str) -> Any:
        """The conversation list item that mentions ``text``."""
        return self.conversations.get_by_role("listitem").filter(has_text=text)

    @property
    def thread(self) -> Any:
        return self.page.get_by_role("list", name="Messages")

    async def open(self, text: str) -> None:
        await self.item(text).get_by_role("button").click()
        await expect(self.page.get_by_role("heading", level=2)).to_contain_text(text)

    async def send(self, text: str) -> None:
        await self.page.get_by_role("textbox", name="Message").fill(text)
        await self.page.get_by_role("button", name="Send").click()
        await expect(self.thread).to_contain_text(text, timeout=WAIT_MS)

    async def note(self, text: str) -> None:
        await self.page.get_by_role("checkbox", name="Internal note").check()
        await self.page.get_by_role("textbox", name="Message").fill(text)
        await self.page.get_by_role("button", name="Add note").click()
        await expect(self.thread.locator(".note")).to_contain_text(text, timeout=WAIT_MS)
        await self.page.get_by_role("checkbox", name="Internal note").uncheck()
