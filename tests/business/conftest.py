"""Fixtures for business-layer tests: a running node with open registration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.nodes import RunningNode, running_node, write_config


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    """A loopback node whose business lives in Europe/Berlin."""
    ini = write_config(tmp_path / "node", sections={
        "accounts": {"registration": "open"},
        "business": {"account": "shop", "timezone": "Europe/Berlin"}})
    async with running_node(ini) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
