"""The SDK against a real node: end-to-end encrypted chat over real HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from node.appkeys import DB
from node.client import Client, File, Message, Product, Receipt
from node.client.errors import (
    ApiError,
    ContentError,
    DeviceRevoked,
    StoreError,
    VerificationError,
)
from node.services import accounts
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSPHRASE, PASSWORD, MakeClient, receive


def raw_files(node: RunningNode) -> bytes:
    """Every byte of the node's database files (main file and WAL)."""
    path = node.config.database_path
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def test_two_accounts_chat_and_the_node_never_sees_plaintext(
        node: RunningNode, make_client: MakeClient) -> None:
    anna = await make_client("anna")
    bob = await make_client("bob")
    secrets_sent = [f"secret number {i} about the blue teapot" for i in range(3)]
    await anna.send_text(bob.address, secrets_sent[0])
    [first] = await receive(bob, 1)
    assert isinstance(first, Message)
    assert first.text == secrets_sent[0] and first.sender == anna.address
    assert first.peer == anna.address and not first.outgoing
    # Replies in both directions (the ratchet turns), then a structured message.
    await bob.send_text(anna.address, secrets_sent[1])
    await anna.send_text(bob.address, secrets_sent[2])
    [reply] = await receive(anna, 1)
    assert reply.text == secrets_sent[1]
    [again] = await receive(bob, 1)
    assert again.text == secrets_sent[2]
    await anna.send(bob.address, Product("TEA-1", "shop"))
    [product] = await receive(bob, 1)
    assert product.content == Product("TEA-1", "shop") and product.type == "product"

    history = bob.history(anna.address)
    assert [m.text for m in history][:3] == [secrets_sent[0], secrets_sent[1], secrets_sent[2]]
    assert history[0] == first, "history holds the same Message events() handed over"
    raw = raw_files(node)
    for text in secrets_sent + ["blue teapot", "TEA-1"]:
        assert text.encode() not in raw, f"{text!r} found in the node's database"


async def test_every_device_receives_and_own_devices_see_what_was_sent(
        make_client: MakeClient) -> None:
    anna = await make_client("anna")
    anna_tablet = await make_client("anna", login=True)
    bob = await make_client("bob")
    await bob.send_text(anna.address, "to both of your devices")
    for device in (anna, anna_tablet):
        [got] = await receive(device, 1)
        assert got.text == "to both of your devices"
    await anna.send_text(bob.address, "sent from the phone")
    [mirror] = await receive(anna_tablet, 1)
    assert mirror.text == "sent from the phone" and mirror.outgoing
    assert mirror.peer == bob.address and mirror.sender_device == anna.device_id
    [got] = await receive(bob, 1)
    assert got.text == "sent from the phone"


async def test_new_device_of_the_recipient_is_picked_up_on_409(
        make_client: MakeClient) -> None:
    anna = await make_client("anna")
    bob = await make_client("bob")
    await anna.send_text(bob.address, "hello")
    await receive(bob, 1)
    bob_laptop = await make_client("bob", login=True)  # anna's device list is now stale
    await anna.send_text(bob.address, "hello laptop too")
    [got] = await receive(bob_laptop, 1)
    assert got.text == "hello laptop too"


async def test_offline_device_catches_up_after_reopening_its_store(
        tmp_path: Path, node: RunningNode, make_client: MakeClient) -> None:
    anna = await make_client("anna")
    store = tmp_path / "bob.kontor"
    bob = await Client.register(node.url, "bob", PASSWORD, store=store, passphrase=PASSPHRASE)
    await bob.close()  # bob goes offline
    for i in range(5):
        await anna.send_text(bob.address, f"while you were away {i}")
    with pytest.raises(StoreError):
        await Client.open(store, "not the passphrase")
    bob = await Client.open(store, PASSPHRASE)
    try:
        got = await receive(bob, 5)
        assert [m.text for m in got] == [f"while you were away {i}" for i in range(5)]
        assert b"while you were away" not in store.read_bytes()
    finally:
        await bob.close()


