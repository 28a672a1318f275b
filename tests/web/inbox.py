"""Helpers of the inbox tests: a business node, team accounts, and an agent's browser page
found by role and accessible name, with its console errors and foreign requests."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import expect

from node.appkeys import DB
from node.services import accounts
from tests.nodes import RunningNode

PASSWORD = "correct horse battery"
WAIT_MS = 20_000


async def team_account(node: RunningNode, name: str, role: str = "agent") -> str:
    """An admin or agent account (the operator's path); its address."""
    address = accounts.make_address(name, node.config.node.server_name)
    await accounts.create_account(node.app[DB], address, role, PASSWORD)
    return address


class Agent:
    """One agent's browser context on /app/, watched for errors and foreign hosts."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.url = url
        self.console_errors: list[str] = []
        self.foreign_requests: list[str] = []
        origin = urlsplit(url).netloc
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.on("request", lambda r: urlsplit(r.url).scheme in ("http", "https", "ws", "wss")
                and urlsplit(r.url).netloc != origin and self.foreign_requests.append(r.url))

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

    def clean(self) -> None:
        assert self.console_errors == [], self.console_errors
        assert self.foreign_requests == [], self.foreign_requests
