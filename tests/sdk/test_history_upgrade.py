"""Devices that existed before there was a history join it (issue 13).

A node upgraded from a version without history has empty history tables, and its
devices' stores hold no history key; a team whose devices logged in before any admin's
device has no history yet either. Here the node's history rows of Carl are deleted
through the history store and his devices' stores lose their history entries (the
state such an upgrade leaves), and a team starts with an agent's device only. Then:

- the first device that may start the history does so, the owner's other devices
  join without an approval, and what they kept from before is sealed, so a device
  approved later reads messages from before the history existed;
- an agent's own chat with a colleague is not sealed into the team's history;
- when every holder of an account's key is gone (its only approved device revoked),
  a remaining device starts the next epoch instead of waiting for ever;
- an agent removed from the team: the next copy rotates the team's key, and the
  remaining team devices get the new one;
- when the node refuses the upload of what the starting device kept (a proxy answers
  503 to ``PUT /history/items``), the other devices get the key all the same, and the
  copies go up once the node accepts them; when the node cannot be reached as the key
  is to be given, it is given after a later batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from node.appkeys import DB
from node.client import Client
from node.client.models import ArchiveEvent
from node.services import accounts
from node.storage import history as history_store
from tests.nodes import RunningNode, eventually
from tests.proxy import UploadProxy
from tests.sdk.conftest import PASSPHRASE, PASSWORD, MakeClient, receive

FORGOTTEN = ("history_keys", "history_download")


async def _as_before_history(node: RunningNode, *clients: Client) -> list[Client]:
    """The node and the devices as an upgrade to history leaves them; reopened."""
    await node.app[DB].write(history_store.erase_owner_txn, clients[0].address)
    reopened = []
    for client in clients:
        for name in FORGOTTEN:
            client.store.delete_secret(name)
        client.store.history_queue.clear()
        path = client.store._conn.execute("PRAGMA database_list").fetchone()[2]
        await client.close()
        reopened.append(await Client.open(path, PASSPHRASE))
    return reopened


@contextlib.asynccontextmanager
async def _upgraded_behind_proxy(node: RunningNode, make_client: MakeClient
                                 ) -> AsyncIterator[tuple[UploadProxy, Client, Client,
                                                          Client]]:
    """Carl's two devices as an upgrade to history leaves them, the first talking to the
    node through an ``UploadProxy``; Dora wrote to Carl before. Yields (proxy, carl,
    carl2, dora) and closes Carl's devices at the end."""
    async with UploadProxy(node.url) as proxy:
        carl, dora = await make_client("carl", url=proxy.url), await make_client("dora")
        carl2 = await make_client("carl", login=True)
        await dora.send_text(carl.address, "before the upgrade")
        await receive(carl2, 1)
        carl, carl2 = await _as_before_history(node, carl, carl2)
        try:
            yield proxy, carl, carl2, dora
        finally:
            await carl.close()
            await carl2.close()


def texts(client: Client, peer: str) -> list[str | None]:
    return [m.text for m in client.history(peer, limit=50)]


async def test_an_accounts_old_devices_start_and_join_and_keep_their_past(
        node: RunningNode, make_client: MakeClient) -> None:
    carl, dora = await make_client("carl"), await make_client("dora")
    carl2 = await make_client("carl", login=True)
    await dora.send_text(carl.address, "before the upgrade")
    await carl.send_text(dora.address, "an answer from before")
    await receive(carl2, 2)
    carl, carl2 = await _as_before_history(node, carl, carl2)
    try:
        assert not carl.archive.keys() and not carl2.archive.keys()
        await carl.sync_once()  # the first run after the upgrade starts the history
        assert list(carl.archive.keys()) == [1]
        await receive(carl2, 1, kinds=(ArchiveEvent,))  # joined: no approval asked
        assert list(carl2.archive.keys()) == [1]
        listed = await carl.http.request("GET", "/history/devices")
        assert {d["device_id"]: d["epochs"] for d in listed["devices"]} == \
            {carl.device_id: [1], carl2.device_id: [1]}

        carl3 = await make_client("carl", login=True)  # a new device: approved
        await carl.archive.approve(carl3.device_id)
        await receive(carl3, 1, kinds=(ArchiveEvent,))
        assert texts(carl3, dora.address) == ["before the upgrade", "an answer from before"]
    finally:
        await carl.close()
        await carl2.close()


