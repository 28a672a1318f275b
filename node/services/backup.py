"""``kontor backup``: one archive with everything a node needs to come back.

The archive is a tar file (0600, written beside the target and renamed into place, never
over an existing file)::

    kontor.db                 consistent snapshot (SQLite online backup API)
    kontor.db.erasures        the erasure log, if there is one
    keys/...                  the signing key and the erasure key
    automation/device.store   the automation device's store (online backup too)
    automation/passphrase
    media/xx/<media id>       every media file
    manifest.json             last: format, server name, times (``snapshot_ms``: just
                              before the database snapshot), every file's size and SHA-256

It is safe while the node runs: both SQLite files are copied with the online backup API
(each copy is one consistent snapshot), media files are immutable once stored (one
deleted meanwhile is left out). ``node.services.restore`` reads it back.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.config import Config
from node.services import erasure_log
from node.services.accounts import now_ms
from node.storage import online_backup

FORMAT = "kontor-backup/1"
MANIFEST = "manifest.json"
DATABASE = "kontor.db"
ERASURES = "kontor.db.erasures"
AUTOMATION_STORE = "automation/device.store"
AUTOMATION_PASSPHRASE = "automation/passphrase"
CHUNK = 1024 * 1024

#: ``progress(what, done, total)``: bytes of media copied so far, of how many.
Progress = Callable[[str, int, int], None]


@dataclass
class BackupReport:
    path: Path
    server_name: str
    files: int = 0
    media_files: int = 0
    media_bytes: int = 0
    total_bytes: int = 0
    manifest: dict[str, dict[str, object]] = field(default_factory=dict)


def write_backup(config: Config, out: Path, progress: Progress | None = None) -> BackupReport:
    """Write the archive ``out`` (which must not exist) for the node of ``config``."""
    if out.exists():
        raise FileExistsError(str(out))
    if not config.database_path.exists():
        raise FileNotFoundError(f"{config.database_path} does not exist")
    report = BackupReport(out, config.node.server_name)
    partial = out.with_name(f".{out.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".kontor-backup-") as tmp, \
                os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            snapshot_ms = now_ms()  # erasures from now on are re-applied by a restore
            for name, path in _sources(config, Path(tmp)):
                _add(tar, report, name, path)
            _add_media(tar, report, config.data_dir / "media", progress)
            manifest = {"format": FORMAT, "server_name": config.node.server_name,
                        "created_ms": now_ms(), "snapshot_ms": snapshot_ms,
                        "files": report.manifest}
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return report


def _sources(config: Config, tmp: Path) -> Iterator[tuple[str, Path]]:
    """(name in the archive, file to read) of everything but media."""
    snapshot = tmp / DATABASE
    online_backup.backup(config.database_path, snapshot)
    yield DATABASE, snapshot
    log = erasure_log.log_path(config)
    if log.exists():
        yield ERASURES, log
    keys = config.data_dir / "keys"
    for path in sorted(keys.iterdir()) if keys.is_dir() else []:
        if path.is_file():
            yield f"keys/{path.name}", path
    automation = config.data_dir / "automation"
    store = automation / "device.store"
    if store.exists():
        copy = tmp / "device.store"
        _sqlite_snapshot(store, copy)
        yield AUTOMATION_STORE, copy
        yield AUTOMATION_PASSPHRASE, automation / "passphrase"


def _sqlite_snapshot(source: Path, target: Path) -> None:
    """An online-backup copy of any SQLite file (the automation store is one)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=10)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _add(tar: tarfile.TarFile, report: BackupReport, name: str, path: Path,
         on_chunk: Callable[[int], None] | None = None) -> int | None:
    """Add one file with its checksum; its size, or None when it vanished meanwhile."""
    try:
        with open(path, "rb") as fh:
            stat = os.fstat(fh.fileno())
            digest = hashlib.sha256()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = stat.st_size, 0o600, int(stat.st_mtime)
            tar.addfile(info, _HashingReader(fh, digest, on_chunk))
    except FileNotFoundError:
        return None
    report.manifest[name] = {"size": stat.st_size, "sha256": digest.hexdigest()}
    report.files += 1
    report.total_bytes += stat.st_size
    return stat.st_size


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, now_ms() // 1000
    tar.addfile(info, io.BytesIO(data))


def _add_media(tar: tarfile.TarFile, report: BackupReport, media: Path,
               progress: Progress | None) -> None:
    files = sorted(p for p in media.rglob("*") if p.is_file()) if media.is_dir() else []
    total = sum(p.stat().st_size for p in files if p.exists())
    done = 0

    def advanced(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress("media", done, total)
    for path in files:
        size = _add(tar, report, f"media/{path.relative_to(media).as_posix()}", path, advanced)
        if size is not None:
            report.media_files += 1
            report.media_bytes += size
    if progress:
        progress("media", total, total)


class _HashingReader:
    """A file object that hashes what tarfile reads from it."""

    def __init__(self, fh: io.BufferedReader, digest: Any,
                 on_chunk: Callable[[int], None] | None) -> None:
        self.fh, self.digest, self.on_chunk = fh, digest, on_chunk

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.digest.update(data)
        if self.on_chunk and data:
            self.on_chunk(len(data))
        return data
