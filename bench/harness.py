"""Shared pieces of the node benchmarks: nodes as child processes (so their CPU time and
memory are their own), SDK clients, closed-loop message exchange, percentiles."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import nacl.pwhash  # noqa: E402

from node.client import Client, Message  # noqa: E402
from node.client import store as store_module  # noqa: E402

PASSWORD = "benchmark password"
# Benchmarks measure messaging, not the store's passphrase KDF.
store_module.DEFAULT_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MIN
store_module.DEFAULT_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MIN
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class NodeProc:
    """``kontor run`` in a child process on a loopback port."""

    directory: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    limits: str = ""  # extra [limits] lines
    profile: Path | None = None  # run under cProfile, written here when it stops

    @property
    def server_name(self) -> str:
        return f"localhost:{self.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NodeProc:
        self.directory.mkdir(parents=True, exist_ok=True)
        ini = self.directory / "node.ini"
        ini.write_text(
            f"[node]\nserver_name = {self.server_name}\ndata_dir = data\n"
            f"[http]\nlisten_port = {self.port}\n"
            "[accounts]\nregistration = open\n"
            "[limits]\nrate_per_account = 1000000\nrate_per_address = 1000000\n"
            f"{self.limits}"
            "[federation]\nallow_plain_http = true\nallow_private_addresses = true\n"
            "rate_per_origin = 1000000\n"
            # Both nodes share 127.0.0.1: the per-address guard against unverified
            # floods would count every peer of the benchmark as one client.
            "max_unverified_per_address = 1024\nmax_inbound_per_origin = 64\n"
            "[logging]\nlevel = warning\n")
        profiler = ["-m", "cProfile", "-o", str(self.profile)] if self.profile else []
        self.proc = subprocess.Popen([sys.executable, *profiler, "-m", "node", "run", "-c",
                                      str(ini)],
                                     cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"node in {self.directory} did not start")

    def rss_mb(self, key: str = "VmRSS") -> float:
        """Resident memory now (``VmHWM``: the peak so far) in MiB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="kontor-bench-"))


#: The SDK syncs its store to disk before each message leaves and before it
#: acknowledges what it received; with dozens of clients in this one process those
#: syncs, not the nodes, would be measured. Load-generating clients skip them
#: (durable=False); the nodes keep their own durability settings.
CLIENT_DURABLE = os.environ.get("KONTOR_BENCH_DURABLE_CLIENTS") == "1"


async def make_client(url: str, name: str, directory: Path) -> Client:
    return await Client.register(url, name, PASSWORD, store=directory / f"{name}.store",
                                 passphrase="bench", durable=CLIENT_DURABLE)


class Inbox:
    """Collects what a receiving client decrypts, with arrival times."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.arrived: dict[str, float] = {}
        self.duplicates = 0  # texts decrypted more than once
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for item in self.client.events():
            if isinstance(item, Message) and item.type == "text":
                now = time.perf_counter()
                if (item.text or "") in self.arrived:
                    self.duplicates += 1
                    continue
                self.arrived[item.text or ""] = now
                waiter = self.waiters.pop(item.text or "", None)
                if waiter and not waiter.done():
                    waiter.set_result(now)

    async def wait_for(self, text: str, timeout: float) -> float:
        if text in self.arrived:
            return self.arrived[text]
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters[text] = future
        return await asyncio.wait_for(future, timeout)

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def closed_loop(pairs: list[tuple[Client, Inbox, str]], seconds: float,
                      max_messages: int, tag: str) -> tuple[int, float, list[float]]:
    """Each pair keeps one message in flight (send, wait until decrypted, repeat) for
    ``seconds`` or ``max_messages`` in all. Returns (messages, elapsed, latencies ms)."""
    latencies: list[float] = []
    count = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def run(sender: Client, inbox: Inbox, to: str, index: int) -> None:
        nonlocal count
        n = 0
        while time.perf_counter() < deadline and count < max_messages:
            text = f"{tag}-{index}-{n}"
            t0 = time.perf_counter()
            await sender.send_text(to, text)
            t1 = await inbox.wait_for(text, timeout=30)
            latencies.append((t1 - t0) * 1000)
            count += 1
            n += 1

    await asyncio.gather(*(run(s, i, to, k) for k, (s, i, to) in enumerate(pairs)))
    return count, time.perf_counter() - start, latencies


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def sqlite_commits_per_s(path: str, seconds: float = 1.0) -> float:
    """Small WAL commits per second (synchronous=NORMAL, as the node uses)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE t (x BLOB)")
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds and done < 1_000_000:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?)", [b"x" * 300])
        conn.execute("COMMIT")
        done += 1
    conn.close()
    return done / (time.perf_counter() - start)


async def http_round_trips_per_s(url: str, seconds: float = 1.0) -> float:
    """Sequential GET /health round trips per second against the running node."""
    async with aiohttp.ClientSession() as http:
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds and done < 1_000_000:
            async with http.get(url + "/health") as r:
                await r.read()
            done += 1
    return done / (time.perf_counter() - start)


BARE_SERVER = """
import sys
from aiohttp import web

async def put(request):
    await request.read()
    return web.json_response({"ok": True})

app = web.Application()
app.router.add_put("/put", put)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


@dataclass
class BareServer:
    """A bare aiohttp server (one handler, no middleware, no database) in a child
    process: what one request costs this machine before any of our work."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BareServer:
        self.proc = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("the bare aiohttp server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS


async def bare_requests(server: BareServer, concurrency: int,
                        seconds: float = 1.0) -> dict[str, float]:
    """PUTs of 1 KiB with ``concurrency`` in flight against ``server``: requests/s and
    the server's CPU ms per request."""
    body = b"x" * 1024
    url = f"http://127.0.0.1:{server.port}/put"
    done = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) \
            as http:
        async def one_loop(deadline: float) -> None:
            nonlocal done
            while time.perf_counter() < deadline and done < 1_000_000:
                async with http.put(url, data=body) as r:
                    await r.read()
                done += 1
        await one_loop(time.perf_counter() + 0.2)  # warm the connection pool
        done, cpu, start = 0, server.cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(one_loop(start + seconds) for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - start, server.cpu_seconds() - cpu
    return {"requests_per_s": round(done / elapsed),
            "server_cpu_ms_per_request": round(cpu * 1000 / max(done, 1), 3)}
