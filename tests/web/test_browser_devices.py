"""kontor.js follows device changes: a 409 on send refreshes the lists and retries, the
sender's other devices get their copy, and used one-time prekeys are topped up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.client import Client
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401
from tests.web.page import WebDevice


@pytest.fixture
async def clients(tmp_path: Path, web_node: RunningNode) -> AsyncIterator[Any]:
    made: list[Client] = []

    async def make(name: str, login: bool = False) -> Client:
        start = Client.login if login else Client.register
        client = await start(web_node.url, name, PASSWORD, passphrase=PASSPHRASE,
                             store=tmp_path / f"{name}-{len(made)}.kontor")
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def test_a_new_device_of_the_recipient_gets_the_next_message(
        web_node: RunningNode, browser: Any, clients: Any) -> None:
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, web_node.url)
        me = await web.register("webby", PASSWORD)
        phone = await clients("pyro")
        await web.send_text(phone.address, "one")  # the page now caches pyro's devices
        assert [m.text for m in await receive(phone, 1)] == ["one"]
        laptop = await clients("pyro", login=True)
        await web.send_text(phone.address, "two")  # 409 DEVICE_MISMATCH, then again
        assert [m.text for m in await receive(phone, 1)] == ["two"]
        assert [m.text for m in await receive(laptop, 1)] == ["two"]
        # The browser's own second device (another profile) gets the copies of what the
        # first one sends, and the Python device sees both browser devices' sessions.
        other = await browser.new_context()
        try:
            second = await WebDevice.open(other, web_node.url)
            await second.run("""async ([url, password]) => {
                window.me = await kontor.Client.login(url, "webby", password); }""",
                             [web_node.url, PASSWORD])
            await web.send_text(phone.address, "three")
            [copy] = await second.messages(1)
            assert (copy["sender"], copy["text"]) == (me, "three")
            assert [m.text for m in await receive(phone, 1)] == ["three"]
            assert second.console_errors == []
        finally:
            await other.close()
        # Chromium reports the expected 409 of the refresh-and-retry as a failed load.
        assert [e for e in web.console_errors if "status of 409" not in e] == []
    finally:
        await context.close()


async def test_used_one_time_prekeys_are_topped_up(web_node: RunningNode, browser: Any,
                                                   clients: Any) -> None:
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, web_node.url)
        me = await web.register("webby", PASSWORD)
        assert await web.run("() => window.me.transport.prekeyCount()") == 50
        thief = await clients("claimer")
        for _ in range(35):  # each claim takes one of the browser's one-time prekeys
            await thief.transport.claim(me)
        assert await web.run("() => window.me.transport.prekeyCount()") == 15
        sender = await clients("pyro")
        await sender.send_text(me, "a first message uses one more")
        [got] = await web.messages(1)
        assert got["text"] == "a first message uses one more"
        assert await web.run("() => window.me.transport.prekeyCount()") == 14 + 50
    finally:
        await context.close()
