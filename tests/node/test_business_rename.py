"""Issue 11: renaming the business account is an explicit command, never a side effect.

A shop runs as ``business@<server>``: an admin's device (with the team's sealed history)
and a customer talk. The operator edits ``[business] account``: ``check-config`` (and
``kontor run``) refuse and name ``kontor business rename``. The command refuses without
``--yes``, on a running node and for a taken name; with ``--yes`` on the stopped node
it renames, and afterwards the customer reaches the team at the new address, the old
address is retired (nobody can register it), and exactly one automation account exists.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from node.appkeys import DB
from node.cli import main
from node.client import ApiError, Client
from node.config import load_config
from node.protocol.names import Role
from node.services import accounts
from node.storage import accounts as account_store
from node.storage import db as dbmod
from tests.nodes import running_node, write_config
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf  # noqa: F401


def _set_account(ini: Path, name: str) -> None:
    text = ini.read_text()
    if "[business]" in text:
        text = text.replace(text[text.index("[business]"):].split("\n\n")[0],
                            f"[business]\naccount = {name}")
    else:
        text += f"[business]\naccount = {name}\n"
    ini.write_text(text)


async def _cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_renaming_the_business_account_takes_the_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ini = write_config(tmp_path / "node", sections={"accounts": {"registration": "open"}})
    async with running_node(ini) as node:
        server = node.config.node.server_name
        await accounts.create_account(node.app[DB], f"anna@{server}", "admin", PASSWORD)
        anna = await Client.login(node.url, "anna", PASSWORD, store=tmp_path / "anna.kontor",
                                  passphrase=PASSPHRASE)
        carl = await Client.register(node.url, "carl", PASSWORD,
                                     store=tmp_path / "carl.kontor", passphrase=PASSPHRASE)
        await carl.send_text(f"business@{server}", "hello shop")
        assert anna.archive.keys(), "the team's history exists"
        _set_account(ini, "teashop")
        assert await _cli("business", "rename", "teashop", "--yes", "-c", str(ini)) == 2
        assert "NODE_RUNNING" in capsys.readouterr().err
        await anna.close()
        await carl.close()

    assert await _cli("check-config", "-c", str(ini)) == 2
    said = capsys.readouterr()
    assert "kontor business rename teashop --yes -c" in said.out + said.err
    assert await _cli("business", "rename", "teashop", "-c", str(ini)) == 2, "needs --yes"
    assert await _cli("business", "rename", "anna", "--yes", "-c", str(ini)) == 2
    assert "taken" in capsys.readouterr().err
    assert await _cli("business", "rename", "teashop", "--yes", "-c", str(ini)) == 0
    said = capsys.readouterr().out
    assert f"renamed the business account business@{server} to teashop@{server}" in said
    assert await _cli("check-config", "-c", str(ini)) == 0
    capsys.readouterr()

    async with running_node(ini) as node:
        assert node.config.business_address == f"teashop@{server}"
        db = await asyncio.to_thread(dbmod.connect, load_config(ini).database_path)
        try:
            assert account_store.addresses_with_role(db, Role.AUTOMATION) == \
                [f"teashop@{server}"], "one automation account, the new one"
        finally:
            db.close()
        anna = await Client.open(tmp_path / "anna.kontor", PASSPHRASE)
        carl = await Client.open(tmp_path / "carl.kontor", PASSPHRASE)
        try:
            assert anna.speaks_as == f"teashop@{server}"
            await carl.send_text(f"teashop@{server}", "hello again")
            got = []
            async with asyncio.timeout(20):
                while "hello again" not in got:
                    got += [e.text for e in await anna.sync_once(timeout_ms=2000)
                            if hasattr(e, "text")]
            with pytest.raises(ApiError) as refused:
                await carl.send_text(f"business@{server}", "anyone there?")
            assert refused.value.code in ("UNKNOWN_ACCOUNT", "NO_DEVICES")
            with pytest.raises(ApiError):  # the old address is retired for good
                await Client.register(node.url, "business", PASSWORD,
                                      store=tmp_path / "impostor.kontor",
                                      passphrase=PASSPHRASE)
        finally:
            await anna.close()
            await carl.close()
