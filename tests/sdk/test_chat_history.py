"""Issue 13 in ``kontor chat``: a person sees "a new device was added" and approves it.

Carl chats with Dora in ``kontor chat`` (a child process on a pseudo-terminal); he logs
in on a second device; the chat tells him a new device was added and names the
command; ``/devices`` lists it as waiting; ``/approve`` gives it the history, and the
new device finds the conversation from before it existed.
"""

from __future__ import annotations

import re
from pathlib import Path

from node.client import Client
from node.client.models import ArchiveEvent
from tests.nodes import RunningNode
from tests.sdk.chatpty import pty_chat
from tests.sdk.conftest import PASSPHRASE, PASSWORD, MakeClient, receive


async def test_the_chat_announces_a_new_device_and_approves_it(
        node: RunningNode, make_client: MakeClient, tmp_path: Path) -> None:
    dora = await make_client("dora")
    async with pty_chat(node.url, "carl", tmp_path / "carl-chat.store",
                        "--register") as chat:
        await chat.expect("logged in as carl@")
        chat.type(f"/open {dora.address}\rIs the shop open on Sunday?\r")
        await chat.expect(r"you: Is the shop open on Sunday\?")
        await receive(dora, 1)
        await dora.send_text(chat_address(chat), "No, Monday to Saturday.")
        await chat.expect(r"No, Monday to Saturday\.")

        second = await Client.login(node.url, "carl", PASSWORD, passphrase=PASSPHRASE,
                                    store=tmp_path / "carl-phone.store",
                                    device_name="phone")
        try:
            await chat.expect(rf"a new device {second.device_id} \(phone\) of carl@\S+ was "
                              rf"added; .*/approve {second.device_id}")
            chat.type("/devices\r")
            await chat.expect(rf"{second.device_id} of carl@\S+: waits for the history")
            chat.type(f"/approve {second.device_id}\r")
            await chat.expect(rf"gave {second.device_id} the history: 1 key")
            await receive(second, 1, kinds=(ArchiveEvent,))
            assert [m.text for m in second.history(dora.address)] == [
                "Is the shop open on Sunday?", "No, Monday to Saturday."]
            chat.type("/devices\r")
            await chat.expect("no device waits for the history")
        finally:
            await second.close()
        assert await chat.quit() == 0


def chat_address(chat: object) -> str:
    """The address the chat logged in as (from its first line)."""
    found = re.search(r"logged in as (\S+) \(device", chat.text())  # type: ignore[attr-defined]
    assert found is not None
    return found.group(1)
