"""The node's memory under a registration burst: argon2id (64 MiB per hash) runs on a
pool of ``[limits] password_hash_workers`` threads, so memory stays near the idle
node's plus workers x 64 MiB, however many registrations arrive at once.

    python bench/passwords.py [--burst 300] [--workers 2] [--queue 64]

Starts a node as a child process, sends ``--burst`` registrations at once, and prints
the node's peak RSS (VmHWM) against the stated bound (idle RSS + workers x 64 MiB +
48 MiB for the requests themselves), how many were answered 200 and how many 429 (the
queue was full; they carry Retry-After), and the time it took. The last line is one
JSON object of the figures. Exit status 1 if the peak exceeds the bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import time
from collections import Counter

import aiohttp
from harness import NodeProc, workdir  # type: ignore[import-not-found]

HASH_MIB = 64
SLACK_MIB = 48


async def burst(url: str, count: int) -> Counter[int]:
    connector = aiohttp.TCPConnector(limit=count)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        async def one(i: int) -> int:
            async with http.post(url + "/_kontor/client/v1/register", json={
                    "username": f"burst{i}", "password": "benchmark password"}) as r:
                await r.read()
                return r.status
        return Counter(await asyncio.gather(*(one(i) for i in range(count))))


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--burst", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue", type=int, default=64)
    ns = ap.parse_args()
    root = workdir()
    node = NodeProc(root / "node", limits=f"password_hash_workers = {ns.workers}\n"
                                          f"password_hash_queue = {ns.queue}\n").start()
    try:
        idle = node.rss_mb()
        bound = idle + ns.workers * HASH_MIB + SLACK_MIB
        start = time.perf_counter()
        statuses = await burst(node.url, ns.burst)
        elapsed = time.perf_counter() - start
        peak = node.rss_mb("VmHWM")
    finally:
        node.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"registration burst of {ns.burst}: {statuses[200]} registered, "
          f"{statuses[429]} told 429 (queue full), other {ns.burst - statuses[200] - statuses[429]}"
          f", in {elapsed:.1f} s")
    print(f"node RSS idle {idle:.0f} MiB, peak {peak:.0f} MiB; bound {bound:.0f} MiB "
          f"(idle + {ns.workers} workers x {HASH_MIB} MiB + {SLACK_MIB} MiB): "
          f"{'within' if peak <= bound else 'OVER'}")
    print(json.dumps({"burst": ns.burst, "workers": ns.workers, "queue": ns.queue,
                      "registered": statuses[200], "rate_limited": statuses[429],
                      "seconds": round(elapsed, 2), "idle_rss_mib": round(idle, 1),
                      "peak_rss_mib": round(peak, 1), "bound_mib": round(bound, 1)}))
    if peak > bound:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