async def test_a_refused_backfill_upload_does_not_keep_the_key_from_the_others(
        node: RunningNode, make_client: MakeClient) -> None:
    upgraded = _upgraded_behind_proxy(node, make_client)
    async with upgraded as (proxy, carl, carl2, _):
        proxy.refusing = True
        await carl.sync_once()  # starts the history; the backfill upload is refused
        assert list(carl.archive.keys()) == [1] and proxy.refused >= 1
        assert carl.store.history_queue.waiting(1), "the copy waits"
        await receive(carl2, 1, kinds=(ArchiveEvent,))  # the key came all the same
        assert list(carl2.archive.keys()) == [1]

        proxy.refusing = False
        await carl.sync_once()  # the next batch: the copy goes up

        async def uploaded() -> bool:
            return not carl.store.history_queue.waiting(1) and proxy.puts >= 1
        await eventually(uploaded, what="the refused copy to go up later")


async def test_a_key_not_given_for_want_of_the_node_is_given_after_a_later_batch(
        node: RunningNode, make_client: MakeClient) -> None:
    upgraded = _upgraded_behind_proxy(node, make_client)
    async with upgraded as (proxy, carl, carl2, dora):
        proxy.refusing, proxy.cut = True, {"GET /history/devices"}
        await carl.sync_once()  # the history starts; then the network goes away
        assert list(carl.archive.keys()) == [1] and proxy.refused >= 1
        assert not [e for e in await carl2.sync_once() if isinstance(e, ArchiveEvent)]

        proxy.refusing, proxy.cut = False, set()
        await dora.send_text(carl.address, "after the upgrade")
        await receive(carl, 1)  # the next batch gives the key
        await receive(carl2, 1, kinds=(ArchiveEvent,))
        assert list(carl2.archive.keys()) == [1]
        assert not carl.store.get_json("history_to_give"), "nothing left to give"


async def test_a_key_lost_in_a_garbled_answer_is_given_after_a_later_batch(
        node: RunningNode, make_client: MakeClient) -> None:
    """A proxy's page instead of the node's answer while the key is given (200, not
    JSON: ``BadResponse``, worth retrying): the device stays on the list to give to,
    and a later batch gives it the key."""
    upgraded = _upgraded_behind_proxy(node, make_client)
    async with upgraded as (proxy, carl, carl2, dora):
        proxy.garble = {"POST /history/keys"}
        await carl.sync_once()  # the history starts; the key's answer is a portal page
        assert list(carl.archive.keys()) == [1]
        due = carl.store.get_json("history_to_give") or {}
        assert due.get("devices") == [carl2.device_id], "kept on the list to give to"

        proxy.garble = set()
        await dora.send_text(carl.address, "after the upgrade")
        await receive(carl, 1)  # the next batch gives the key
        await receive(carl2, 1, kinds=(ArchiveEvent,))
        assert list(carl2.archive.keys()) == [1]
        assert not carl.store.get_json("history_to_give"), "nothing left to give"


async def test_two_starts_at_once_still_give_the_key_once_the_node_is_back(
        node: RunningNode, make_client: MakeClient) -> None:
    """A send and a received batch both run the history work at once: one start
    happens, and when giving the key fails both leave it to the next batch (the one
    that lost the race used to mark the work done, and the key was never given)."""
    upgraded = _upgraded_behind_proxy(node, make_client)
    async with upgraded as (proxy, carl, carl2, _):
        proxy.cut = {"GET /history/devices"}
        await asyncio.gather(carl.archive.after_batch(), carl.archive.after_batch())
        assert list(carl.archive.keys()) == [1]
        proxy.cut = set()
        await carl.archive.after_batch()
        await receive(carl2, 1, kinds=(ArchiveEvent,))
        assert list(carl2.archive.keys()) == [1]
        assert not carl.store.get_json("history_to_give"), "nothing left to give"


