"""Test helpers that start real nodes: in-process on a loopback port, or as a process."""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from node.app import create_app
from node.config import Config, load_config
from node.server import start
from tests.dnsserver import DnsServer

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent


_RESERVED: list[socket.socket] = []


def free_port() -> int:
    """A TCP port on 127.0.0.1, kept for this test: a socket bound to it (with
    SO_REUSEADDR, never listening) stays open until the test ends (``release_ports``,
    called by tests/conftest.py). So no other process is given the port meanwhile (a
    bind to port 0, as other test runs on this machine do, never picks a bound port),
    while our nodes, which listen with SO_REUSEADDR, can use it, also again after a
    restart with the same config."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    _RESERVED.append(sock)
    return int(sock.getsockname()[1])


def release_ports() -> None:
    """Give back the ports ``free_port`` kept (at the end of each test)."""
    while _RESERVED:
        _RESERVED.pop().close()


_DNS: DnsServer | None = None


def test_dns() -> DnsServer:
    """A DNS server on loopback that every test node uses unless told otherwise, so that
    no lookup of a test ever leaves the machine (unknown names: NXDOMAIN at once)."""
    global _DNS
    if _DNS is None:
        _DNS = DnsServer().start()
        atexit.register(_DNS.stop)
    return _DNS


def write_config(directory: Path, *, port: int | None = None, server_name: str | None = None,
                 sections: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write a node.ini for a loopback test node into ``directory``."""
    port = port or free_port()
    values: dict[str, dict[str, Any]] = {
        "node": {"server_name": server_name or f"localhost:{port}", "data_dir": "data"},
        "http": {"listen_host": "127.0.0.1", "listen_port": port,
                 "shutdown_grace_seconds": 5},
        "federation": {"allow_plain_http": "true", "allow_private_addresses": "true",
                       "dns_nameserver": test_dns().address},
        "logging": {"level": "warning"},
    }
    for name, items in (sections or {}).items():
        values.setdefault(name, {}).update(items)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "node.ini"
    text = "".join(f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in items.items()) + "\n"
                   for name, items in values.items())
    path.write_text(text)
    return path


def initialised(config_path: Path) -> Path:
    """``config_path`` after ``kontor init`` (operator commands need an existing node)."""
    from node.services.setup import init_node

    init_node(load_config(config_path))
    return config_path


@dataclass
class RunningNode:
    """A node served in this process."""

    config: Config
    url: str
    app: web.Application


@asynccontextmanager
async def running_node(config_path: Path,
                       customise: Callable[[web.Application], None] | None = None
                       ) -> AsyncIterator[RunningNode]:
    """Serve the node of ``config_path`` on its loopback port until the block ends.

    ``customise`` may add routes to the app before it starts (tests of shared machinery).
    """
    config = load_config(config_path)
    app = create_app(config)
    if customise:
        customise(app)
    runner = await start(app, config, shutdown_timeout=2.0)
    try:
        yield RunningNode(config, config.public_url, app)
    finally:
        await runner.cleanup()


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0,
                     interval: float = 0.02, what: str = "condition") -> T:
    """Poll ``check`` until it returns a truthy value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


class NodeProcess:
    """``kontor run`` as a real child process."""

    def __init__(self, config_path: Path, fd_limit: int | None = None) -> None:
        self.config_path = config_path
        self.config = load_config(config_path)
        self.fd_limit = fd_limit  # RLIMIT_NOFILE (soft and hard) of the child
        self.proc: subprocess.Popen[bytes] | None = None

    def _limit_fds(self) -> None:
        import resource
        assert self.fd_limit is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.fd_limit, self.fd_limit))

    def start(self, timeout: float = 20.0) -> NodeProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "node", "run", "-c", str(self.config_path)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            preexec_fn=self._limit_fds if self.fd_limit else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"node exited early: {self.output()}")
            if self._healthy():
                return self
            time.sleep(0.05)
        raise AssertionError("node did not become healthy in time")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.config.public_url + "/health", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def signal(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 20.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def output(self) -> str:
        assert self.proc is not None
        if self.proc.poll() is None:
            return "<still running>"
        return (self.proc.stdout.read() if self.proc.stdout else b"").decode(errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
