"""The run lock: a running node holds ``<data_dir>/kontor.lock`` (``flock``) for as long
as it serves, so that ``kontor restore`` can refuse to replace the files of a running
node. The kernel drops the lock when the process ends, however it ends."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from node.errors import KontorError

LOCK_NAME = "kontor.lock"


class NodeRunning(KontorError):
    """Another process serves this data directory."""

    status = 409
    code = "NODE_RUNNING"


def acquire(data_dir: Path) -> int:
    """Take the lock; returns its file descriptor (close it to release). NodeRunning
    when another process holds it."""
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise NodeRunning(f"a node is running with the data directory {data_dir} "
                          f"(it holds {data_dir / LOCK_NAME}); stop it first") from None
    return fd


def release(fd: int) -> None:
    os.close(fd)
