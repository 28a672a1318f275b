"""Operator commands: clear one-line errors instead of tracebacks, accounts' passwords,
the DNS records to publish."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from node.cli import main
from tests.nodes import REPO, initialised, write_config


def test_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ini = write_config(tmp_path / "n", port=taken.getsockname()[1])
        run = subprocess.run([sys.executable, "-m", "node", "run", "-c", str(ini)], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "address already in use" in run.stderr and "listen_port" in run.stderr


def test_password_set_and_account_removal(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ini = str(initialised(write_config(tmp_path / "n")))
    assert main(["account", "add", "anna", "--role", "agent", "--no-password", "-c", ini]) == 0
    monkeypatch.setattr("sys.stdin", _Lines("a new long password\n"))
    assert main(["account", "password", "anna", "--password-stdin", "-c", ini]) == 0
    assert "password of anna@" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", _Lines("short\n"))
    assert main(["account", "password", "anna", "--password-stdin", "-c", ini]) == 2
    assert main(["account", "remove", "anna", "-c", ini]) == 2, "needs --yes"
    assert main(["account", "remove", "anna", "--yes", "-c", ini]) == 0
    assert main(["account", "remove", "business", "--yes", "-c", ini]) == 2
    err = capsys.readouterr().err
    assert "CANNOT_REMOVE" in err
    monkeypatch.setattr("sys.stdin", _Lines("a new long password\n"))
    assert main(["account", "password", "anna", "--password-stdin", "-c", ini]) == 2
    assert "UNKNOWN_ACCOUNT" in capsys.readouterr().err


class _Lines:
    """A stand-in standard input with fixed lines (not a terminal)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return self.lines.pop(0) if self.lines else ""


def test_keys_dns_prints_srv_and_pin_only_for_a_public_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ini = write_config(tmp_path / "n", server_name="shop.example",
                       sections={"node": {"public_url": "https://kontor.shop.example"}})
    assert main(["keys", "dns", "-c", str(ini)]) == 2, "no key yet"
    assert "kontor init" in capsys.readouterr().err
    assert main(["init", "-c", str(ini)]) == 0
    capsys.readouterr()
    assert main(["keys", "dns", "-c", str(ini)]) == 0
    out = capsys.readouterr().out
    assert "_kontor._tcp.shop.example. 3600 IN SRV 10 10 443 kontor.shop.example." in out
    assert '_kontor-key.shop.example. 3600 IN TXT "v=kontor1 ed25519=' in out
    plain = write_config(tmp_path / "m", server_name="shop.example")
    assert main(["init", "-c", str(plain)]) == 0
    capsys.readouterr()
    assert main(["keys", "dns", "-c", str(plain)]) == 0
    out = capsys.readouterr().out
    assert "IN SRV" not in out and "set [node] public_url" in out
