"""A consistent copy of a live database file, taken with SQLite's online backup API."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from node.storage.connection import BUSY_TIMEOUT_MS


def backup(source: Path, target: Path, progress: Callable[[int, int], None] | None = None,
           pages_per_step: int = 256) -> None:
    """Copy the live database ``source`` to ``target`` with SQLite's online backup API.

    Safe while a node writes: the copy is a consistent snapshot. ``target`` must not
    exist (a backup never overwrites).
    """
    if target.exists():
        raise FileExistsError(str(target))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.close(fd)
    dst = sqlite3.connect(str(tmp))
    try:
        def report(status: int, remaining: int, total: int) -> None:
            if progress:
                progress(total - remaining, total)
        src.backup(dst, pages=pages_per_step, progress=report)
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()
    os.replace(tmp, target)
