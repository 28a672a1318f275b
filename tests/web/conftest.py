"""Fixtures of the web tests: the built bundle, a node, and Chromium through Playwright."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.nodes import RunningNode, running_node, write_config
from tests.web.helpers import CHROMIUM_ARGS, chromium, ensure_bundle


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
