"""Three nodes resolved through a real DNS server: a customer on C talks to the team of
a business on A; everything is end-to-end encrypted and signed between nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from node.appkeys import DB
from node.client import Client, File
from node.services import accounts
from tests.dnsserver import DnsServer
from tests.federation.network import start_nodes
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401
from tests.sdk.test_client import raw_files


@pytest.fixture
async def federation(tmp_path: Path) -> AsyncIterator[dict[str, RunningNode]]:
    with DnsServer() as dns:
        async with AsyncExitStack() as stack:
            yield await start_nodes(stack, dns, tmp_path, ["a", "b", "c"])


async def client(tmp_path: Path, node: RunningNode, name: str, *,
                 login: bool = False) -> Client:
    store = tmp_path / f"{name}-{node.config.node.server_name}-{login}.kontor"
    start = Client.login if login else Client.register
    return await start(node.url, name, PASSWORD, store=store, passphrase=PASSPHRASE)


async def test_customer_on_c_talks_to_two_agents_of_a_business_on_a(
        tmp_path: Path, federation: dict[str, RunningNode]) -> None:
    a, c = federation["a"], federation["c"]
    for name, role in (("anna", "agent"), ("otto", "agent")):
        await accounts.create_account(a.app[DB], f"{name}@a.test", role, PASSWORD)
    anna = await client(tmp_path, a, "anna", login=True)
    otto = await client(tmp_path, a, "otto", login=True)
    carl = await client(tmp_path, c, "carl")
    carl_tablet = await client(tmp_path, c, "carl", login=True)
    business = a.config.business_address
    texts = ["Is the green tea organic? (question from carl)",
             "Yes, certified organic - anna here",
             "Thanks! One box please",
             "Done, shipping today - otto"]
    try:
        await carl.send_text(business, texts[0])
        for agent in (anna, otto):
            [got] = await receive(agent, 1, timeout=20)
            assert got.text == texts[0] and got.sender == carl.address
        [mirror] = await receive(carl_tablet, 1, timeout=20)
        assert mirror.outgoing and mirror.text == texts[0]

        answer = await anna.send_text(carl.address, texts[1])
        assert answer.sender == business
        for device in (carl, carl_tablet):
            [got] = await receive(device, 1, timeout=20)
            assert got.sender == business and got.text == texts[1]
        [copy] = await receive(otto, 1, timeout=20)
        assert copy.outgoing and copy.text == texts[1]

        await carl.send_text(business, texts[2])
        for agent in (anna, otto):
            [got] = await receive(agent, 1, timeout=20)
            assert got.text == texts[2]
        await otto.send_text(carl.address, texts[3])
        [got] = await receive(carl, 1, timeout=20)
        assert got.text == texts[3] and got.sender_device == otto.device_id
        tablet = await receive(carl_tablet, 2, timeout=20)  # its own mirror, then otto's
        assert [m.text for m in tablet] == [texts[2], texts[3]]

        # Media crosses nodes too: each side fetches the other node's blob through its own.
        photo = bytes(range(256)) * 300
        await carl.media.send(business, photo, name="broken-lid.jpg", mime="image/jpeg")
        got = (await receive(anna, 2, timeout=20))[-1]  # otto's earlier copy, then this
        assert isinstance(got.content, File) and got.content.server == "c.test"
        assert await anna.media.download(got) == photo
        invoice = b"%PDF-1.7 invoice for carl " * 500
        await otto.media.send(carl.address, invoice, name="invoice.pdf")
        [got] = await receive(carl, 1, timeout=20)
        assert isinstance(got.content, File) and got.content.server == "a.test"
        assert await carl.media.download(got) == invoice
    finally:
        for device in (anna, otto, carl, carl_tablet):
            await device.close()
    for node in federation.values():
        raw = raw_files(node)
        for text in texts:
            assert text.encode() not in raw, f"plaintext in {node.config.node.server_name}"
