"""Team devices, end to end, over three nodes and the test DNS server (issue 13).

Anna (admin of the shop) and Carl (a customer on c.test) talk, with an image; Ben (an
agent) logs in afterwards and, once Anna's device approves his, sees the whole
conversation, image included; Carl's next message reaches Anna and Ben although
Carl's side still had the old device list, and Carl sees no failure; Carl adds a second
device and sees his history; Ben is revoked: his device gets nothing new, its store is
wiped, and the team's history key rotates; an erase of Carl reaches Anna's device.
Dora (on d.test) talks to the shop too and keeps her history. At no point does any
node's database hold a plaintext of the history.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from node.appkeys import BUSINESS, DB, NOTIFIER
from node.client import Client, DeliveryFailed, Message
from node.client.models import ArchiveEvent
from node.services import accounts
from node.services.business import datarights
from tests.dnsserver import DnsServer
from tests.federation.network import node_config
from tests.nodes import RunningNode, eventually, running_node
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf  # noqa: F401

IMAGE = bytes(range(256)) * 300  # 76.8 kB, two media chunks
SECRETS = ["Do you have green tea?", "Yes, sencha and matcha.", "Here is my teapot",
           "Which one fits?", "Second question after Ben came", "After Ben left",
           "Dora's own question"]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with AsyncExitStack() as stack:
        dns = stack.enter_context(DnsServer())
        nodes = {name: await stack.enter_async_context(running_node(
            node_config(dns, tmp_path, name))) for name in ("shop", "c", "d")}
        for name, role in (("anna", "admin"), ("ben", "agent")):
            await accounts.create_account(nodes["shop"].app[DB], f"{name}@shop.test", role,
                                          PASSWORD)
        clients: list[Client] = []

        async def client(node: str, name: str, *, login: bool = False) -> Client:
            store = tmp_path / f"{name}-{len(clients)}.kontor"
            make = Client.login if login else Client.register
            made = await make(nodes[node].url, name, PASSWORD, store=store,
                              passphrase=PASSPHRASE)
            clients.append(made)
            return made

        yield {"nodes": nodes, "client": client, "tmp": tmp_path}
        for made in clients:
            await made.close()


async def collect(client: Client, want: int, *, kinds: tuple[type, ...] = (Message,),
                  timeout: float = 30.0) -> list[Any]:
    """The next ``want`` events of ``kinds`` (long-poll), within ``timeout``."""
    got: list[Any] = []
    async with asyncio.timeout(timeout):
        while len(got) < want:
            got += [e for e in await client.sync_once(timeout_ms=2000)
                    if isinstance(e, kinds)]
    return got


def no_plaintext(nodes: dict[str, RunningNode]) -> None:
    for name, node in nodes.items():
        path = Path(node.app[DB].path)
        data = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        for text in [*SECRETS]:
            assert text.encode() not in data, f"{name}'s database holds {text!r}"
        assert IMAGE[:64] not in data


def texts(client: Client, peer: str) -> list[str | None]:
    return [m.text if m.type == "text" else m.content.name
            for m in client.history(peer, limit=100)]


async def test_team_devices_history_repair_revocation_and_erase(
        world: dict[str, Any]) -> None:
    nodes, client = world["nodes"], world["client"]
    shop = "business@shop.test"
    anna = await client("shop", "anna", login=True)
    carl = await client("c", "carl")
    dora = await client("d", "dora")
    assert anna.archive.keys() and carl.archive.keys(), "first devices start the history"

    await carl.send_text(shop, SECRETS[0])
    await collect(anna, 1)
    await anna.send_text(carl.address, SECRETS[1])
    await collect(carl, 1)
    await carl.media.send(shop, IMAGE, name="teapot.png", mime="image/png",
                          caption=SECRETS[2])
    await carl.send_text(shop, SECRETS[3])
    await collect(anna, 2)
    await dora.send_text(shop, SECRETS[6])
    await collect(anna, 1)
    no_plaintext(nodes)

    # Ben logs in afterwards: Anna's device is told, and approves him.
    ben = await client("shop", "ben", login=True)
    added = await collect(anna, 1, kinds=(ArchiveEvent,))
    assert (added[0].kind, added[0].address, added[0].device_id) == \
        ("device_added", ben.address, ben.device_id)
    assert texts(ben, carl.address) == [], "nothing before approval"
    # Carl's side still has the old list of the shop's devices: its node accepts the
    # message, the shop's node reports Ben's device missing, Carl's device repairs it.
    carl_sees: list[Any] = []
    carl_app = asyncio.create_task(_run_app(carl, carl_sees))  # Carl's app is running
    await carl.send_text(shop, SECRETS[4])
    got = await collect(ben, 1)
    assert got[0].text == SECRETS[4] and got[0].sender == carl.address
    assert [m.text for m in await collect(anna, 1)] == [SECRETS[4]]
    carl_app.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await carl_app
    carl_sees += await carl.sync_once(timeout_ms=500)
    assert not [e for e in carl_sees if isinstance(e, DeliveryFailed)], \
        "nothing shown to Carl as failed"

    assert await anna.archive.approve(ben.device_id) == [1]
    approved = await collect(ben, 1, kinds=(ArchiveEvent,))
    assert approved[0].kind == "history_approved"
    assert texts(ben, carl.address) == [SECRETS[0], SECRETS[1], "teapot.png", SECRETS[3],
                                        SECRETS[4]]
    image = next(m for m in ben.history(carl.address) if m.type == "media")
    assert await ben.media.download(image) == IMAGE
    assert texts(ben, dora.address) == [SECRETS[6]]

    # Carl's second device sees his history once his first device approves it.
    carl2 = await client("c", "carl", login=True)
    assert [e.device_id for e in await collect(carl, 1, kinds=(ArchiveEvent,))] == \
        [carl2.device_id]
    await carl.archive.approve(carl2.device_id)
    await collect(carl2, 1, kinds=(ArchiveEvent,))
    assert texts(carl2, shop) == [SECRETS[0], SECRETS[1], "teapot.png", SECRETS[3],
                                  SECRETS[4]]
    no_plaintext(nodes)

    # Ben is revoked while his device listens: it gets nothing new, its store is wiped.
    pk = await nodes["shop"].app[DB].read(_device_pk, ben.address, ben.device_id)
    listening = asyncio.create_task(_drain(ben))
    await eventually(lambda: _waiting(nodes["shop"], pk), what="Ben's device to listen")
    await accounts.revoke_device(nodes["shop"].app[DB], ben.address, ben.device_id)
    nodes["shop"].app[NOTIFIER].check_revocations()
    await asyncio.wait_for(listening, 20)
    assert ben.wiped and not any(Path(world["tmp"]).glob("ben-*.kontor*"))
    await carl.send_text(shop, SECRETS[5])
    assert [m.text for m in await collect(anna, 1)] == [SECRETS[5]]

    async def rotated() -> dict[str, Any] | None:  # by the next upload, within a second
        # (the node may show the new epoch before Anna's device has read its answer)
        state = await anna.http.request("GET", "/history")
        return state if state["epoch"] == 2 and max(anna.archive.keys()) == 2 else None
    state = await eventually(rotated, what="the upload that rotates the team's key")
    assert not state["rotate"], "the team's key rotated"
    no_plaintext(nodes)

    # An erase of Carl reaches Anna's device; Dora's history stays.
    await datarights.erase(nodes["shop"].app[BUSINESS], None, carl.address)
    erased = await collect(anna, 1, kinds=(ArchiveEvent,))
    assert (erased[0].kind, erased[0].address) == ("erased", carl.address)
    assert texts(anna, carl.address) == []
    assert texts(anna, dora.address) == [SECRETS[6]]
    page = await anna.http.request("GET", "/history/items")
    assert {i["conversation"] for i in page["items"]} == {dora.address}
    no_plaintext(nodes)


def _device_pk(db: Any, address: str, device_id: str) -> int:
    row = db.execute("SELECT pk FROM devices WHERE address = ? AND device_id = ?",
                     [address, device_id]).fetchone()
    return int(row[0])


async def _waiting(node: RunningNode, pk: int) -> bool | None:
    return node.app[NOTIFIER].waiting(pk) >= 1 or None


async def _run_app(client: Client, seen: list[Any]) -> None:
    """What an app does all day: receive (and so repair fan-outs) until cancelled."""
    while True:
        seen += await client.sync_once(timeout_ms=1000)


async def _drain(client: Client) -> None:
    """Listen on the WebSocket until the node ends the device (Unauthorized)."""
    from node.client import Unauthorized

    with pytest.raises(Unauthorized) as caught:
        async for event in client.events():
            assert not isinstance(event, Message), f"a revoked device got {event}"
    assert caught.value.code == "DEVICE_REVOKED"
