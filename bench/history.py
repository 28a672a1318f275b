"""History on a new device: what it costs.

    python bench/history.py [--messages 10000] [--seal-count 5000]

1. Sealing cost per message, in process: a message sent to one device costs the
   content encoding and one Double Ratchet encryption; with history each device also
   seals a copy (crypto/history.py). Prints both rates, the CPU ratio, and the storage
   ratio (the bytes the node holds per message with the sealed copy against the
   envelope alone, and the SQLite bytes per stored copy).
2. A new device receiving ``--messages`` messages of history from a node (a child
   process): the first device's copies are sealed and stored, a second device logs in,
   the first approves it, and the second downloads, opens and stores everything. Prints
   the time and the bytes the new device received.

The last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from harness import PASSWORD, NodeProc, workdir  # type: ignore[import-not-found]

from crypto import history as sealing
from crypto.canonicaljson import encode_canonical
from crypto.encoding import b64encode
from crypto.identity import (
    DeviceIdentity,
    device_keys_document,
    make_one_time_prekey,
    make_signed_prekey,
)
from crypto.keys import X25519Key
from crypto.session import Session
from crypto.verify import verify_bundle
from node.client import Client, Text
from node.client import content as contents

TEXT = "Do you still have the green tea from last week? I would like two boxes."


def _sessions() -> tuple[Session, Session]:
    alice, bob = DeviceIdentity.generate(), DeviceIdentity.generate()
    spk, spk_doc = make_signed_prekey(bob, "s1")
    otk, otk_doc = make_one_time_prekey(bob, "o1")
    bundle = verify_bundle({"device_id": "BOB", "device_keys": device_keys_document(
        bob, "bob@b.test", "BOB"), "signed_prekey": spk_doc, "one_time_prekey": otk_doc},
        "bob@b.test")
    sender = Session.initiate(alice, bundle)
    first = sender.encrypt(b"hello")
    receiver, _ = Session.accept(bob, X25519Key.from_private(spk.private),
                                 X25519Key.from_private(otk.private), first)
    receiver.encrypt(b"reply")  # not needed by the sender; keeps both sessions warm
    return sender, receiver


def sealing_cost(count: int) -> dict[str, float]:
    """Per-message CPU and bytes of sending, without and with a sealed history copy."""
    session, _ = _sessions()
    key = sealing.new_key()
    wire_content = {"type": "text", "body": TEXT}
    start = time.process_time()
    envelope_bytes = 0
    for _ in range(count):
        plaintext = contents.encode(Text(TEXT), "carl@c.test", "shop@shop.test")
        envelope_bytes += len(b64encode(session.encrypt(plaintext)))
    plain = time.process_time() - start
    start = time.process_time()
    sealed_bytes = 0
    for n in range(count):
        plaintext = contents.encode(Text(TEXT), "carl@c.test", "shop@shop.test")
        session.encrypt(plaintext)
        record = encode_canonical({
            "message_id": f"m_{n:08d}", "sender": "carl@c.test", "sender_device": "DEVICE1",
            "to": "shop@shop.test", "peer": "shop@shop.test", "ts": 1764000000000 + n,
            "outgoing": True, "content": {**wire_content, "from": "carl@c.test",
                                          "to": "shop@shop.test"}})
        sealed_bytes += len(b64encode(sealing.seal(
            key, 1, "carl@c.test", f"m_{n:08d}", "shop@shop.test", 1764000000000 + n,
            record)))
    with_history = time.process_time() - start
    return {"send_per_s": count / plain, "send_with_seal_per_s": count / with_history,
            "seal_cpu_ratio": with_history / plain,
            "envelope_bytes": envelope_bytes / count,
            "sealed_copy_bytes": sealed_bytes / count,
            "storage_ratio": (envelope_bytes + sealed_bytes) / envelope_bytes}


class Counting:
    """Counts the bytes of JSON answers a client's requests receive (a proxy for the
    HTTP bodies: the JSON as the node serialised it)."""

    def __init__(self, client: Client) -> None:
        self.bytes = 0
        self.requests = 0
        self._request = client.http.request
        client.http.request = self  # type: ignore[method-assign]

    async def __call__(self, method: str, path: str, body: Any = None,
                       params: dict[str, Any] | None = None) -> Any:
        answer = await self._request(method, path, body, params)
        self.bytes += len(json.dumps(answer, separators=(",", ":")))
        self.requests += 1
        return answer


def _table_bytes(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return sum(r[0] for r in conn.execute(
            "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'history_items%'"))
    except sqlite3.OperationalError:  # SQLite without dbstat: the whole file
        return path.stat().st_size
    finally:
        conn.close()


async def new_device(count: int, directory: Path) -> dict[str, float]:
    node = NodeProc(directory / "node").start()
    try:
        first = await Client.register(node.url, "carl", PASSWORD, store=directory / "one",
                                      passphrase="bench", durable=False)
        assert first.archive.keys(), "the first device starts the history"
        with first.store.batch():  # the first device's past: count stored messages
            for n in range(count):
                message_id = f"m_{n:08d}"
                first.store.add_message(
                    message_id, "shop@shop.test", first.address, first.device_id, True,
                    1764000000000 + n, {"type": "text", "body": f"{TEXT} #{n}",
                                        "from": first.address, "to": "shop@shop.test"})
            first.store.put_json("history_pending", [f"m_{n:08d}" for n in range(count)])
        start = time.perf_counter()
        stored = await first.archive.flush()
        seal_upload = time.perf_counter() - start
        second = await Client.login(node.url, "carl", PASSWORD, store=directory / "two",
                                    passphrase="bench", durable=False)
        await first.archive.approve(second.device_id)
        counter = Counting(second)
        start = time.perf_counter()
        for _ in range(50):  # the history_keys event, then the download it triggers
            await second.sync_once(timeout_ms=1000)
            if second.archive.keys():
                break
        received = len(second.history("shop@shop.test", limit=count + 10))
        download = time.perf_counter() - start
        db_path = directory / "node" / "data" / "kontor.db"
        table = _table_bytes(db_path) if db_path.exists() else 0
        await first.close()
        await second.close()
        return {"messages": stored, "received": received,
                "first_device_seal_and_store_s": seal_upload,
                "new_device_download_s": download,
                "new_device_messages_per_s": received / download if download else 0.0,
                "new_device_bytes": counter.bytes,
                "new_device_bytes_per_message": counter.bytes / max(received, 1),
                "new_device_requests": counter.requests,
                "node_bytes_per_copy": table / max(stored, 1)}
    finally:
        node.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seal-count", type=int, default=5_000)
    args = parser.parse_args(argv)
    cost = sealing_cost(args.seal_count)
    print(f"send, one device:       {cost['send_per_s']:9.0f} msg/s")
    print(f"send + sealed copy:     {cost['send_with_seal_per_s']:9.0f} msg/s   CPU ratio "
          f"{cost['seal_cpu_ratio']:.2f}x")
    print(f"bytes: envelope {cost['envelope_bytes']:.0f}, sealed copy "
          f"{cost['sealed_copy_bytes']:.0f}   storage ratio {cost['storage_ratio']:.2f}x")
    directory = workdir()
    try:
        got = asyncio.run(new_device(args.messages, directory))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"first device seals and stores {got['messages']:.0f} copies in "
          f"{got['first_device_seal_and_store_s']:.2f} s")
    print(f"new device receives {got['received']:.0f} messages of history in "
          f"{got['new_device_download_s']:.2f} s ({got['new_device_messages_per_s']:.0f}"
          f" msg/s), {got['new_device_bytes'] / 1e6:.2f} MB "
          f"({got['new_device_bytes_per_message']:.0f} B/message, "
          f"{got['new_device_requests']:.0f} requests)")
    print(f"node: {got['node_bytes_per_copy']:.0f} bytes of SQLite per stored copy")
    figures = {k: round(v, 3) for k, v in {**cost, **got}.items()}
    figures["cpus"] = os.cpu_count() or 0
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
