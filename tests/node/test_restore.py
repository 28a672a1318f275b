"""Backup and restore end to end: back up a running node, keep chatting, erase a
customer, rotate the key, restore: running SDK devices get the next messages (nothing
skipped, nothing twice), the erased customer stays erased, the keys' history survives."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from node.appkeys import DB
from node.client.client import Client, Message
from node.client.errors import ApiError
from node.client.transport import HttpTransport
from node.config import load_config
from node.nodekey import key_path, load_key
from node.services import accounts
from node.services.backup import write_backup
from tests.nodes import REPO, running_node, write_config
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401


def kontor(ini: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "node", *args, "-c", str(ini)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def shop_ini(directory: Path, **kw: str) -> Path:
    return write_config(directory, sections={"accounts": {"registration": "open"},
                                             "business": {"account": "shop"}}, **kw)


async def texts(client: Client, count: int) -> list[str]:
    return [m.text or "" for m in await receive(client, count, timeout=20)
            if isinstance(m, Message)]


async def test_restore_brings_devices_back_in_step_and_erasures_stay(
        tmp_path: Path) -> None:
    ini = shop_ini(tmp_path / "node")
    config = load_config(ini)
    archive = tmp_path / "backup.tar"
    stores = tmp_path / "stores"
    stores.mkdir()
    async with running_node(ini) as node:
        for name, role in (("boss", "admin"), ("anna", "agent"), ("otto", "agent")):
            await accounts.create_account(node.app[DB], f"{name}@{config.node.server_name}",
                                          role, PASSWORD)

        async def device(name: str, login: bool = False) -> Client:
            start = Client.login if login else Client.register
            return await start(node.url, name, PASSWORD, passphrase=PASSPHRASE,
                               store=stores / f"{name}.store")
        boss, anna = await device("boss", True), await device("anna", True)
        carl, dora = await device("carl"), await device("dora")
        phone = await Client.login(node.url, "carl", PASSWORD, passphrase=PASSPHRASE,
                                   store=stores / "carl-phone.store")  # to be lost
        business = config.business_address
        await carl.send_text(business, "one")
        assert await texts(anna, 1) == ["one"]
        await dora.send_text(business, "I am dora")
        await carl.send_text(business, "zero")  # queued for Anna when the backup is made
        await asyncio.wait_for(asyncio.to_thread(write_backup, config, archive), 60)

        # Life goes on after the backup: Anna reads on (her position moves past anything
        # the backup holds), answers, and the admin erases Dora.
        assert await texts(anna, 2) == ["I am dora", "zero"]
        await anna.send_text(carl.address, "two")
        assert await texts(carl, 1) == ["two"]
        for i in range(5):
            await carl.send_text(business, f"more {i}")
        assert len(await texts(anna, 5)) == 5
        await boss.http.request("DELETE", f"/business/customers/{dora.address}")
        await dora.close()
        for args in (("account", "remove", "otto", "--yes"),
                     ("device", "revoke", "carl", phone.device_id)):
            gone_now = await asyncio.to_thread(kontor, ini, *args)
            assert gone_now.returncode == 0, gone_now.stderr
        phone_token = phone.transport.token
        await phone.close()

        refused = await asyncio.to_thread(kontor, ini, "restore", str(archive))
        assert refused.returncode == 2 and "NODE_RUNNING" in refused.stderr, refused.stderr

    rotated = kontor(ini, "keys", "rotate", "--grace-hours", "48")
    assert rotated.returncode == 0, rotated.stderr
    keys_before = _keys(config.database_path)
    done = kontor(ini, "restore", str(archive))
    assert done.returncode == 0, done.stderr
    assert "erased again 1 address" in done.stdout and "new stream epoch" in done.stdout
    assert "removed again 1 account(s) and revoked again 1 device(s)" in done.stdout
    assert _keys(config.database_path) == keys_before, "key history and grace survive"
    assert load_key(key_path(config.data_dir)).key_id == keys_before[-1][0]

    async with running_node(ini) as node:
        # The same running devices: the next messages arrive, in both directions, and
        # what they already had ("zero", queued at backup time) is not shown again.
        await carl.send_text(business, "after the restore")
        assert await texts(anna, 1) == ["after the restore"]
        assert (anna.resyncs, anna.undecryptable) == (1, 0), "replayed ones are skipped"
        await anna.send_text(carl.address, "welcome back")
        assert await texts(carl, 1) == ["welcome back"]
        assert await _sees_nothing_more(anna)

        # Dora stays erased: no conversation, no account, not in any file of the node.
        with pytest.raises(ApiError) as gone:
            await boss.http.request("GET", f"/business/conversations/{dora.address}")
        assert gone.value.code == "UNKNOWN_CONVERSATION"
        assert await node.app[DB].read(accounts_of, dora.address) is None
        # The agent removed and the phone revoked after the backup stay so.
        assert await node.app[DB].read(accounts_of, f"otto@{config.node.server_name}") is None
        lost = HttpTransport(node.url, phone_token)
        try:
            with pytest.raises(ApiError) as refused_token:
                await lost.account()
            assert refused_token.value.status == 401
        finally:
            await lost.close()
        for path in config.data_dir.rglob("*"):
            if path.is_file():
                assert dora.address.encode() not in path.read_bytes(), path
        for client in (boss, anna, carl):
            await client.close()


def accounts_of(db, address: str):  # type: ignore[no-untyped-def]
    from node.storage import accounts as account_store
    return account_store.get_account(db, address)


async def _sees_nothing_more(client: Client) -> bool:
    return not [i for i in await client.sync_once(timeout_ms=500) if isinstance(i, Message)]


def _keys(database: Path) -> list[tuple[str, int, int | None]]:
    db = sqlite3.connect(database)
    try:
        return [tuple(r) for r in db.execute(  # type: ignore[misc]
            "SELECT key_id, valid_from_ms, expired_ms FROM node_keys ORDER BY valid_from_ms")]
    finally:
        db.close()


async def test_restore_refuses_a_damaged_archive_and_another_node(tmp_path: Path) -> None:
    ini = shop_ini(tmp_path / "node")
    config = load_config(ini)
    async with running_node(ini):
        pass
    archive = tmp_path / "b.tar"
    made = kontor(ini, "backup", str(archive))
    assert made.returncode == 0, made.stderr
    before = config.database_path.read_bytes()

    other = kontor(shop_ini(tmp_path / "other"), "restore", str(archive))
    assert other.returncode == 2 and "OTHER_NODE" in other.stderr, other.stderr

    raw = bytearray(archive.read_bytes())
    at = raw.index(b"SQLite format 3") + 2000  # inside the database snapshot
    raw[at] ^= 0xFF
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(bytes(raw))
    refused = kontor(ini, "restore", str(damaged))
    assert refused.returncode == 2 and "DAMAGED" in refused.stderr, refused.stderr
    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[:4096])
    assert "DAMAGED" in kontor(ini, "restore", str(cut)).stderr
    assert config.database_path.read_bytes() == before, "a refused restore changes nothing"
    assert not list(tmp_path.glob("node/.kontor-restore-*"))


async def test_restore_onto_a_new_machine(tmp_path: Path) -> None:
    ini = shop_ini(tmp_path / "old")
    config = load_config(ini)
    async with running_node(ini) as node:
        await accounts.create_account(node.app[DB], f"anna@{config.node.server_name}",
                                      "agent", PASSWORD)
        anna = await Client.login(node.url, "anna", PASSWORD, passphrase=PASSPHRASE,
                                  store=tmp_path / "anna.store")
        await anna.close()
    archive = tmp_path / "b.tar"
    assert kontor(ini, "backup", str(archive)).returncode == 0
    fresh = shop_ini(tmp_path / "new", server_name=config.node.server_name,
                     port=config.http.listen_port)
    done = kontor(fresh, "restore", str(archive))
    assert done.returncode == 0, done.stderr
    restored = load_config(fresh)
    assert load_key(key_path(restored.data_dir)).key_id == \
        load_key(key_path(config.data_dir)).key_id, "the backup's key, none being there"
    async with running_node(fresh) as node:
        again = await Client.open(tmp_path / "anna.store", PASSPHRASE)
        assert again.address == f"anna@{config.node.server_name}"
        assert await again.sync_once() == []  # its token and device came back
        await again.close()
