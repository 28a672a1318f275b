"""The erasure log: which addresses were erased, kept beside the database.

A restore brings back a database from before some erasures; this log, which a restore
does not replace, says which of its people must be erased again. It must not itself
name them, so each line holds a keyed hash of the address::

    <erased at, ms> <hex HMAC-SHA256(erasure key, address)>

The erasure key (32 random bytes, ``keys/erasure.key``, 0600) is made with the node's
other keys and goes into every backup with them. The log is append-only, 0600, named
after the database (``kontor.db.erasures``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from node.config import Config

KEY_NAME = "erasure.key"
MAX_LOG_BYTES = 64 * 1024 * 1024


def log_path(config: Config) -> Path:
    return config.database_path.with_name(config.database_path.name + ".erasures")


def key_path(data_dir: Path) -> Path:
    return data_dir / "keys" / KEY_NAME


def ensure_key(data_dir: Path) -> bytes:
    """The erasure key, made on first use (never replaced)."""
    path = key_path(data_dir)
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def tag(key: bytes, address: str) -> str:
    return hmac.new(key, address.lower().encode(), hashlib.sha256).hexdigest()


def record(config: Config, address: str, now_ms: int) -> None:
    """Append ``address`` (as its keyed hash) to the log, durably."""
    line = f"{now_ms} {tag(ensure_key(config.data_dir), address)}\n".encode()
    fd = os.open(log_path(config), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def tags(path: Path) -> dict[str, int]:
    """Hash -> when it was last erased, from a log file (malformed lines are skipped)."""
    if not path.exists():
        return {}
    with open(path, "rb") as fh:
        raw = fh.read(MAX_LOG_BYTES)
    out: dict[str, int] = {}
    for line in raw.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[1]) == 64 and parts[0].isdigit():
            out[parts[1]] = max(int(parts[0]), out.get(parts[1], 0))
    return out


def erased_among(config: Config, addresses: Iterable[str], since_ms: int) -> list[str]:
    """Those of ``addresses`` the log says were erased at or after ``since_ms`` (earlier
    erasures are in a backup taken later; someone who wrote again after them is back)."""
    logged = tags(log_path(config))
    if not logged:
        return []
    key = ensure_key(config.data_dir)
    return sorted(a for a in set(addresses) if logged.get(tag(key, a), -1) >= since_ms)
