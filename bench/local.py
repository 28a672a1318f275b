"""One node, SDK clients in pairs on it, each pair keeping one message in flight; a
message counts when its recipient has decrypted it (encrypted, stored, pushed over the
WebSocket, decrypted, acknowledged, its delivered receipt stored for the sender).

    python bench/local.py [--clients 64] [--seconds 5] [--max-messages 20000]

The clients run in worker processes (``workers.PAIRS_PER_WORKER`` pairs each), so that
the node, not one load-generating process, is what is measured. Prints messages/s
delivered end to end, p50/p95/p99 latency, the node's RSS and CPU per message, and,
measured in the same run, the raw limits (SQLite commits/s, a bare aiohttp server's
requests/s and CPU per request at 32 in flight) with the ratios; the last line is one
JSON object of the figures. Every message is checked to arrive exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from pathlib import Path

# As in federation.py: worker processes find bench/ last on their path.
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


def run(clients: int, seconds: float, max_messages: int) -> dict[str, object]:
    root = workdir()
    node = NodeProc(root / "node").start()
    try:
        got = measure(node, node, root, max(1, clients // 2), seconds, max_messages)
        count, latencies = got["count"], got["latencies"]
        with BareServer() as bare:
            raw_bare = asyncio.run(bare_requests(bare, 32))
        return {
            "clients": 2 * max(1, clients // 2), "messages": count,
            "messages_per_s": round(count / got["elapsed"], 1),
            "latency_ms": {f"p{q}": round(percentile(latencies, q), 2) for q in (50, 95, 99)},
            "node_rss_mb": round(node.rss_mb(), 1),
            "node_cpu_s_per_1000_messages": got["cpu_ms_per_message"]["a"],
            "duplicates": got["duplicates"],
            "clients_cpu_ms_per_message": got["clients_cpu_ms_per_message"],
            "raw_sqlite_commits_per_s": round(sqlite_commits_per_s(str(root / "raw.db"))),
            "raw_http_round_trips_per_s": round(asyncio.run(http_round_trips_per_s(node.url))),
            "raw_bare_aiohttp_32": raw_bare,
        }
    finally:
        node.stop()
        shutil.rmtree(root, ignore_errors=True)


def report(f: dict[str, object]) -> None:
    lat: dict[str, float] = f["latency_ms"]  # type: ignore[assignment]
    bare: dict[str, float] = f["raw_bare_aiohttp_32"]  # type: ignore[assignment]
    rate: float = f["messages_per_s"]  # type: ignore[assignment]
    cpu: float = f["node_cpu_s_per_1000_messages"]  # type: ignore[assignment]
    commits: int = f["raw_sqlite_commits_per_s"]  # type: ignore[assignment]
    print(f"{f['clients']} clients: {rate} messages/s end to end ({f['messages']} "
          f"messages, {f['duplicates']} duplicates)")
    print(f"latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms")
    print(f"node RSS {f['node_rss_mb']} MB, {cpu} CPU ms per message (the clients: "
          f"{f['clients_cpu_ms_per_message']})")
    print(f"raw limits here: {commits} SQLite commits/s ({commits / max(rate, 1):.0f}x our "
          f"messages/s); bare aiohttp at 32 in flight {bare['requests_per_s']} requests/s "
          f"({bare['requests_per_s'] / max(rate, 1):.1f}x), "
          f"{bare['server_cpu_ms_per_request']} server CPU ms per request (ours per "
          f"message: {cpu / max(bare['server_cpu_ms_per_request'], 0.001):.1f}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64, help="(in pairs; default 64)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-messages", type=int, default=20_000)
    args = parser.parse_args()
    figures = run(args.clients, args.seconds, args.max_messages)
    report(figures)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
