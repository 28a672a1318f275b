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
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import nacl.signing

# Worker processes start with the parent's sys.path, from which harness takes bench/
# out (its crypto.py would shadow ours): put it back last, after the project.
sys.path.append(str(Path(__file__).resolve().parent))

from workers import measure  # type: ignore[import-not-found]  # noqa: E402, I001  (first)
from harness import (  # type: ignore[import-not-found]  # noqa: E402
    BareServer,
    NodeProc,
    bare_requests,
    http_round_trips_per_s,
    percentile,
    sqlite_commits_per_s,
    workdir,
)

LEVELS = (1, 8, 32)


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


def inbound_txns(node: NodeProc, origin: NodeProc) -> int:
    """Federation transactions ``node`` has received from ``origin`` (kept once each)."""
    db = sqlite3.connect(f"file:{node.directory / 'data' / 'kontor.db'}?mode=ro", uri=True,
                         timeout=10)
    try:
        return int(db.execute("SELECT count(*) FROM fed_inbound_txns WHERE origin = ?",
                              [origin.server_name]).fetchone()[0])
    finally:
        db.close()


def run(seconds: float, max_messages: int, profile: Path | None,
        levels: tuple[int, ...] = LEVELS) -> dict[str, Any]:
    root = workdir()
    a = NodeProc(root / "a", profile=profile and profile / "a.prof").start()
    b = NodeProc(root / "b", profile=profile and profile / "b.prof").start()
    try:
        throughput: dict[str, float] = {}
        by_level = {}
        batch: dict[str, float] = {}
        for level in levels:
            txns = inbound_txns(b, a)
            got = by_level[level] = measure(a, b, root, level, seconds, max_messages)
            throughput[str(level)] = round(got["count"] / got["elapsed"], 1)
            # (the level's warm-up messages are among them: one per pair)
            batch[str(level)] = round((got["count"] + level)
                                      / max(inbound_txns(b, a) - txns, 1), 2)
            print(f"{level:3} in flight: {got['count']:6} messages in "
                  f"{got['elapsed']:5.1f}s = {throughput[str(level)]:8.1f} msg/s; CPU ms "
                  f"per message: A {got['cpu_ms_per_message']['a']}, "
                  f"B {got['cpu_ms_per_message']['b']}, the clients "
                  f"{got['clients_cpu_ms_per_message']}; {batch[str(level)]} messages per "
                  "federation transaction", flush=True)
        latencies = by_level[min(levels)]["latencies"]
        return {
            "throughput": throughput,
            "latency_ms": {f"p{q}": round(percentile(latencies, q), 2) for q in (50, 95, 99)},
            "rss_mb": {"a": round(a.rss_mb(), 1), "b": round(b.rss_mb(), 1)},
            "cpu_s": {"a": round(a.cpu_seconds(), 2), "b": round(b.cpu_seconds(), 2)},
            "cpu_ms_per_message": by_level[max(levels)]["cpu_ms_per_message"],
            "duplicates": sum(got["duplicates"] for got in by_level.values()),
            "messages_per_federation_txn": batch,
            "clients_cpu_ms_per_message": by_level[max(levels)]["clients_cpu_ms_per_message"],
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