async def test_websocket_push_receipts_and_media(make_client: MakeClient) -> None:
    anna = await make_client("anna")
    bob = await make_client("bob")
    received: asyncio.Queue[Message | Receipt] = asyncio.Queue()

    async def listen(client: Client) -> None:
        async for item in client.events():
            await received.put(item)

    listener = asyncio.create_task(listen(bob))
    anna_listener_items: asyncio.Queue[Message | Receipt] = asyncio.Queue()

    async def listen_anna() -> None:
        async for item in anna.events():
            await anna_listener_items.put(item)

    anna_listener = asyncio.create_task(listen_anna())
    try:
        photo = bytes(range(256)) * 1000
        sent = await anna.media.send(bob.address, photo, name="tea.png", mime="image/png")
        async with asyncio.timeout(10):
            got = await received.get()
        assert isinstance(got, Message) and got.type == "media"
        assert got.message_id == sent.message_id
        assert await bob.media.download(got) == photo
        await bob.mark_read(got)
        kinds = set()
        async with asyncio.timeout(10):
            while kinds != {"delivered", "read"}:
                item = await anna_listener_items.get()
                if isinstance(item, Receipt) and sent.message_id in item.message_ids:
                    kinds.add(item.kind)
        [stored] = [m for m in anna.history(bob.address) if m.message_id == sent.message_id]
        assert stored.delivered and stored.read and stored.content == sent.content
    finally:
        listener.cancel()
        anna_listener.cancel()
        await asyncio.gather(listener, anna_listener, return_exceptions=True)


async def test_safety_numbers_match_and_verify(make_client: MakeClient) -> None:
    anna = await make_client("anna")
    bob = await make_client("bob")
    anna_view = await anna.devices.safety_numbers(bob.address)
    bob_view = await bob.devices.safety_numbers(anna.address)
    assert anna_view[bob.device_id] == bob_view[anna.device_id]
    assert len(anna_view[bob.device_id].replace(" ", "")) == 60
    assert not await anna.devices.verify(bob.address, bob.device_id, "0" * 60)
    assert not anna.devices.is_verified(bob.address, bob.device_id)
    assert await anna.devices.verify(bob.address, bob.device_id, bob_view[anna.device_id])
    assert anna.devices.is_verified(bob.address, bob.device_id)


async def test_prekeys_are_topped_up(make_client: MakeClient) -> None:
    bob = await make_client("bob")
    senders = [await make_client(f"fan{i}") for i in range(35)]
    for sender in senders:
        await sender.send_text(bob.address, "hi")
    await receive(bob, len(senders), timeout=30)
    assert await bob.transport.prekey_count() >= 20


async def test_team_answers_as_the_business(node: RunningNode,
                                            make_client: MakeClient) -> None:
    for name, role in (("anna", "agent"), ("boss", "admin")):
        address = accounts.make_address(name, node.config.node.server_name)
        await accounts.create_account(node.app[DB], address, role, PASSWORD)
    anna = await make_client("anna", login=True)
    boss = await make_client("boss", login=True)
    carl = await make_client("carl")
    business = node.config.business_address
    assert anna.speaks_as == business and carl.speaks_as == carl.address
    await carl.send_text(business, "do you sell green tea?")
    for member in (anna, boss):
        [got] = await receive(member, 1)
        assert got.text == "do you sell green tea?" and got.peer == carl.address
    answer = await anna.send_text(carl.address, "yes, 4 kinds")
    assert answer.sender == business
    [got] = await receive(carl, 1)
    assert got.sender == business and got.text == "yes, 4 kinds"
    [copy] = await receive(boss, 1)
    assert copy.outgoing and copy.peer == carl.address and copy.text == "yes, 4 kinds"
    # Team members talk to each other as themselves.
    await anna.send_text(boss.address, "can you take this one?")
    [internal] = await receive(boss, 1)
    assert internal.sender == anna.address


