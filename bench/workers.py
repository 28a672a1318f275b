"""Load generation for the node benchmarks: closed-loop pairs of SDK clients in worker
processes (``PAIRS_PER_WORKER`` pairs each), so that the nodes, not one load-generating
process, are what is measured; every message is checked to arrive exactly once."""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

from harness import (  # type: ignore[import-not-found]
    Inbox,
    NodeProc,
    closed_loop,
    make_client,
)

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
        cpu = time.process_time()
        count, elapsed, latencies = await closed_loop(pairs, seconds, max_messages,
                                                      f"{tag}run")
        duplicates = sum(inbox.duplicates for _, inbox, _ in pairs)
        return {"count": count, "elapsed": elapsed, "latencies": latencies,
                "duplicates": duplicates, "cpu_s": time.process_time() - cpu}
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


def measure(a: NodeProc, b: NodeProc, root: Path, level: int, seconds: float,
            max_messages: int) -> dict[str, Any]:
    """``level`` pairs (senders on ``a``, receivers on ``b``, which may be the same
    node) spread over worker processes; the nodes' CPU is read at the barrier every
    worker passes after its warm-up, and again when all are done."""
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
    if a is b:
        cpu = {"a": cpu["a"]}
    for proc in procs:
        proc.join(30)
    errors = [o["error"] for o in outcomes if "error" in o]
    if errors:
        raise RuntimeError(f"a worker failed: {errors[0]}")
    count = sum(o["count"] for o in outcomes)
    clients_cpu = sum(o["cpu_s"] for o in outcomes)
    return {"count": count, "elapsed": max(o["elapsed"] for o in outcomes),
            "clients_cpu_ms_per_message": round(clients_cpu * 1000 / max(count, 1), 3),
            "latencies": [x for o in outcomes for x in o["latencies"]],
            "duplicates": sum(o["duplicates"] for o in outcomes),
            "cpu_ms_per_message": {k: round(v * 1000 / max(count, 1), 3)
                                   for k, v in cpu.items()}}
