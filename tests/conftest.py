"""Shared fixtures: fresh configs and data folders under pytest's tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.nodes import release_ports, write_config


@pytest.fixture(autouse=True)
def _ports_kept_for_the_test() -> Iterator[None]:
    """Ports from ``free_port`` stay reserved for the whole test (restarts included)."""
    yield
    release_ports()


@pytest.fixture
def node_ini(tmp_path: Path) -> Path:
    """A config file for one loopback node with its own data folder."""
    return write_config(tmp_path / "node")
