"""The erasure log: who was erased, removed or logged out, kept beside the database.

A restore brings back a database from before some erasures, account removals and device
revocations; this log, which a restore does not replace, says which of them to make
again (an erased customer stays erased, a removed agent cannot log in, a revoked phone's
token stays dead). It must not itself name anyone, so each line holds a keyed hash::

    <at, ms> <hex HMAC-SHA256(erasure key, address)>                 an erasure
    <at, ms> <kind> <hex HMAC-SHA256(erasure key, kind:identifier)>  account | device

(a device's identifier is ``address/device_id``). The erasure key (32 random bytes,
``keys/erasure.key``, 0600) is made with the node's other keys and goes into every
backup with them. The log is append-only, 0600, named after the database
(``kontor.db.erasures``).
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


KINDS = ("erase", "account", "device")


def tag(key: bytes, identifier: str, kind: str = "erase") -> str:
    text = identifier.lower() if kind == "erase" else f"{kind}:{identifier}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def record(config: Config, identifier: str, now_ms: int, kind: str = "erase") -> None:
    """Append ``identifier`` (an address; ``address/device_id`` for a device) as its
    keyed hash to the log, durably."""
    assert kind in KINDS
    digest = tag(ensure_key(config.data_dir), identifier, kind)
    line = (f"{now_ms} {digest}\n" if kind == "erase" else f"{now_ms} {kind} {digest}\n")
    fd = os.open(log_path(config), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def tags(path: Path) -> dict[tuple[str, str], int]:
    """(kind, hash) -> when it was last logged, from a log file (malformed lines are
    skipped)."""
    if not path.exists():
        return {}
    with open(path, "rb") as fh:
        raw = fh.read(MAX_LOG_BYTES)
    out: dict[tuple[str, str], int] = {}
    for line in raw.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2:
            parts.insert(1, "erase")
        if len(parts) == 3 and parts[1] in KINDS and len(parts[2]) == 64 \
                and parts[0].isdigit():
            key = (parts[1], parts[2])
            out[key] = max(int(parts[0]), out.get(key, 0))
    return out


def logged_among(config: Config, identifiers: Iterable[str], since_ms: int,
                 kind: str = "erase") -> list[str]:
    """Those of ``identifiers`` the log names under ``kind`` at or after ``since_ms``
    (earlier entries are in a backup taken later; someone who came back after an
    erasure is back)."""
    logged = tags(log_path(config))
    if not logged:
        return []
    key = ensure_key(config.data_dir)
    return sorted(i for i in set(identifiers)
                  if logged.get((kind, tag(key, i, kind)), -1) >= since_ms)