async def test_a_message_the_node_delivers_twice_is_refused(
        node: RunningNode, make_client: MakeClient) -> None:
    from node.storage import accounts as account_store
    from node.storage import messages as message_store

    anna = await make_client("anna")
    bob = await make_client("bob")
    await anna.send_text(bob.address, "pay 10 euros")
    await bob.send_text(anna.address, "ok")
    await anna.send_text(bob.address, "and 5 more")
    raw = (await bob.transport.sync(0))["events"]
    assert [m.text for m in await receive(bob, 2)] == ["pay 10 euros", "and 5 more"]

    def replay(db):  # type: ignore[no-untyped-def]  # a malicious node re-sends both
        pk = account_store.keyed_device_ids(db, bob.address)[bob.device_id]
        events = [(pk, "message", e["message_id"] + "x",
                   {k: e[k] for k in ("sender", "sender_device", "to", "ts", "ciphertext")}
                   | {"message_id": e["message_id"] + "x"}) for e in raw]
        return message_store.append_events_txn(db, events, 0)

    await node.app[DB].write(replay)
    assert await bob.sync_once() == []
    assert bob.undecryptable == 2


async def test_admin_manages_the_business_through_the_sdk(
        node: RunningNode, make_client: MakeClient) -> None:
    await accounts.create_account(node.app[DB], f"maria@{node.config.node.server_name}",
                                  "admin", PASSWORD)
    maria = await make_client("maria", login=True)
    await maria.admin.update_profile(name="Tea & Leaf", category="Tea shop")
    await maria.admin.save_product("SENCHA", name="Sencha", price_minor=1250, currency="EUR")
    await maria.admin.save_product("SENCHA", price_minor=1190)  # an update this time
    await maria.admin.save_quick_reply("/thanks", "Thanks {customer_name}!")
    await maria.admin.save_quick_reply("thanks", "Thank you, {customer_name}!")
    await maria.admin.set_automation(greeting={"enabled": True, "text": "Hello!"})
    carl = await make_client("carl")
    profile = await carl.business.profile(node.config.business_address)
    assert profile["name"] == "Tea & Leaf" and profile["category"] == "Tea shop"
    assert not profile.verified  # loopback: no DNS pin, so signed but not verified
    catalog = await carl.business.catalog(node.config.business_address)
    assert [(p["sku"], p["price_minor"]) for p in catalog["products"]] == [("SENCHA", 1190)]
    assert await maria.team.quick_replies() == {"/thanks": "Thank you, {customer_name}!"}
    await carl.send_text(node.config.business_address, "hi")
    [greeting] = await receive(carl, 1, timeout=15)
    assert greeting.text == "Hello!"
    [row] = await maria.team.inbox(status="open")
    assert row["customer"] == carl.address
    # A customer cannot do any of it.
    with pytest.raises(ApiError) as refused:
        await carl.admin.update_profile(name="Mine now")
    assert refused.value.status == 403


async def test_an_unusable_first_message_does_not_break_the_session(
        make_client: MakeClient) -> None:
    from crypto.canonicaljson import encode_canonical
    from node.client.content import pad

    anna = await make_client("anna")
    bob = await make_client("bob")
    # A newer app sends a content type this SDK does not know, as the very first message.
    future = pad(encode_canonical({"type": "sticker", "from": anna.address,
                                   "to": bob.address, "pack": "tea"}))
    targets = {bob.address: {bob.device_id}}
    sender = anna._sender
    envelopes = sender._encrypt_and_persist(targets, await sender._claim_missing(targets),
                                            future)
    await anna.transport.send("sticker1", anna.address, bob.address, envelopes)
    assert await bob.sync_once() == [] and bob.undecryptable == 1  # dropped and counted
    await anna.send_text(bob.address, "did you get my sticker?")
    [got] = await receive(bob, 1)
    assert got.text == "did you get my sticker?" and bob.undecryptable == 1


