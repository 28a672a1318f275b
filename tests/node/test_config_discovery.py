"""Where the CLI finds its config, and that only ``init`` and ``run`` create a node.

Each command runs as a child process in an empty folder, with ``$HOME`` there and
``$KONTOR_CONFIG`` set or removed, as an operator would run it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from node.config import SEARCH_PATHS
from tests.nodes import REPO, write_config

SYSTEM_CONFIG = SEARCH_PATHS[-1]
NODE_COMMANDS = (["stats"], ["account", "list"], ["keys", "show"], ["federation", "status"],
                 ["business", "profile", "show"], ["device", "list", "anna"])


def kontor(cwd: Path, *args: str, env_config: Path | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "node", *args], cwd=cwd,
                          env=_env(cwd, env_config), capture_output=True, text=True,
                          timeout=60)


def _env(cwd: Path, env_config: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KONTOR_CONFIG"}
    env.update(HOME=str(cwd), PYTHONPATH=str(REPO))
    if env_config is not None:
        env["KONTOR_CONFIG"] = str(env_config)
    return env


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@pytest.mark.skipif(SYSTEM_CONFIG.exists(), reason=f"{SYSTEM_CONFIG} exists on this machine")
def test_without_a_config_every_node_command_refuses_and_creates_nothing(empty: Path) -> None:
    for args in [*NODE_COMMANDS, ["check-config"], ["backup", "out.db"]]:
        result = kontor(empty, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "no config file" in result.stderr and "$KONTOR_CONFIG" in result.stderr, args
        assert "Traceback" not in result.stderr and result.stdout == "", args
        assert list(empty.iterdir()) == [], f"{args} created {list(empty.iterdir())}"


def test_a_config_without_a_node_is_not_initialised_by_other_commands(
        empty: Path, tmp_path: Path) -> None:
    ini = write_config(tmp_path / "shop", server_name="shop.test")
    data = tmp_path / "shop" / "data"
    for args in NODE_COMMANDS:
        result = kontor(empty, *args, env_config=ini)
        assert result.returncode == 2, (args, result.stderr)
        assert f"{data} does not exist" in result.stderr and "kontor init" in result.stderr
        assert not data.exists(), f"{args} created the data directory"
    assert kontor(empty, "init", env_config=ini).returncode == 0
    shown = kontor(empty, "keys", "show", env_config=ini)
    assert shown.returncode == 0, shown.stderr
    assert "server name  shop.test" in shown.stdout
    assert list(empty.iterdir()) == []


def test_the_config_is_found_in_the_documented_order(empty: Path, tmp_path: Path) -> None:
    """-c FILE, then $KONTOR_CONFIG, then ./node.ini (then /etc/kontor/node.ini)."""
    by_env = write_config(tmp_path / "env", server_name="env.test")
    by_flag = write_config(tmp_path / "flag", server_name="flag.test")
    write_config(empty, server_name="here.test")
    for ini in (by_env, by_flag, empty / "node.ini"):
        assert kontor(empty, "init", "-c", str(ini)).returncode == 0

    def shown(*args: str, env_config: Path | None = None) -> str:
        result = kontor(empty, "keys", "show", *args, env_config=env_config)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[0]
    assert shown() == "server name  here.test"
    assert shown(env_config=by_env) == "server name  env.test"
    assert shown("-c", str(by_flag), env_config=by_env) == "server name  flag.test"


@pytest.mark.skipif(SYSTEM_CONFIG.exists(), reason=f"{SYSTEM_CONFIG} exists on this machine")
def test_init_and_run_without_a_config_say_they_use_the_defaults(empty: Path) -> None:
    init = kontor(empty, "init")
    assert init.returncode == 0, init.stderr
    assert "built-in loopback defaults" in init.stdout.splitlines()[0]
    assert (empty / "kontor-data" / "kontor.db").exists()
    run = subprocess.Popen([sys.executable, "-m", "node", "run"], cwd=empty,
                           env=_env(empty, None), stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    try:
        assert run.stderr is not None
        first = run.stderr.readline()
        assert "built-in loopback defaults" in first
        assert "localhost:8448 on 127.0.0.1:8448" in first
    finally:
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=30)
