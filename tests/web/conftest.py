"""Fixtures of the web tests: the built bundle, a node, a shop's node, Chromium through
Playwright with its contexts, and Python SDK devices (the helpers are in helpers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.nodes import RunningNode, running_node, write_config
from tests.sdk.conftest import fast_store_kdf  # noqa: F401  (autouse: quick SDK stores)
from tests.web.helpers import CHROMIUM_ARGS, Clients, Contexts, chromium, ensure_bundle, shop_node


@pytest.fixture(scope="session")
def web_bundle() -> Path:
    """The built bundle (built once per session if this checkout has none)."""
    return ensure_bundle()


@pytest.fixture
async def web_node(tmp_path: Path, web_bundle: Path) -> AsyncIterator[RunningNode]:
    ini = write_config(tmp_path / "node", sections={"accounts": {"registration": "open"}})
    async with running_node(ini) as running:
        yield running


@pytest.fixture
async def browser(web_bundle: Path) -> AsyncIterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never `playwright install`)."""
    executable = chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                            headless=True)
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
async def shop(tmp_path: Path, web_bundle: Path) -> AsyncIterator[RunningNode]:
    """A business's node (business account `shop`) with open registration."""
    async with shop_node(tmp_path, accounts={"registration": "open"}) as running:
        yield running


@pytest.fixture
async def chat_shop(tmp_path: Path, web_bundle: Path) -> AsyncIterator[RunningNode]:
    """A business's node with the web chat on (a low proof-of-work difficulty)."""
    async with shop_node(tmp_path, webchat={"enabled": "true", "pow_difficulty": 10}) as running:
        yield running


@pytest.fixture
async def contexts(browser: Any) -> AsyncIterator[Contexts]:
    """``await contexts(**options)``: a new browser context, closed at the end."""
    made = Contexts(browser)
    yield made
    await made.close()


@pytest.fixture
async def clients(tmp_path: Path) -> AsyncIterator[Clients]:
    """``await clients(url, name, login=False)``: a Python SDK device, closed at the end."""
    made = Clients(tmp_path)
    yield made
    await made.close()
