"""Every message a device stores is handed to the app exactly once (issue 10, point 6):
a real node process is killed mid-stream again and again, the app restarts once, the
node rate-limits the receiving account, and every message still arrives once."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from node.client import Client, ClientError, Message
from node.client.errors import is_transient
from tests.nodes import NodeProcess, eventually, write_config
from tests.sdk.conftest import PASSPHRASE, PASSWORD

ROUNDS = 4
PER_ROUND = 8


async def _send(client: Client, text: str) -> Message | None:
    """Send, retrying a bounded number of times while the node is away; None when every
    attempt failed (the message may or may not have been stored then)."""
    for _ in range(40):
        try:
            return await client.send_text(f"bob@{client.address.partition('@')[2]}", text)
        except ClientError as exc:
            if not is_transient(exc):
                raise
            await asyncio.sleep(0.25)  # retry backoff, not synchronisation
    return None


async def test_nothing_is_lost_or_repeated_across_kills_and_restarts(tmp_path: Path) -> None:
    ini = write_config(tmp_path / "node", sections={
        "accounts": {"registration": "open"}, "limits": {"rate_per_account": 90}})
    node = NodeProcess(ini).start()
    store = tmp_path / "bob.store"
    anna = await Client.register(node.config.public_url, "anna", PASSWORD,
                                 store=tmp_path / "anna.store", passphrase=PASSPHRASE)
    bob = await Client.register(node.config.public_url, "bob", PASSWORD, store=store,
                                passphrase=PASSPHRASE)
    handed: list[str] = []

    async def listen(client: Client, websocket: bool) -> None:
        async for event in client.events(websocket=websocket, poll_timeout_ms=1000):
            if isinstance(event, Message):
                handed.append(event.message_id)

    listener = asyncio.create_task(listen(bob, True))
    sent: list[str] = []
    try:
        for round_ in range(ROUNDS):
            for i in range(PER_ROUND):
                if i == PER_ROUND // 2:  # mid-stream: the node dies and comes back
                    node.stop()
                    node = NodeProcess(ini).start()
                message = await _send(anna, f"round {round_} message {i}")
                if message is not None:
                    sent.append(message.message_id)
            if round_ == 1:  # the app restarts (its inbox and position are on disk)
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
                await bob.close()
                bob = await Client.open(store, PASSPHRASE)
            if listener.done():
                listener = asyncio.create_task(listen(bob, round_ % 2 == 1))

        async def all_handed() -> bool:
            assert not listener.done(), listener
            return set(sent) <= set(handed)
        await eventually(all_handed, timeout=60, what="every sent message handed over")
        assert len(sent) >= ROUNDS * PER_ROUND - 2, "sending went on through the kills"
        assert len(handed) == len(set(handed)), "a message was handed over twice"
        stored = {m.message_id for m in bob.history(anna.address, 1000)}
        assert stored == set(handed), "every stored message was handed over, and only those"

        async def all_acked() -> bool:  # the acks were retried on their own
            raw = await bob.transport.sync(0)
            return not [e for e in raw["events"] if e["type"] == "message"]
        await eventually(all_acked, timeout=30, what="the node to drop what bob stored")
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, ClientError):
            await listener
        await anna.close()
        await bob.close()
        node.stop()
