"""The slash commands of ``kontor chat`` (listed in ``HELP``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from node.chat import render

if TYPE_CHECKING:
    from node.chat.session import Chat

HELP = """commands:
  /list                      conversations, with unread counts
  /open ADDRESS              open a conversation (shows its last messages)
  /history [N]               the last N messages of the open conversation
  /send FILE                 send a file to the open conversation
  /save N PATH               save the file of message #N to PATH
  /profile [BUSINESS]        a business's verified profile and opening hours
  /catalog [BUSINESS]        a business's products and prices
  /order SKU QTY [SKU QTY]   order from the open conversation's business
  /safety, /verify DEVICE NUMBER   compare safety numbers of the open peer
  /devices                   this account's devices waiting for the history
  /approve DEVICE            give a new device of yours (or your team's) the history
  /help, /quit
other lines are sent to the open conversation"""


async def _help(chat: Chat, rest: str) -> None:
    chat.term.say(HELP)


async def _list(chat: Chat, rest: str) -> None:
    conversations = chat.client.conversations()
    if not conversations:
        chat.term.say("no conversations yet; /open ADDRESS starts one")
    for c in conversations:
        chat.term.say(f"{c['peer']:40} {c['messages']:5} messages, {c['unread']} unread, "
                      f"last {render.stamp(c['last_ts'])}")


async def _show_history(chat: Chat, count: int) -> None:
    assert chat.open_peer is not None
    for message in chat.client.history(chat.open_peer, count):
        await chat.show(message)
        if not message.outgoing and not message.read:
            chat.mark_read(message)


async def _open(chat: Chat, rest: str) -> None:
    if "@" not in rest:
        chat.term.say("! /open needs an address, like shop@shop.example")
        return
    chat.open_peer = rest
    chat.term.say(f"conversation with {rest}")
    await _show_history(chat, 20)


async def _history(chat: Chat, rest: str) -> None:
    if chat.need_open():
        await _show_history(chat, max(1, min(int(rest or 20), 500)))


async def _send(chat: Chat, rest: str) -> None:
    path = Path(rest).expanduser()
    if not rest or not path.is_file():
        chat.term.say(f"! no file {rest!r}; /send FILE")
        return
    if chat.need_open():
        peer = chat.open_peer
        assert peer is not None
        chat.send_later(f"the file {path.name}",
                        lambda txn: chat.client.media.send_file(peer, path, txn_id=txn))


async def _save(chat: Chat, rest: str) -> None:
    number, _, target = rest.partition(" ")
    index = int(number.lstrip("#"))
    if not 0 < index <= len(chat.shown) or not target.strip():
        chat.term.say("! /save N PATH, with N the number of a message shown (#N)")
        return
    message = chat.shown[index - 1]
    if message.type != "media":
        chat.term.say(f"! message #{index} carries no file")
        return
    path = Path(target.strip()).expanduser()
    if path.exists():
        chat.term.say(f"! {path} exists; give a new file name")
        return
    size = await chat.client.media.save(message, path)
    chat.term.say(f"saved #{index} ({size} bytes) to {path}")


def _business(chat: Chat, rest: str) -> str | None:
    """The business a command is about: the one named, else the open conversation's,
    else the one this device answers for."""
    target = rest or chat.open_peer or (
        chat.client.speaks_as if chat.client.speaks_as != chat.client.address else None)
    if target is None:
        chat.term.say("! which business? /profile BUSINESS, or /open one first")
    return target


async def _profile(chat: Chat, rest: str) -> None:
    target = _business(chat, rest)
    if target is not None:
        for text in render.profile_lines(await chat.client.business.profile(target)):
            chat.term.say(text)


async def _catalog(chat: Chat, rest: str) -> None:
    target = _business(chat, rest)
    if target is not None:
        doc = await chat.client.business.catalog(target)
        for text in render.catalog_lines(doc):
            chat.term.say(text)


async def _order(chat: Chat, rest: str) -> None:
    words = rest.split()
    if not words or len(words) % 2:
        chat.term.say("! /order SKU QTY [SKU QTY ...]")
        return
    if not chat.need_open():
        return
    items = [(words[i], int(words[i + 1])) for i in range(0, len(words), 2)]
    business = chat.open_peer
    assert business is not None
    products = await chat.catalog(business)
    unknown = [sku for sku, _ in items if products and sku not in products]
    if unknown:
        chat.term.say(f"! {business} offers no {', '.join(unknown)}; see /catalog")
        return
    total: dict[str, Any] = {}
    currencies = {products[sku]["currency"] for sku, _ in items if sku in products}
    if products and len(currencies) == 1:  # the business checks the total we saw
        total = {"total_minor": sum(q * int(products[s]["price_minor"]) for s, q in items),
                 "currency": currencies.pop()}
    chat.send_later(f"the order of {rest}",
                    lambda txn: chat.client.business.send_order(business, items, txn_id=txn,
                                                                **total))


async def _safety(chat: Chat, rest: str) -> None:
    if chat.need_open():
        assert chat.open_peer is not None
        devices = chat.client.devices
        for device, number in (await devices.safety_numbers(chat.open_peer)).items():
            mark = "verified" if devices.is_verified(chat.open_peer, device) else ""
            chat.term.say(f"{device}: {number} {mark}")


async def _verify(chat: Chat, rest: str) -> None:
    if chat.need_open():
        assert chat.open_peer is not None
        device, _, number = rest.partition(" ")
        ok = await chat.client.devices.verify(chat.open_peer, device, number)
        chat.term.say("verified" if ok else "! the numbers differ: do not trust this device")


async def _devices(chat: Chat, rest: str) -> None:
    waiting = await chat.client.archive.pending_devices()
    for device in waiting:
        chat.term.say(f"{device['device_id']} of {device['account']}: waits for the history "
                      f"(/approve {device['device_id']})")
    if not waiting:
        chat.term.say("no device waits for the history")


async def _approve(chat: Chat, rest: str) -> None:
    device = rest.strip()
    if not device:
        chat.term.say("! /approve DEVICE (the id that \"a new device was added\" named)")
        return
    epochs = await chat.client.archive.approve(device)
    chat.term.say(f"  (gave {device} the history: {len(epochs)} key(s))")


COMMANDS: dict[str, Callable[[Chat, str], Awaitable[None]]] = {
    "/help": _help, "/list": _list, "/open": _open, "/history": _history, "/send": _send,
    "/save": _save, "/profile": _profile, "/catalog": _catalog, "/order": _order,
    "/safety": _safety, "/verify": _verify, "/devices": _devices, "/approve": _approve,
}