async def test_a_node_cannot_start_a_session_in_a_devices_name(
        node: RunningNode, make_client: MakeClient) -> None:
    """The node forges a prekey message with anna's public Ed25519 key but an X25519
    identity key of its own: bob's SDK must refuse it and keep anna's real session."""
    from types import SimpleNamespace

    from crypto.encoding import b64encode
    from crypto.identity import DeviceIdentity
    from crypto.session import Session
    from crypto.verify import verify_bundle
    from node.appkeys import KEYS, NOTIFIER
    from node.client import content as contents
    from node.services import keys
    from node.storage import accounts as account_store
    from node.storage import messages as message_store

    anna = await make_client("anna")
    bob = await make_client("bob")
    numbers = await bob.devices.safety_numbers(anna.address)
    assert await bob.devices.verify(anna.address, anna.device_id, numbers[anna.device_id])
    await anna.send_text(bob.address, "hi bob")
    await receive(bob, 1)
    db = node.app[DB]
    [claimed] = (await keys.claim(node.app[KEYS], bob.address, None))["devices"]
    bundle = verify_bundle(claimed, bob.address)
    impostor = SimpleNamespace(signing=SimpleNamespace(
        public_key=anna.identity.signing.public_key), dh=DeviceIdentity.generate().dh)
    evil = Session.initiate(impostor, bundle)  # type: ignore[arg-type]
    wire = evil.encrypt(contents.encode(contents.Text("new IBAN: XX00 EVIL"), anna.address,
                                        bob.address))
    pk = (await db.read(account_store.keyed_device_ids, bob.address))[bob.device_id]
    forged = {"message_id": "m_forged", "sender": anna.address,
              "sender_device": anna.device_id, "to": bob.address, "ts": 1,
              "ciphertext": b64encode(wire)}
    await db.write(message_store.append_events_txn, [(pk, "message", "m_forged", forged)], 1)
    node.app[NOTIFIER].notify([pk])
    assert await bob.sync_once() == [] and bob.undecryptable == 1
    await anna.send_text(bob.address, "the real anna")
    [got] = await receive(bob, 1)
    assert got.text == "the real anna", "anna's real session was kept"


async def test_large_media_files_stream_through(tmp_path: Path, make_client: MakeClient
                                                ) -> None:
    anna = await make_client("anna")
    bob = await make_client("bob")
    source = tmp_path / "catalogue.bin"
    with open(source, "wb") as fh:  # 5 MiB and a bit: many chunks and a short last one
        for i in range(81):
            fh.write(bytes([i]) * 65536)
        fh.write(b"end")
    sent = await anna.media.send_file(bob.address, source, mime="application/pdf")
    [got] = await receive(bob, 1)
    assert got.message_id == sent.message_id and got.content.name == "catalogue.bin"
    target = tmp_path / "received.bin"
    assert await bob.media.save(got, target) == source.stat().st_size
    assert target.read_bytes() == source.read_bytes()
    assert not (tmp_path / "received.bin.download").exists()
    with pytest.raises(FileExistsError):  # README: never over an existing file
        await bob.media.save(got, target)
    assert target.read_bytes() == source.read_bytes()
    with pytest.raises(ContentError):  # and only for media messages
        await bob.media.save(await anna.send_text(bob.address, "no file"), tmp_path / "t")
    assert not (tmp_path / "t").exists()
    from crypto.encoding import b64encode

    assert isinstance(got.content, File)
    tampered = dataclasses.replace(got, content=dataclasses.replace(
        got.content, key=b64encode(bytes(32))))  # the wrong key
    with pytest.raises(VerificationError):
        await bob.media.save(tampered, tmp_path / "tampered.bin")
    assert not (tmp_path / "tampered.bin").exists()
    elsewhere = dataclasses.replace(got, content=dataclasses.replace(
        got.content, server="elsewhere.example"))
    with pytest.raises(VerificationError, match="sender's server"):
        await bob.media.save(elsewhere, tmp_path / "elsewhere.bin")


async def test_messages_ends_with_an_api_error_once_the_device_is_logged_out(
        make_client: MakeClient) -> None:
    """README: ``messages()`` never ends by itself, except when the node refuses the
    device (401 DEVICE_REVOKED after a logout: the store is wiped then)."""
    carl = await make_client("carl")
    await carl.logout()
    with pytest.raises(ApiError) as refused:
        async with asyncio.timeout(20):
            async for _ in carl.messages():
                pass
    assert (refused.value.status, refused.value.code) == (401, "DEVICE_REVOKED")
    assert isinstance(refused.value, DeviceRevoked) and carl.wiped
