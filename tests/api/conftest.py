"""Fixtures for client API tests: a running node and accounts on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.nodes import RunningNode, running_node, write_config


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    """A node with open registration on a loopback port."""
    ini = write_config(tmp_path / "node", sections={"accounts": {"registration": "open"}})
    async with running_node(ini) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
