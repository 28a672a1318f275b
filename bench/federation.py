"""Federation throughput and latency: SDK clients on node A send end-to-end encrypted
messages to clients on node B; a message counts when B's client has decrypted it.

    python bench/federation.py [--seconds 5] [--max-messages 20000] [--levels 1,8,32]
                               [--profile DIR]

Prints throughput at 1, 8 and 32 messages in flight (one closed-loop pair per message
in flight), send-to-decrypt latency percentiles at 1 in flight, each node's RSS and CPU
milliseconds per message, and, measured in the same run, the raw limits the figures rest
on (SQLite commits/s, the node's own sequential requests/s, a bare aiohttp server's
requests/s and CPU per request at 1 and 32 in flight, Ed25519 signatures and
verifications/s) with the ratios. The clients run in worker processes (one per
``PAIRS_PER_WORKER`` pairs), so that the nodes, not one load-generating process, are
what is measured. Every message is checked to arrive exactly once. ``--profile DIR``
runs each node under cProfile and writes ``DIR/a.prof`` and ``DIR/b.prof`` when it
stops. The last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import nacl.signing

# Worker processes start with the parent's sys.path, from which harness takes bench/
# out (its crypto.py would shadow ours): put it back last, after the project.
sys.path.append(str(Path(__file__).resolve().parent))

from harness import (  # type: ignore[import-not-found]  # noqa: E402
    BareServer,
    Inbox,
    NodeProc,
    bare_requests,
    closed_loop,
    http_round_trips_per_s,
    make_client,
    percentile,
    sqlite_commits_per_s,
    workdir,
)

LEVELS = (1, 8, 32)
PAIRS_PER_WORKER = 16
WORKER_TIMEOUT_S = 300


async def _worker_run(a_url: str, b_url: str, root: Path, tag: str, pairs_n: int,
                      seconds: float, max_messages: int, barrier: Any) -> dict[str, Any]:
    clients, pairs = [], []
    try:
        for i in range(pairs_n):
            sender = await make_client(a_url, f"{tag}s{i}", root)
            receiver = await make_client(b_url, f"{tag}r{i}", root)
            clients += [sender, receiver]
            pairs.append((sender, Inbox(receiver), receiver.address))
        # Warm up: sessions (X3DH) and remote device lists, outside the measurement.
        await closed_loop(pairs, 60, pairs_n, f"{tag}warm")
        await asyncio.to_thread(barrier.wait, WORKER_TIMEOUT_S)
        count, elapsed, latencies = await closed_loop(pairs, seconds, max_messages,
                                                      f"{tag}run")
        duplicates = sum(inbox.duplicates for _, inbox, _ in pairs)
        return {"count": count, "elapsed": elapsed, "latencies": latencies,
                "duplicates": duplicates}
    finally:
        for _, inbox, _ in pairs:
            await inbox.close()
        for client in clients:
            await client.close()


def _worker(a_url: str, b_url: str, root: str, tag: str, pairs_n: int, seconds: float,
            max_messages: int, barrier: Any, results: Any) -> None:
    """A worker process: its own clients, measured between the barrier and the end."""
    try:
        figures = asyncio.run(_worker_run(a_url, b_url, Path(root), tag, pairs_n,
                                          seconds, max_messages, barrier))
    except BaseException as exc:  # the parent reports it and stops
        barrier.abort()
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        return
    results.put(figures)


def measure_level(a: NodeProc, b: NodeProc, root: Path, level: int, seconds: float,
                  max_messages: int) -> dict[str, Any]:
    """``level`` pairs spread over worker processes; the nodes' CPU is read at the
    barrier every worker passes after its warm-up, and again when all are done."""
    ctx = multiprocessing.get_context("spawn")
    workers = math.ceil(level / PAIRS_PER_WORKER)
    barrier, results = ctx.Barrier(workers + 1), ctx.Queue()
    share = [level // workers + (1 if w < level % workers else 0) for w in range(workers)]
    procs = [ctx.Process(target=_worker, args=(a.url, b.url, str(root), f"l{level}w{w}",
                                               share[w], seconds,
                                               max(1, max_messages // workers),
                                               barrier, results))
             for w in range(workers)]
    for proc in procs:
        proc.start()
    try:
        barrier.wait(WORKER_TIMEOUT_S)
    except threading.BrokenBarrierError:
        raise RuntimeError(f"a worker failed: {results.get(timeout=30)}") from None
    cpu_a, cpu_b = a.cpu_seconds(), b.cpu_seconds()
    outcomes = [results.get(timeout=WORKER_TIMEOUT_S) for _ in procs]
    cpu = {"a": a.cpu_seconds() - cpu_a, "b": b.cpu_seconds() - cpu_b}
    for proc in procs:
        proc.join(30)
    errors = [o["error"] for o in outcomes if "error" in o]
    if errors:
        raise RuntimeError(f"a worker failed: {errors[0]}")
    count = sum(o["count"] for o in outcomes)
    return {"count": count, "elapsed": max(o["elapsed"] for o in outcomes),
            "latencies": [x for o in outcomes for x in o["latencies"]],
            "duplicates": sum(o["duplicates"] for o in outcomes),
            "cpu_ms_per_message": {k: round(v * 1000 / max(count, 1), 3)
                                   for k, v in cpu.items()}}


def ed25519_per_s(seconds: float = 0.5) -> dict[str, float]:
    """Ed25519 signatures and verifications per second (PyNaCl), one core."""
    key = nacl.signing.SigningKey.generate()
    message = b"x" * 300
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds and done < 1_000_000:
        signed = key.sign(message)
        done += 1
    signs = done / (time.perf_counter() - start)
    verify = key.verify_key
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds and done < 1_000_000:
        verify.verify(signed)
        done += 1
    return {"sign": round(signs), "verify": round(done / (time.perf_counter() - start))}


def raw_limits(a: NodeProc, root: Path) -> dict[str, Any]:
    """What the machine allows, measured now: the figures' ceilings. ``bare_aiohttp``:
    a server with one handler and nothing of ours, at 1 and at 32 requests in flight
    (requests/s, and the server's CPU ms per request: the floor of a message's cost)."""
    with BareServer() as bare:
        bare_figures = {str(n): asyncio.run(bare_requests(bare, n)) for n in (1, 32)}
    return {"sqlite_commits_per_s": round(sqlite_commits_per_s(str(root / "raw.db"))),
            "http_requests_per_s": round(asyncio.run(http_round_trips_per_s(a.url))),
            "bare_aiohttp": bare_figures,
            "ed25519_per_s": ed25519_per_s()}


def run(seconds: float, max_messages: int, profile: Path | None,
        levels: tuple[int, ...] = LEVELS) -> dict[str, Any]:
    root = workdir()
    a = NodeProc(root / "a", profile=profile and profile / "a.prof").start()
    b = NodeProc(root / "b", profile=profile and profile / "b.prof").start()
    try:
        throughput: dict[str, float] = {}
        by_level = {}
        for level in levels:
            got = by_level[level] = measure_level(a, b, root, level, seconds, max_messages)
            throughput[str(level)] = round(got["count"] / got["elapsed"], 1)
            print(f"{level:3} in flight: {got['count']:6} messages in "
                  f"{got['elapsed']:5.1f}s = {throughput[str(level)]:8.1f} msg/s; CPU ms "
                  f"per message: A {got['cpu_ms_per_message']['a']}, "
                  f"B {got['cpu_ms_per_message']['b']}", flush=True)
        latencies = by_level[min(levels)]["latencies"]
        return {
            "throughput": throughput,
            "latency_ms": {f"p{q}": round(percentile(latencies, q), 2) for q in (50, 95, 99)},
            "rss_mb": {"a": round(a.rss_mb(), 1), "b": round(b.rss_mb(), 1)},
            "cpu_s": {"a": round(a.cpu_seconds(), 2), "b": round(b.cpu_seconds(), 2)},
            "cpu_ms_per_message": by_level[max(levels)]["cpu_ms_per_message"],
            "duplicates": sum(got["duplicates"] for got in by_level.values()),
            "raw": raw_limits(a, root),
        }
    finally:
        a.stop()
        b.stop()
        shutil.rmtree(root, ignore_errors=True)


def report(f: dict[str, Any]) -> None:
    """The human lines: latency, memory and CPU, and the ratios to the raw limits."""
    levels = sorted(int(n) for n in f["throughput"])
    lat, raw, top = f["latency_ms"], f["raw"], f["throughput"][str(levels[-1])]
    print(f"latency at {levels[0]} in flight: p50 {lat['p50']} ms, p95 {lat['p95']} ms, "
          f"p99 {lat['p99']} ms")
    for side in ("a", "b"):
        print(f"node {side.upper()}: {f['rss_mb'][side]} MB RSS, "
              f"{f['cpu_ms_per_message'][side]} CPU ms per message at {levels[-1]} in "
              f"flight")
    print(f"every message arrived once: {f['duplicates']} duplicates")
    sign, verify = raw["ed25519_per_s"]["sign"], raw["ed25519_per_s"]["verify"]
    print(f"raw limits here: {raw['sqlite_commits_per_s']} SQLite commits/s "
          f"({raw['sqlite_commits_per_s'] / max(top, 1):.1f}x our messages/s), "
          f"{raw['http_requests_per_s']} aiohttp requests/s "
          f"({raw['http_requests_per_s'] / max(top, 1):.1f}x), Ed25519 {sign} signs/s "
          f"({sign / max(top, 1):.1f}x) and {verify} verifies/s "
          f"({verify / max(top, 1):.1f}x)")
    for n, bare in raw["bare_aiohttp"].items():
        per = bare["server_cpu_ms_per_request"]
        ours = max(f["cpu_ms_per_message"].values())
        print(f"bare aiohttp, {n} in flight: {bare['requests_per_s']} requests/s "
              f"({bare['requests_per_s'] / max(top, 1):.1f}x our messages/s), {per} server "
              f"CPU ms per request (our busier node: {ours / max(per, 0.001):.1f}x that "
              "per message)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per level (default 5)")
    parser.add_argument("--max-messages", type=int, default=20_000,
                        help="cap per level (default 20000)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write each node's cProfile to DIR/a.prof and DIR/b.prof")
    parser.add_argument("--levels", type=lambda v: tuple(int(n) for n in v.split(",")),
                        default=LEVELS, help="messages in flight to measure (default 1,8,32)")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    figures = run(args.seconds, args.max_messages, args.profile and args.profile.resolve(),
                  args.levels)
    report(figures)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
