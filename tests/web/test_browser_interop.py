"""A browser device (kontor.js in Debian's Chromium) and a Python SDK device talk
through a real node: first (prekey) messages both ways, out-of-order delivery, files of
several MB, a session that continues after a page reload, and nothing from elsewhere."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from crypto.encoding import b64decode
from crypto.session import peek_prekey
from node.client import Client, File, Message, Text
from node.client import content as contents
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401
from tests.web.page import WebDevice


def pattern(size: int) -> bytes:
    """The bytes window.pattern(size) makes in the page."""
    return bytes((i * 7 + 3) % 251 for i in range(size))


@pytest.fixture
async def context(browser: Any) -> AsyncIterator[Any]:
    ctx = await browser.new_context()
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def python_client(tmp_path: Path, web_node: RunningNode) -> AsyncIterator[Any]:
    made: list[Client] = []

    async def make(name: str) -> Client:
        client = await Client.register(web_node.url, name, PASSWORD, passphrase=PASSPHRASE,
                                       store=tmp_path / f"{name}.kontor")
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def test_browser_and_python_devices_talk(web_node: RunningNode, context: Any,
                                               python_client: Any, tmp_path: Path) -> None:
    web = await WebDevice.open(context, web_node.url)
    me = await web.register("webby", PASSWORD)
    py = await python_client("pyro")

    # Python starts the session: the browser accepts a prekey message.
    await py.send_text(me, "Hello from Python")
    [got] = await web.messages(1)
    assert (got["sender"], got["text"], got["type"]) == (py.address, "Hello from Python", "text")
    assert isinstance(got["ts"], int)
    assert await web.run("() => window.me.receiver.push?.opened === true"), "over a WebSocket"
    await web.send_text(py.address, "Hello back from the browser")
    [back] = await receive(py, 1)
    assert (back.sender, back.text) == (me, "Hello back from the browser")

    # The browser starts a session: Python accepts the browser's prekey message.
    other = await python_client("pyra")
    await web.send_text(other.address, "The browser writes first")
    [first] = await receive(other, 1)
    assert first.text == "The browser writes first"
    await other.send_text(me, "and Python answers")
    [answer] = await web.messages(1)
    assert answer["text"] == "and Python answers"

    # Out of order: Python encrypts three messages and the node gets them 3, 1, 2.
    targets = await py._sender._targets(py.address, me)
    envelopes = [py._sender._encrypt_and_persist(targets, {}, contents.encode(
        Text(f"number {i}"), py.address, me)) for i in (1, 2, 3)]
    for i in (2, 0, 1):
        await py.transport.send(f"ooo{i}", py.address, me, envelopes[i])
    got = await web.messages(3)
    assert [m["text"] for m in got] == ["number 3", "number 1", "number 2"]

    # ... and the browser does the same towards Python.
    await web.run("""async (to) => {
        const targets = await window.me.targets(window.me.address, to);
        const envs = [];
        for (const i of [1, 2, 3]) {
            envs.push(await window.me.encryptAndPersist(targets, new Map(),
                window.me.encodeContent({type: "text", body: `late ${i}`,
                                         from: window.me.address, to})));
        }
        for (const i of [2, 0, 1]) await window.me.transport.send(`late${i}`,
                                                                  window.me.address, to, envs[i]);
    }""", py.address)
    late = await receive(py, 3)
    assert [m.text for m in late] == ["late 3", "late 1", "late 2"]

    # Files of several MB, both ways, streamed through secretstream.
    size = 5 * 1024 * 1024 + 123
    await web.run("""async ([to, size]) => {
        await window.me.sendMedia(to, window.pattern(size), {name: "big.bin",
                                                             mime: "application/x-test"}); }""",
                  [py.address, size])
    [media] = await receive(py, 1)
    assert isinstance(media.content, File) and media.content.size == size
    saved = tmp_path / "big.bin"
    assert await py.media.save(media, saved) == size
    assert hashlib.sha256(saved.read_bytes()).digest() == hashlib.sha256(pattern(size)).digest()
    upload = tmp_path / "upload.bin"
    upload.write_bytes(pattern(3 * 1024 * 1024 + 5))
    await py.media.send_file(me, upload, mime="application/x-test")
    digest = await web.run("""async () => {
        const [m] = await window.nextMessages(1, 20000);
        const stored = (await window.me.history(m.sender)).find((x) => x.messageId === m.messageId);
        const blob = await window.me.downloadMedia(stored);
        return [blob.size, await window.sha256(blob)]; }""")
    assert digest == [upload.stat().st_size, hashlib.sha256(upload.read_bytes()).hexdigest()]

    # A reload: the device reopens from IndexedDB and its sessions go on (no new X3DH).
    await web.reload()
    assert await web.reopen() == me
    await web.send_text(py.address, "still me after a reload")
    wire = await _next_wire(py)
    assert peek_prekey(b64decode(wire["ciphertext"])) is None, "the session went on"
    await py.send_text(me, "and still us")
    [after] = await web.messages(1)
    assert after["text"] == "and still us", "nothing handed twice, nothing lost"

    assert web.console_errors == []
    assert web.foreign_requests == []


async def _next_wire(client: Client) -> dict[str, Any]:
    """The next raw message event of ``client`` (then processed as usual)."""
    receiver = client._receiver
    batch = await client.transport.sync(receiver.position(), 10_000)
    events = [e for e in batch["events"] if e["type"] == "message"]
    assert events, "no message arrived"
    await receiver.store_batch(batch["events"], batch["next"])
    await receiver.ack()
    assert any(isinstance(i, Message) for i in receiver.take(100))
    return events[0]
