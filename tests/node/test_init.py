"""``kontor init``: creates what is missing, with tight permissions, and is idempotent."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from node.config import load_config
from node.errors import ConfigError
from node.nodekey import KeyFileError, key_path, load_key
from node.services.setup import init_node
from node.storage import db as dbmod
from node.storage import nodestore
from tests.nodes import REPO, write_config


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_private_files_and_is_idempotent(node_ini: Path) -> None:
    config = load_config(node_ini)
    first = init_node(config)
    assert first.created_dir and first.created_key
    assert first.migrations, "a new database applies the migrations"
    assert mode(config.data_dir) == 0o700
    kp = key_path(config.data_dir)
    assert mode(kp) == 0o600
    assert mode(config.database_path) == 0o600
    key_bytes = kp.read_bytes()

    second = init_node(config)
    assert not second.created_dir and not second.created_key
    assert second.migrations == []
    assert kp.read_bytes() == key_bytes
    assert second.key is not None and first.key is not None
    assert second.key.key_id == first.key.key_id

    db = dbmod.connect(config.database_path)
    try:
        keys = nodestore.list_keys(db)
        assert [k["key_id"] for k in keys] == [first.key.key_id]
        assert dbmod.schema_version(db) == len(first.migrations)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def test_init_command_twice_via_cli(node_ini: Path) -> None:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "node", "init", "-c", str(node_ini)],
                              capture_output=True, text=True, cwd=REPO, timeout=60)
    first, second = run(), run()
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "(created)" in first.stdout
    assert "(kept)" in second.stdout and "schema is current" in second.stdout


def test_key_readable_by_others_is_refused(node_ini: Path) -> None:
    config = load_config(node_ini)
    init_node(config)
    kp = key_path(config.data_dir)
    kp.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_key(kp)


def test_server_name_cannot_change_under_a_database(tmp_path: Path) -> None:
    ini = write_config(tmp_path, server_name="shop.example")
    init_node(load_config(ini))
    ini2 = write_config(tmp_path, server_name="other.example")
    with pytest.raises(ConfigError, match="belongs to 'shop.example'"):
        init_node(load_config(ini2))
