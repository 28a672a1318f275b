"""One node, N concurrent SDK clients in pairs, each pair keeping one message in flight;
a message counts when its recipient has decrypted it (encrypted, stored, pushed over the
WebSocket, decrypted, acknowledged).

    python bench/local.py [--clients 16] [--seconds 5] [--max-messages 20000]

Prints messages/s delivered end to end, p50/p95/p99 latency and the node's RSS and CPU
seconds; the last line is one JSON object of the figures. For scale it also prints the
raw cost of one SQLite commit and one aiohttp round trip on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil

from harness import (  # type: ignore[import-not-found]
    Inbox,
    NodeProc,
    closed_loop,
    http_round_trips_per_s,
    make_client,
    percentile,
    sqlite_commits_per_s,
    workdir,
)


async def run(clients: int, seconds: float, max_messages: int) -> dict[str, object]:
    root = workdir()
    node = NodeProc(root / "node").start()
    made, pairs = [], []
    try:
        for i in range(max(2, clients) // 2):
            a = await make_client(node.url, f"a{i}", root)
            b = await make_client(node.url, f"b{i}", root)
            made += [a, b]
            pairs.append((a, Inbox(b), b.address))
        await closed_loop(pairs, 60, len(pairs), "warm")
        cpu_before = node.cpu_seconds()
        count, elapsed, latencies = await closed_loop(pairs, seconds, max_messages, "run")
        cpu = node.cpu_seconds() - cpu_before
        raw_http = await http_round_trips_per_s(node.url)
        raw_sqlite = sqlite_commits_per_s(str(root / "raw.db"))
        return {
            "clients": len(made), "messages": count,
            "messages_per_s": round(count / elapsed, 1),
            "latency_ms": {f"p{q}": round(percentile(latencies, q), 2) for q in (50, 95, 99)},
            "node_rss_mb": round(node.rss_mb(), 1),
            "node_cpu_s_per_1000_messages": round(cpu / max(count, 1) * 1000, 3),
            "raw_sqlite_commits_per_s": round(raw_sqlite),
            "raw_http_round_trips_per_s": round(raw_http),
        }
    finally:
        for _, inbox, _ in pairs:
            await inbox.close()
        for client in made:
            await client.close()
        node.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-messages", type=int, default=20_000)
    args = parser.parse_args()
    f = asyncio.run(run(args.clients, args.seconds, args.max_messages))
    lat = f["latency_ms"]
    print(f"{f['clients']} clients: {f['messages_per_s']} messages/s end to end "
          f"({f['messages']} messages)")
    print(f"latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms")  # type: ignore[index]
    print(f"node RSS {f['node_rss_mb']} MB, "
          f"{f['node_cpu_s_per_1000_messages']} CPU s per 1000 messages")
    sends = f["messages_per_s"]
    print(f"raw limits here: {f['raw_sqlite_commits_per_s']} SQLite commits/s "
          f"(ratio {f['raw_sqlite_commits_per_s'] / max(sends, 1):.0f}x our messages/s), "  # type: ignore[operator]
          f"{f['raw_http_round_trips_per_s']} aiohttp round trips/s "
          f"(ratio {f['raw_http_round_trips_per_s'] / max(sends, 1):.0f}x)")  # type: ignore[operator]
    print(json.dumps(f))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
