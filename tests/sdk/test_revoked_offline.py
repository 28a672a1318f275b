"""A device revoked while it was away hears ``DEVICE_REVOKED`` on its next request, and
the SDK wipes its store before the app sees the typed ``DeviceRevoked`` error.

Real node on loopback, real store files; the revocation is the operator's path (what
``kontor device revoke`` and ``account remove`` call)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from node.appkeys import DB
from node.client import Client, DeviceRevoked, Unauthorized
from node.client.transport import PREFIX
from node.services import accounts
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSPHRASE, MakeClient


def _store_files(path: Path) -> list[Path]:
    return [p for p in path.parent.glob(path.name + "*")]


async def _status(node: RunningNode, token: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(
            node.url + PREFIX + "/account",
            headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, (await resp.json())["error"]["code"]


async def test_a_device_revoked_while_closed_is_wiped_when_it_opens(
        node: RunningNode, make_client: MakeClient, tmp_path: Path) -> None:
    phone = await make_client("anna")
    laptop = await make_client("anna", login=True)
    path, token = tmp_path / "anna-0.kontor", phone.http.token
    assert path.exists() and token
    await phone.close()  # the phone is off while the operator revokes it
    await accounts.revoke_device(node.app[DB], phone.address, phone.device_id)

    assert await _status(node, token) == (401, "DEVICE_REVOKED")
    assert await _status(node, "an-invented-token") == (401, "UNKNOWN_TOKEN")
    with pytest.raises(DeviceRevoked) as raised:
        await Client.open(path, PASSPHRASE)
    assert isinstance(raised.value, Unauthorized)
    assert _store_files(path) == []
    assert await laptop.sync_once() is not None and not laptop.wiped  # untouched


async def test_a_device_revoked_between_requests_is_wiped_on_the_next_one(
        node: RunningNode, make_client: MakeClient, tmp_path: Path) -> None:
    anna = await make_client("anna")
    bob = await make_client("bob")
    path = tmp_path / "bob-1.kontor"
    await bob.send_text(anna.address, "before")
    await accounts.revoke_device(node.app[DB], bob.address, bob.device_id)
    assert path.exists() and not bob.wiped  # nothing told it yet: no connection open
    with pytest.raises(DeviceRevoked):
        await bob.send_text(anna.address, "after")
    assert bob.wiped and _store_files(path) == []
    with pytest.raises(DeviceRevoked):  # every later call says the same
        await bob.sync_once()


async def test_a_removed_accounts_device_is_told_it_was_revoked(
        node: RunningNode, make_client: MakeClient, tmp_path: Path) -> None:
    carl = await make_client("carl")
    path = tmp_path / "carl-0.kontor"
    await accounts.remove_account(node.app[DB], carl.address)
    with pytest.raises(DeviceRevoked):
        await carl.sync_once()
    assert carl.wiped and _store_files(path) == []
