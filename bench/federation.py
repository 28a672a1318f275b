"""Federation throughput and latency: SDK clients on node A send end-to-end encrypted
messages to clients on node B; a message counts when B's client has decrypted it.

    python bench/federation.py [--seconds 5] [--max-messages 20000]

Prints throughput at 1, 8 and 32 messages in flight (one closed-loop pair per message
in flight), send-to-decrypt latency percentiles at 1 in flight, and each node's RSS and
CPU seconds; the last line is one JSON object of the figures. All three processes (the
two nodes and this one, which does every client's cryptography) share this machine.
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
    make_client,
    percentile,
    workdir,
)

LEVELS = (1, 8, 32)


async def run(seconds: float, max_messages: int) -> dict[str, object]:
    root = workdir()
    a, b = NodeProc(root / "a").start(), NodeProc(root / "b").start()
    clients = []
    pairs = []
    try:
        for i in range(max(LEVELS)):
            sender = await make_client(a.url, f"s{i}", root)
            receiver = await make_client(b.url, f"r{i}", root)
            clients += [sender, receiver]
            pairs.append((sender, Inbox(receiver), receiver.address))
        # Warm up: sessions (X3DH) and remote device lists, outside the measurement.
        await closed_loop(pairs, 60, len(pairs), "warm")
        throughput: dict[str, float] = {}
        latencies: list[float] = []
        for level in LEVELS:
            count, elapsed, lat = await closed_loop(pairs[:level], seconds, max_messages,
                                                    f"l{level}")
            throughput[str(level)] = round(count / elapsed, 1)
            if level == 1:
                latencies = lat
            print(f"{level:3} in flight: {count:6} messages in {elapsed:5.1f}s = "
                  f"{count / elapsed:8.1f} msg/s", flush=True)
        figures = {
            "throughput": throughput,
            "latency_ms": {f"p{q}": round(percentile(latencies, q), 2) for q in (50, 95, 99)},
            "rss_mb": {"a": round(a.rss_mb(), 1), "b": round(b.rss_mb(), 1)},
            "cpu_s": {"a": round(a.cpu_seconds(), 2), "b": round(b.cpu_seconds(), 2)},
        }
        return figures
    finally:
        for _, inbox, _ in pairs:
            await inbox.close()
        for client in clients:
            await client.close()
        a.stop()
        b.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per level (default 5)")
    parser.add_argument("--max-messages", type=int, default=20_000,
                        help="cap per level (default 20000)")
    args = parser.parse_args()
    figures = asyncio.run(run(args.seconds, args.max_messages))
    lat = figures["latency_ms"]
    print(f"latency at 1 in flight: p50 {lat['p50']} ms, p95 {lat['p95']} ms, "  # type: ignore[index]
          f"p99 {lat['p99']} ms")
    print(f"node A: {figures['rss_mb']['a']} MB RSS, {figures['cpu_s']['a']} s CPU; "  # type: ignore[index]
          f"node B: {figures['rss_mb']['b']} MB RSS, {figures['cpu_s']['b']} s CPU")  # type: ignore[index]
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
