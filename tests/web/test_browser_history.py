"""History on a new browser device, end to end (docs/protocol.md "History"; the Python
side is tests/sdk/test_history_e2e.py). Carl talks with Bob from a Python device, with
an image; a browser device of Carl logs in afterwards, is announced to the Python device,
which approves it: the browser downloads and opens the history, image included, and
seals what it sends itself. The other way round, the browser approves Carl's next Python
device, which reads the history including the browser's own message. When that device
is revoked the key rotates and both remaining devices hold the new epoch. The node's
database never holds a plaintext. Real node, real Chromium."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from node.appkeys import DB
from node.client import Client, Message
from node.client.models import ArchiveEvent
from node.services import accounts
from tests.nodes import RunningNode, eventually
from tests.sdk.conftest import PASSWORD
from tests.sdk.test_history_e2e import collect
from tests.web.helpers import Clients
from tests.web.page import WebDevice

IMAGE = bytes(range(256)) * 300  # 76.8 kB, two media chunks
SECRETS = ["Is the parcel on its way?", "It left this morning.", "the receipt",
           "Written in the browser", "After the laptop was revoked"]

# The browser's archive events (by long-poll) until `want` of them came, with a deadline.
ARCHIVE_EVENTS = """async ([want, ms]) => {
  const got = [];
  const deadline = Date.now() + ms;
  while (got.length < want) {
    if (Date.now() > deadline) throw new Error(`timed out: ${got.length} of ${want}`);
    for (const e of await window.me.syncOnce(1000)) {
      if (e instanceof kontor.ArchiveEvent) got.push({kind: e.kind, address: e.address,
                                                     deviceId: e.deviceId});
    }
  }
  return got;
}"""

HISTORY = """async (peer) => (await window.me.history(peer, 100)).map((m) =>
  m.type === "text" ? m.text : m.content.name)"""


# Two pages of two: [[texts, whether a next cursor came], ...].
PAGES = """async (peer) => {
  const name = (m) => m.type === "text" ? m.text : m.content.name;
  const first = await window.me.historyPage(peer, {limit: 2});
  const second = await window.me.historyPage(peer, {before: first.next, limit: 2});
  return [first, second].map((p) => [p.messages.map(name), p.next !== null]);
}"""


def no_plaintext(node: RunningNode) -> None:
    path = Path(node.app[DB].path)
    data = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    for text in SECRETS:
        assert text.encode() not in data, f"the database holds {text!r}"
    assert IMAGE[:64] not in data


def texts(client: Client, peer: str) -> list[str | None]:
    return [m.text if m.type == "text" else m.content.name
            for m in client.history(peer, limit=100)]


async def test_a_browser_device_gets_and_gives_the_history(
        web_node: RunningNode, browser: Any, clients: Clients) -> None:
    carl = await clients(web_node.url, "carl")  # the first device starts the history
    bob = await clients(web_node.url, "bob")
    await carl.send_text(bob.address, SECRETS[0])
    await collect(bob, 1)
    await bob.send_text(carl.address, SECRETS[1])
    await collect(carl, 1)
    await carl.media.send(bob.address, IMAGE, name="receipt.png", mime="image/png",
                          caption=SECRETS[2])
    await collect(bob, 1)
    assert carl.archive.keys(), "the first device holds the history key"

    # A browser device of Carl logs in: nothing before approval; Carl's phone is told.
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, web_node.url)
        await web.run("""async ([url, password]) => {
            window.me = await kontor.Client.login(url, "carl", password,
                                                  {deviceName: "chromium"}); }""",
                      [web_node.url, PASSWORD])
        device = await web.run("() => window.me.deviceId")
        assert await web.run(HISTORY, bob.address) == []
        [added] = await collect(carl, 1, kinds=(ArchiveEvent,))
        assert (added.kind, added.address, added.device_id) == \
            ("device_added", carl.address, device)
        assert await carl.archive.approve(device) == [1]

        [approved] = await web.run(ARCHIVE_EVENTS, [1, 30_000])
        assert approved["kind"] == "history_approved" and approved["address"] == carl.address
        assert await web.run(HISTORY, bob.address) == [SECRETS[0], SECRETS[1], "receipt.png"]
        digest = await web.run("""async (peer) => {
            const image = (await window.me.history(peer)).find((m) => m.type === "media");
            return sha256(await window.me.downloadMedia(image)); }""", bob.address)
        assert digest == hashlib.sha256(IMAGE).hexdigest()
        assert await web.run(PAGES, bob.address) == [
            [[SECRETS[1], "receipt.png"], True], [[SECRETS[0]], False]]
        # Paging where the local store has nothing: the node's copies of the conversation.
        await web.run("""async (peer) => { const s = window.me.store;
            await s.write((await s.keys("messages", "peer", peer)).map(
                (k) => ["delete", "messages", k])); }""", bob.address)
        assert await web.run(HISTORY, bob.address) == []
        assert await web.run(PAGES, bob.address) == [
            [[SECRETS[1], "receipt.png"], True], [[SECRETS[0]], False]]

        # The browser seals what it sends; it approves Carl's next Python device.
        await web.send_text(bob.address, SECRETS[3])
        laptop = await clients(web_node.url, "carl", login=True)
        [added] = await web.run(ARCHIVE_EVENTS, [1, 30_000])
        assert (added["kind"], added["deviceId"]) == ("device_added", laptop.device_id)
        assert await web.run("(d) => window.me.archive.approve(d)", laptop.device_id) == [1]
        [approved] = await collect(laptop, 1, kinds=(ArchiveEvent,))
        assert approved.kind == "history_approved"
        assert texts(laptop, bob.address) == [SECRETS[0], SECRETS[1], "receipt.png",
                                              SECRETS[3]]
        image = next(m for m in laptop.history(bob.address) if m.type == "media")
        assert await laptop.media.download(image) == IMAGE
        no_plaintext(web_node)

        # The laptop is revoked: the key rotates; Carl's phone and the browser hold it.
        await accounts.revoke_device(web_node.app[DB], carl.address, laptop.device_id)
        await web.send_text(bob.address, SECRETS[4])
        state = await web.run("""() => window.me.transport.request("GET", "/history")""")

        async def rotated() -> bool | None:
            await carl.sync_once(timeout_ms=200)
            await web.run("() => window.me.syncOnce(200)")
            epochs = await web.run("""async () => [...(await window.me.archive.keys())
                .keys()]""")
            return (max(carl.archive.keys()) == 2 and max(epochs) == 2) or None

        await eventually(rotated, what="the history key to rotate", timeout=30)
        state = await web.run("""() => window.me.transport.request("GET", "/history")""")
        assert state["epoch"] == 2 and not state["rotate"]
        got = [m.text for m in await collect(bob, 2, timeout=30) if isinstance(m, Message)]
        assert got == [SECRETS[3], SECRETS[4]]
        no_plaintext(web_node)
        assert web.console_errors == [] or all("409" in e or "401" in e
                                               for e in web.console_errors), web.console_errors
    finally:
        await context.close()


async def test_a_team_browser_device_is_approved_by_an_admin_and_hears_an_erase(
        shop: RunningNode, browser: Any, clients: Clients) -> None:
    from node.appkeys import BUSINESS
    from node.services.business import datarights
    from tests.web.helpers import team_account

    business = shop.config.business_address
    await team_account(shop, "anna", "admin")
    ben_address = await team_account(shop, "ben", "agent")
    anna = await clients(shop.url, "anna", login=True)  # starts the team's history
    carl = await clients(shop.url, "carl")
    await carl.send_text(business, SECRETS[0])
    await collect(anna, 1)
    await anna.send_text(carl.address, SECRETS[1])
    await collect(carl, 1)
    await carl.media.send(business, IMAGE, name="receipt.png", mime="image/png")
    await collect(anna, 1)

    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, shop.url)
        await web.run("""async ([url, password]) => {
            window.me = await kontor.Client.login(url, "ben", password,
                                                  {deviceName: "chromium"}); }""",
                      [shop.url, PASSWORD])
        device = await web.run("() => window.me.deviceId")
        [added] = await collect(anna, 1, kinds=(ArchiveEvent,))
        assert (added.kind, added.address, added.device_id) == \
            ("device_added", ben_address, device)
        assert await anna.archive.approve(device) == [1]
        [approved] = await web.run(ARCHIVE_EVENTS, [1, 30_000])
        assert (approved["kind"], approved["address"]) == ("history_approved", business)
        assert await web.run(HISTORY, carl.address) == [SECRETS[0], SECRETS[1], "receipt.png"]
        digest = await web.run("""async (peer) => {
            const image = (await window.me.history(peer)).find((m) => m.type === "media");
            return sha256(await window.me.downloadMedia(image)); }""", carl.address)
        assert digest == hashlib.sha256(IMAGE).hexdigest()

        # The business erases Carl: the browser's copy of him goes too.
        await datarights.erase(shop.app[BUSINESS], None, carl.address)
        [erased] = await web.run(ARCHIVE_EVENTS, [1, 30_000])
        assert (erased["kind"], erased["address"]) == ("erased", carl.address)
        assert await web.run(HISTORY, carl.address) == []
        assert await web.run("""async (peer) => (await window.me.conversations())
            .filter((c) => c.peer === peer).length""", carl.address) == 0
        no_plaintext(shop)
    finally:
        await context.close()
