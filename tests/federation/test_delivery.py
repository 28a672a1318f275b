"""Delivery between nodes survives outages: a destination that was down gets every queued
message in order exactly once, and a sending node killed with a full queue delivers
everything it had accepted after it restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation import storage as fed_store
from node.appkeys import DB, FEDERATION
from node.cli import main
from node.client import Client
from tests.dnsserver import DnsServer
from tests.federation.network import node_config
from tests.nodes import NodeProcess, RunningNode, eventually, running_node
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401


async def carl_and_bob(tmp_path: Path, a_url: str, b_url: str) -> Client:
    """carl on a and bob on b exchange a first message; bob's device goes offline (its
    store stays in tmp_path/bob); returns carl's client."""
    carl = await Client.register(a_url, "carl", PASSWORD, store=tmp_path / "carl",
                                 passphrase=PASSPHRASE)
    bob = await Client.register(b_url, "bob", PASSWORD, store=tmp_path / "bob",
                                passphrase=PASSPHRASE)
    await carl.send_text(bob.address, "before the outage")
    assert [m.text for m in await receive(bob, 1, timeout=20)] == ["before the outage"]
    await bob.close()
    return carl


async def test_destination_down_then_back_gets_everything_in_order_once(
        tmp_path: Path) -> None:
    with DnsServer() as dns:
        a_ini = node_config(dns, tmp_path, "a")
        b_ini = node_config(dns, tmp_path, "b")
        async with running_node(a_ini) as a:
            async with running_node(b_ini) as b:
                carl = await carl_and_bob(tmp_path, a.url, b.url)
            # b is down: sends are accepted by a and wait in its outbox.
            texts = [f"during the outage {i}" for i in range(12)]
            for text in texts:
                await carl.send_text("bob@b.test", text)
            queued = await a.app[DB].read(fed_store.queue_status)
            assert [(q["destination"], q["depth"]) for q in queued] == [("b.test", 12)]
            # Each item says whom it concerns (erasure and export find it by that).
            for address in (carl.address, "bob@b.test"):
                held = await a.app[DB].read(fed_store.address_records, address)
                assert [i["kind"] for i in held["outbox"]] == ["message"] * 12
                assert all(i["message_id"].startswith("m_") for i in held["outbox"])
            async with running_node(b_ini):
                bob = await Client.open(tmp_path / "bob", PASSPHRASE)
                try:
                    got = await receive(bob, len(texts), timeout=30)
                    assert [m.text for m in got] == texts
                    assert await bob.sync_once(timeout_ms=1500) == [], "nothing twice"
                finally:
                    await bob.close()
            await carl.close()


async def test_killed_sender_delivers_its_queue_after_restart(tmp_path: Path) -> None:
    with DnsServer() as dns:
        a_ini = node_config(dns, tmp_path, "a")
        b_ini = node_config(dns, tmp_path, "b")
        a = NodeProcess(a_ini).start()
        try:
            async with running_node(b_ini) as b:
                carl = await carl_and_bob(tmp_path, a.config.public_url, b.url)
            texts = [f"queued {i}" for i in range(20)]
            for text in texts:  # each acknowledged by a: it is on a's disk
                await carl.send_text("bob@b.test", text)
            await carl.close()
            a.stop()  # SIGKILL: no clean shutdown
            async with running_node(b_ini):
                a = NodeProcess(a_ini).start()
                bob = await Client.open(tmp_path / "bob", PASSPHRASE)
                try:
                    got = await receive(bob, len(texts), timeout=40)
                    assert [m.text for m in got] == texts
                    assert await bob.sync_once(timeout_ms=1500) == []
                finally:
                    await bob.close()
                await eventually(lambda: _outbox_empty(a_ini), timeout=10,
                                 what="a's outbox to drain")
        finally:
            a.stop()


async def _outbox_empty(ini: Path) -> bool | None:
    from node.config import load_config
    from node.storage.db import connect

    db = connect(load_config(ini).database_path)
    try:
        return True if all(q["depth"] == 0 for q in fed_store.queue_status(db)) else None
    finally:
        db.close()


async def test_status_shows_the_queue_and_expiry_tells_the_sender(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with DnsServer() as dns:
        a_ini = node_config(dns, tmp_path, "a")
        b_ini = node_config(dns, tmp_path, "b")
        async with running_node(a_ini) as a:
            async with running_node(b_ini) as b:
                carl = await carl_and_bob(tmp_path, a.url, b.url)
            sent = [await carl.send_text("bob@b.test", f"lost {i}") for i in range(3)]
            await eventually(lambda: _failures(a), timeout=20, what="a failed attempt")
            assert main(["federation", "status", "-c", str(a_ini)]) == 0
            out = capsys.readouterr().out
            [row] = [line for line in out.splitlines() if line.startswith("b.test")]
            assert row.split()[1] == "3", row  # three queued
            # Expiry drops them and tells carl's device, one "failed" event per message.
            await a.app[FEDERATION].sender.expire(0, a.app[FEDERATION]._failed)
            failed = await carl.transport.sync(0)
            reasons = {e["message_id"]: e["reason"] for e in failed["events"]
                       if e["type"] == "failed"}
            assert reasons == {m.message_id: "EXPIRED" for m in sent}
            await carl.close()


async def _failures(node: RunningNode) -> bool | None:
    rows = await node.app[DB].read(fed_store.queue_status)
    return True if any(r["failures"] for r in rows) else None
