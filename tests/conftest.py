"""Shared fixtures: fresh configs and data folders under pytest's tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.nodes import write_config


@pytest.fixture
def node_ini(tmp_path: Path) -> Path:
    """A config file for one loopback node with its own data folder."""
    return write_config(tmp_path / "node")
