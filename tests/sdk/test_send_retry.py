"""Issue 11: a send retried after its answer was lost is not delivered twice.

Between the device and its node sits a forwarding proxy on loopback that passes each
``PUT /send/...`` on to the node (which stores the message) and then loses the answer:
a 504 once, a dropped connection the next time, as a flaky network does. The SDK keeps
the envelopes it sent under the transaction id, so a retry with the same id sends the
same body and the node answers with the message it stored; ``kontor chat`` retries
its outbox that way, through a pseudo-terminal as a person runs it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.client import Client, ConnectionFailed, Message, ServerError
from tests.nodes import RunningNode
from tests.proxy import AnswerLosingProxy
from tests.sdk.chatpty import pty_chat
from tests.sdk.conftest import PASSPHRASE, PASSWORD, MakeClient, receive


@pytest.fixture
async def proxy(node: RunningNode) -> AsyncIterator[AnswerLosingProxy]:
    async with AnswerLosingProxy(node.url) as running:
        yield running


async def test_a_retry_with_the_same_txn_id_is_one_message(
        proxy: AnswerLosingProxy, make_client: MakeClient, tmp_path: Path) -> None:
    bob = await make_client("bob")
    carl = await Client.register(proxy.url, "carl", PASSWORD, passphrase=PASSPHRASE,
                                 store=tmp_path / "carl.store")
    try:
        txn = carl.new_txn_id()
        proxy.losing = ["504", "drop", "drop"]
        with pytest.raises(ServerError):
            await carl.send_text(bob.address, "only once, please", txn_id=txn)
        with pytest.raises(ConnectionFailed):  # the retry: the answer is lost again
            await carl.send_text(bob.address, "only once, please", txn_id=txn)
        sent = await carl.send_text(bob.address, "what is typed now is ignored", txn_id=txn)
        assert sent.text == "only once, please" and proxy.sends == 4
        marker = await carl.send_text(bob.address, "after it")
        got = await receive(bob, 2)
        assert [(m.message_id, m.text) for m in got if isinstance(m, Message)] == \
            [(sent.message_id, "only once, please"), (marker.message_id, "after it")]
        assert [m.text for m in carl.history(bob.address)] == ["only once, please",
                                                               "after it"]
        assert not carl.store.get_json("outgoing:" + txn), "nothing left pending"
    finally:
        await carl.close()


async def test_kontor_chat_retries_its_outbox_without_duplicates(
        proxy: AnswerLosingProxy, make_client: MakeClient, tmp_path: Path) -> None:
    bob = await make_client("bob")
    async with pty_chat(proxy.url, "carl", tmp_path / "carl-chat.store",
                        "--register") as chat:
        await chat.expect("logged in as carl@")
        proxy.losing = ["504", "drop", "drop"]
        chat.type(f"/open {bob.address}\rare you there?\r")
        await chat.expect(r"cannot reach the node: .*wait and are sent when it is back")
        await chat.expect(r"the node is back")
        await chat.expect(r"you: are you there\?")
        chat.type("and this one\r")
        await chat.expect(r"you: and this one")
        got = await receive(bob, 2)
        assert [m.text for m in got if isinstance(m, Message)] == ["are you there?",
                                                                   "and this one"]
        assert proxy.lost == 3 and proxy.sends == 5
        assert await chat.quit() == 0


async def test_the_answer_is_recorded_with_the_envelopes_removal_or_not_at_all(
        make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dropping the sent envelopes and storing the message are one local transaction: a
    store that fails in between (a full disk) keeps the envelopes, so the retry with the
    same txn id gets the node's message and stores it, once."""
    bob, carl = await make_client("bob"), await make_client("carl")
    txn = carl.new_txn_id()
    add_message = carl.store.add_message

    def full_disk(*args: object, **kwargs: object) -> bool:
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(carl.store, "add_message", full_disk)
    with pytest.raises(sqlite3.OperationalError):
        await carl.send_text(bob.address, "kept for the retry", txn_id=txn)
    assert carl.store.get_json("outgoing:" + txn), "the envelopes were kept"
    assert carl.history(bob.address) == []

    monkeypatch.setattr(carl.store, "add_message", add_message)
    sent = await carl.send_text(bob.address, "ignored now", txn_id=txn)
    assert sent.text == "kept for the retry"
    assert [(m.message_id, m.text) for m in carl.history(bob.address)] == \
        [(sent.message_id, "kept for the retry")]
    assert not carl.store.get_json("outgoing:" + txn)
    got = await receive(bob, 1)
    assert [m.message_id for m in got if isinstance(m, Message)] == [sent.message_id], \
        "one message reached bob"


async def test_a_failed_record_under_a_txn_id_made_up_here_leaves_no_envelopes(
        make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a txn id of the caller's, no one can retry the send: the error goes on
    and the envelopes kept under the id made up for it are not left behind."""
    bob, carl = await make_client("bob"), await make_client("carl")

    def full_disk(*args: object, **kwargs: object) -> bool:
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(carl.store, "add_message", full_disk)
    with pytest.raises(sqlite3.OperationalError):
        await carl.send_text(bob.address, "sent, not recorded")
    left = carl.store._conn.execute("SELECT name FROM secrets WHERE name LIKE "
                                    "'outgoing:%'").fetchall()
    assert left == [], "no envelopes left under an id no one knows"
    assert [m.text for m in await receive(bob, 1) if isinstance(m, Message)] == \
        ["sent, not recorded"]