async def test_a_team_whose_agents_came_first_starts_with_the_admin(
        node: RunningNode, make_client: MakeClient) -> None:
    db = node.app[DB]
    server = node.config.node.server_name
    for name, role in (("anna", "admin"), ("ben", "agent"), ("chris", "agent"),
                       ("dave", "agent")):
        await accounts.create_account(db, f"{name}@{server}", role, PASSWORD)
    ben, chris = await make_client("ben", login=True), await make_client("chris", login=True)
    shop = ben.speaks_as
    assert not ben.archive.keys(), "an agent's device cannot start the team's history"
    carl = await make_client("carl")
    await carl.send_text(shop, "a question before any history")
    await ben.send_text(chris.address, "a private word to Chris")
    assert [m.text for m in await receive(ben, 1)] == ["a question before any history"]
    assert len(await receive(chris, 2)) == 2

    anna = await make_client("anna", login=True)  # the first admin's device starts it
    assert list(anna.archive.keys()) == [1]
    for agent in (ben, chris):  # the agents' devices join and seal their past
        await receive(agent, 1, kinds=(ArchiveEvent,))
        assert list(agent.archive.keys()) == [1]
        await agent.archive.flush()
        assert not agent.store.history_queue.waiting(1)

    dave = await make_client("dave", login=True)  # a new device: approved
    await anna.archive.approve(dave.device_id)
    await receive(dave, 1, kinds=(ArchiveEvent,))
    assert texts(dave, carl.address) == ["a question before any history"]
    assert texts(dave, chris.address) == [], "colleagues' chats are not the team's"
    page = await dave.http.request("GET", "/history/items")
    assert {i["conversation"] for i in page["items"]} == {carl.address}


async def test_a_device_left_without_holders_starts_the_next_epoch(
        node: RunningNode, make_client: MakeClient, tmp_path: Path) -> None:
    eve = await make_client("eve")
    eve2 = await make_client("eve", login=True)  # never approved
    eve3 = await make_client("eve", login=True)  # waits for approval too
    await accounts.revoke_device(node.app[DB], eve.address, eve.device_id)
    state = await eve2.http.request("GET", "/history")
    assert (state["epoch"], state["held"], state["restart"]) == (1, [], True)
    await eve2.sync_once()
    assert list(eve2.archive.keys()) == [2]
    waiting = await eve3.http.request("GET", "/history")
    assert waiting["held"] == [], "a restart approves no device that was waiting"
    assert await eve2.archive.approve(eve3.device_id) == [2]
    state = await eve2.http.request("GET", "/history")
    assert (state["epoch"], state["restart"]) == (2, False)


async def test_removing_an_agent_rotates_the_teams_key(
        node: RunningNode, make_client: MakeClient) -> None:
    db = node.app[DB]
    server = node.config.node.server_name
    for name, role in (("anna", "admin"), ("ben", "agent"), ("chris", "agent")):
        await accounts.create_account(db, f"{name}@{server}", role, PASSWORD)
    anna = await make_client("anna", login=True)
    ben, chris = await make_client("ben", login=True), await make_client("chris", login=True)
    for agent in (ben, chris):
        await anna.archive.approve(agent.device_id)
        await receive(agent, 1, kinds=(ArchiveEvent,))
    carl = await make_client("carl")
    await carl.send_text(anna.speaks_as, "before Ben left")
    await receive(anna, 1)
    await accounts.remove_account(db, ben.address)  # the agent leaves the team
    state = await anna.http.request("GET", "/history")
    assert (state["epoch"], state["rotate"]) == (1, True)
    await carl.send_text(anna.speaks_as, "after Ben left")
    await receive(anna, 1)
    await anna.archive.flush()  # sealing it finds the key must rotate: Anna's device does it
    state = await anna.http.request("GET", "/history")
    assert (state["epoch"], state["rotate"]) == (2, False)
    assert max(anna.archive.keys()) == 2
    await receive(chris, 1, kinds=(ArchiveEvent,))  # the remaining agent gets the new key
    assert max(chris.archive.keys()) == 2
    listed = await anna.http.request("GET", "/history/devices")
    assert ben.device_id not in {d["device_id"] for d in listed["devices"]}
