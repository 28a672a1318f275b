"""``kontor business profile``, ``kontor stats`` and ``kontor customer`` on a config file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from node.cli import main
from node.config import load_config
from node.nodekey import key_path, load_key
from node.services.accounts import now_ms
from node.services.business.signed import verify_document
from node.storage import wal
from tests.business.helpers import biz, fire_message
from tests.nodes import initialised, running_node, write_config


@pytest.fixture
def ini(tmp_path: Path) -> Path:
    return initialised(write_config(tmp_path / "node",
                                    sections={"business": {"account": "shop"}}))


def test_profile_show_and_set(ini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["business", "profile", "show", "-c", str(ini)]) == 0
    assert "version:" in capsys.readouterr().out
    code = main(["business", "profile", "set", "-c", str(ini), "--name", "Kaffee Kontor",
                 "--postal-address", "Hauptstr. 1", "--timezone", "Europe/Berlin",
                 "--hours", "mon=09:00-12:00,13:00-17:00", "--hours", "sat=10:00-14:00",
                 "--exception", "2025-12-25=closed"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Kaffee Kontor" in out and "09:00-12:00, 13:00-17:00" in out
    assert "2025-12-25:" in out and "version:         1" in out
    assert main(["business", "profile", "set", "-c", str(ini), "--hours", "sat=closed",
                 "--clear-exception", "2025-12-25"]) == 0
    capsys.readouterr()
    assert main(["business", "profile", "show", "-c", str(ini), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == 2 and "sat" in doc["hours"] and doc["hours"]["sat"] == []
    assert doc["exceptions"] == {} and doc["hours"]["mon"][1] == {"open": "13:00",
                                                                  "close": "17:00"}
    key = load_key(key_path(load_config(ini).data_dir))
    assert verify_document(doc, doc["server_name"], key.key_id, key.public_key)
    for bad in (["--hours", "someday=09:00-10:00"], ["--timezone", "Nowhere/Town"],
                ["--email", "nope"], []):
        assert main(["business", "profile", "set", "-c", str(ini), *bad]) == 2, bad
        assert "error" in capsys.readouterr().err


def test_stats_and_customer_export_erase(ini: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    async def make_data() -> str:
        async with running_node(ini) as node:
            b = biz(node)
            now = now_ms()
            await fire_message(node, "eve@remote.example", b.address, "m1", now - 60_000)
            await fire_message(node, b.address, "eve@remote.example", "m2", now)
            return b.address
    asyncio.run(make_data())
    assert main(["stats", "-c", str(ini), "--days", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:3] == ["DATE", "STARTED", "RECEIVED"]
    total = out[-1].split()
    assert total[:5] == ["total", "1", "1", "1", "0"] and total[-1] == "1m00s"
    assert main(["stats", "-c", str(ini), "--days", "0"]) == 2
    capsys.readouterr()

    target = tmp_path / "eve.json"
    assert main(["customer", "export", "eve@remote.example", "-c", str(ini),
                 "-o", str(target)]) == 0
    exported = json.loads(target.read_text())
    assert exported["conversation"]["customer"] == "eve@remote.example"
    assert len(exported["message_log"]) == 2
    assert main(["customer", "export", "eve@remote.example", "-c", str(ini),
                 "-o", str(target)]) == 2, "an export never overwrites"
    assert main(["customer", "erase", "eve@remote.example", "-c", str(ini)]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["customer", "erase", "eve@remote.example", "-c", str(ini), "--yes"]) == 0
    assert "erased eve@remote.example" in capsys.readouterr().out
    assert main(["customer", "export", "eve@remote.example", "-c", str(ini)]) == 0
    assert json.loads(capsys.readouterr().out)["conversation"] is None
    assert main(["customer", "export", "not-an-address", "-c", str(ini)]) == 2


def test_customer_erase_says_when_the_log_stayed_busy(
        ini: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader holding a snapshot from before keeps the log in use for the whole erase
    (its one try waits out the busy timeout, 10 s): the CLI says what it means and what
    to do, and exits 1; erasing again once the reader is gone truncates it (exit 0)."""
    async def make_data() -> None:
        async with running_node(ini) as node:
            await fire_message(node, "eve@remote.example", biz(node).address, "m1", now_ms())
    asyncio.run(make_data())
    monkeypatch.setattr(wal, "TRUNCATE_SECONDS", 0.3)
    reader = sqlite3.connect(load_config(ini).database_path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM accounts").fetchone()
        code = main(["customer", "erase", "eve@remote.example", "-c", str(ini), "--yes"])
    finally:
        reader.close()
    captured = capsys.readouterr()
    assert code == 1 and "erased eve@remote.example" in captured.out
    assert "was not truncated" in captured.err and "run this erase again" in captured.err
    assert main(["customer", "erase", "eve@remote.example", "-c", str(ini), "--yes"]) == 0
    assert capsys.readouterr().err == ""
