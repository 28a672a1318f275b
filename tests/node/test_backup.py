"""Backups are consistent snapshots even while the node writes."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

from node.config import load_config
from node.services.setup import init_node
from node.storage import db as dbmod
from node.storage import nodestore, online_backup
from tests.nodes import REPO


def write_pair_txn(db, i: int) -> None:  # type: ignore[no-untyped-def]
    nodestore.set_meta_txn(db, f"a{i}", str(i))
    nodestore.set_meta_txn(db, f"b{i}", str(i))


async def test_backup_while_writing_is_complete_and_consistent(node_ini: Path,
                                                               tmp_path: Path) -> None:
    config = load_config(node_ini)
    init_node(config)
    database = dbmod.Database(config.database_path)
    writing = asyncio.Event()
    stop = asyncio.Event()

    async def writer() -> int:
        i = 0
        while not stop.is_set() and i < 20_000:
            await database.write(write_pair_txn, i)
            i += 1
            if i == 50:
                writing.set()
        return i

    task = asyncio.create_task(writer())
    await asyncio.wait_for(writing.wait(), 10)
    out = tmp_path / "copy.db"
    # One page per step: the copy spans many writer transactions.
    await asyncio.to_thread(online_backup.backup, config.database_path, out, None, 1)
    stop.set()
    written = await task
    database.close()

    copy = sqlite3.connect(out)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = dict(copy.execute("SELECT key, value FROM node_meta WHERE key GLOB '[ab][0-9]*'"))
    a = {k[1:] for k in rows if k.startswith("a")}
    b = {k[1:] for k in rows if k.startswith("b")}
    assert a == b, "every transaction is either wholly in the copy or wholly absent"
    assert 50 <= len(a) <= written
    assert copy.execute("SELECT value FROM node_meta WHERE key='server_name'").fetchone()
    copy.close()


def test_backup_command_refuses_to_overwrite(node_ini: Path, tmp_path: Path) -> None:
    init_node(load_config(node_ini))
    out = tmp_path / "b.db"
    cmd = [sys.executable, "-m", "node", "backup", "-c", str(node_ini), str(out)]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert first.returncode == 0, first.stderr
    with tarfile.open(out) as tar:
        names = tar.getnames()
        assert {"kontor.db", "keys/signing.key", "manifest.json"} <= set(names)
        snapshot = tmp_path / "snapshot.db"
        snapshot.write_bytes(tar.extractfile("kontor.db").read())  # type: ignore[union-attr]
    assert sqlite3.connect(snapshot).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    before = out.read_bytes()
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert second.returncode == 2
    assert "already exists" in second.stderr
    assert out.read_bytes() == before


def test_backup_shows_progress_for_large_media(node_ini: Path, tmp_path: Path) -> None:
    config = load_config(node_ini)
    init_node(config)
    blob = config.data_dir / "media" / "ab" / ("ab" + "c" * 41)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(os.urandom(9 * 2**20))
    out = tmp_path / "b.tar"
    done = subprocess.run([sys.executable, "-m", "node", "backup", "-c", str(node_ini),
                           str(out)], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "media: 9.0 of 9.0 MiB" in done.stderr
    assert "1 media files" in done.stdout
    with tarfile.open(out) as tar:
        member = tar.extractfile(f"media/ab/{blob.name}")
        assert member is not None and member.read() == blob.read_bytes()
