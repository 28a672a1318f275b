"""The interactive loop of ``kontor chat``: commands, arrivals, and an outbox.

Three tasks share one ``Chat``: the input loop runs commands; the listener prints what
arrives (``Client.events``, which reconnects by itself) and marks it read; the outbox
sends what was typed, in order. Whatever needs the node and cannot reach it (a text, a
file, an order, a read mark) waits in the outbox and goes out when the node is back, so
the chat keeps running through an outage. Each message shown gets a number (``#3``) that
``/save`` refers to, and says who wrote it: you, a customer, which agent of a business,
or the business's automation.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from node.chat import render
from node.chat.commands import COMMANDS
from node.chat.terminal import Terminal
from node.client import (
    ApiError,
    ArchiveEvent,
    Client,
    ClientError,
    ConnectionFailed,
    DeliveryFailed,
    Event,
    Message,
    Order,
    Product,
    Receipt,
    ServerError,
    Text,
)
from node.protocol.names import home_of

UNREACHABLE = (aiohttp.ClientError, OSError, TimeoutError)
RETRY_FIRST, RETRY_MAX = 0.5, 10.0
CACHE_SECONDS = 60.0


def _unreachable(exc: BaseException) -> bool:
    """Whether an error means "the node cannot be reached now" (try again later)."""
    if isinstance(exc, ServerError):
        return exc.status in (502, 503, 504)
    return isinstance(exc, (ConnectionFailed, *UNREACHABLE))


@dataclass
class Pending:
    """Something for the node that waits its turn in the outbox. ``run`` is given the
    item's own transaction id, the same for every retry, so a send whose answer was
    lost is not sent twice (``Client.send(..., txn_id=)``)."""

    what: str
    run: Callable[[str], Awaitable[Message | None]]
    quiet: bool = False
    txn_id: str = field(default_factory=Client.new_txn_id)


class Chat:
    """One person's chat session on one device."""

    def __init__(self, client: Client, terminal: Terminal) -> None:
        self.client = client
        self.term = terminal
        self.open_peer: str | None = None
        self.shown: list[Message] = []
        self.outbox: asyncio.Queue[Pending] = asyncio.Queue()
        self.waiting = 0
        self.offline = False
        self._devices: dict[str, tuple[float, dict[str, str | None]]] = {}
        self._catalogs: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}
        #: Orders as the business node recorded them (team devices), by message id.
        self.recorded: dict[str, dict[str, Any]] = {}

    async def run(self) -> None:
        self.term.start()
        tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._send_loop())]
        try:
            self.term.say(f"logged in as {self.client.address} (device "
                          f"{self.client.device_id}); /help lists the commands")
            while (line := await self.term.lines.get()) is not None:
                if not await self.handle(line.strip()):
                    break
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self.waiting:
                self.term.say(f"! {self.waiting} waiting item(s) were not sent")
            self.term.close()

    # ----- showing ----------------------------------------------------------------------

    async def show(self, message: Message) -> None:
        """Print a message with its number and author."""
        self.shown.append(message)
        products = await self._products_for(message)
        who = await self.author(message)
        try:
            text = render.line(len(self.shown), message, who, products,
                               self.recorded.get(message.message_id))
        except (KeyError, TypeError, ValueError, AttributeError):  # odd but checked content
            text = f"#{len(self.shown)} [{render.stamp(message.ts)}] {message.peer} | " \
                   f"{who}: [{message.type}]"
        self.term.say(text)

    async def author(self, message: Message) -> str:
        """Who wrote ``message``: you, a customer, which agent, or the automation."""
        if message.sender_device == self.client.device_id:
            return "you"
        if isinstance(message.content, Text) and message.content.automated:
            return f"{message.sender} (automatic)"
        owner = await self._device_owner(message.sender, message.sender_device)
        if owner == "":  # a device of a business address that is no person's
            return f"{message.sender} (automatic)"
        if owner == self.client.address or (message.outgoing and owner is None
                                            and message.sender == self.client.address):
            return "you, on another device"
        if owner is not None and owner != message.sender:
            return f"{owner} for {message.sender}"
        team = self.client.speaks_as != self.client.address
        if team and message.to == self.client.speaks_as and not message.outgoing:
            return f"{message.sender} (customer)"
        return message.sender

    async def _device_owner(self, address: str, device_id: str) -> str | None:
        """The account whose device it is: a team member for a business address, ""
        for a business's own (automation) device, None when unknown or not a business."""
        cached = self._devices.get(address)
        if cached is None or (device_id not in cached[1]
                              and time.monotonic() - cached[0] > 5):
            try:
                entries = await self.client.http.devices(address)
            except (ClientError, *UNREACHABLE):
                return None if cached is None else cached[1].get(device_id)
            owners = {e["device_id"]: e.get("account") for e in entries}
            if any(owners.values()):  # a business: its own device is the automation's
                owners = {d: a or "" for d, a in owners.items()}
            self._devices[address] = cached = (time.monotonic(), owners)
        return cached[1].get(device_id)

    async def _products_for(self, message: Message) -> dict[str, dict[str, Any]]:
        """The catalog entries a product or order message needs (empty if unreachable)."""
        if isinstance(message.content, Product):
            return await self.catalog(message.content.catalog)
        if isinstance(message.content, Order) and message.message_id not in self.recorded:
            return await self.catalog(message.to)  # orders go from customer to business
        return {}

    async def catalog(self, business: str) -> dict[str, dict[str, Any]]:
        server = home_of(business)
        cached = self._catalogs.get(server)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            doc = await self.client.business.catalog(server)
        except (ClientError, *UNREACHABLE):
            return {} if cached is None else cached[1]
        products = {p["sku"]: p for p in doc.document.get("products") or []}
        self._catalogs[server] = (time.monotonic(), products)
        return products

    # ----- arrivals ---------------------------------------------------------------------

    async def _listen(self) -> None:
        try:
            async for item in self.client.events():
                await self._report(item)
                if isinstance(item, Message):
                    await self.show(item)
                    if not item.outgoing:
                        self.mark_read(item)
                elif isinstance(item, Receipt) and item.kind == "read":
                    self.term.say(f"  (read by {item.by})")
                elif isinstance(item, DeliveryFailed):
                    self.term.say(f"! not delivered to {item.to}: {item.reason}")
                elif isinstance(item, ArchiveEvent):
                    self.term.say(render.archive_event(item))
        except ApiError as exc:
            self.term.say(f"! the node refused this device: {exc.message} ({exc.code}); "
                          "nothing more arrives (log in again)")

    async def _report(self, item: Event) -> None:
        """A team device tells the business node of customers' orders (kept to show
        them as priced there) and read receipts."""
        try:
            recorded = await self.client.team.report(item)
        except ClientError as exc:
            recorded = {"error": getattr(exc, "code", type(exc).__name__)}
        if isinstance(item, Message) and isinstance(item.content, Order) and recorded:
            self.recorded[item.message_id] = recorded

    def mark_read(self, message: Message) -> None:
        """Mark a message shown to the person read (through the outbox)."""
        async def run(_: str) -> None:
            await self.client.mark_read(message)
        self.queue(Pending(f"read mark for #{len(self.shown)}", run, quiet=True))

    # ----- the outbox -------------------------------------------------------------------

    def send_later(self, what: str, run: Callable[[str], Awaitable[Message | None]]) -> None:
        """Queue something for the node; ``run`` gets the item's transaction id; a
        Message it returns is shown when sent."""
        self.queue(Pending(what, run))

    def queue(self, item: Pending) -> None:
        self.waiting += 1
        if self.offline and not item.quiet:
            self.term.say(f"  (waiting for the node: {item.what})")
        self.outbox.put_nowait(item)

    async def _send_loop(self) -> None:
        while True:
            item = await self.outbox.get()
            delay = RETRY_FIRST
            while True:
                try:
                    sent = await item.run(item.txn_id)
                except Exception as exc:  # noqa: BLE001 - each error is shown, none kills
                    if _unreachable(exc):
                        self._went_offline(item, exc)
                        await asyncio.sleep(delay)  # retry backoff, not synchronisation
                        delay = min(delay * 2, RETRY_MAX)
                        continue
                    self.term.say(f"! {item.what} failed: {_describe(exc)}")
                    break
                if self.offline:
                    self.offline = False
                    self.term.say("  (the node is back)")
                if sent is not None:
                    await self.show(sent)
                break
            self.waiting -= 1

    def _went_offline(self, item: Pending, exc: BaseException) -> None:
        if not self.offline:
            self.offline = True
            self.term.say(f"  (cannot reach the node: {_describe(exc)}; {item.what} and "
                          "what you type wait and are sent when it is back)")

    # ----- commands ---------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Carry out one input line; False to quit."""
        if not line:
            return True
        try:
            return await self._handle(line)
        except (ValueError, IndexError):
            self.term.say("! cannot read that (a number where one belongs?); see /help")
        except Exception as exc:  # noqa: BLE001 - the chat keeps running
            if not isinstance(exc, (ClientError, *UNREACHABLE)):
                raise
            self.term.say(f"! {_describe(exc)}")
        return True

    async def _handle(self, line: str) -> bool:
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if word == "/quit":
            return False
        handler = COMMANDS.get(word)
        if handler is not None:
            await handler(self, rest)
        elif word.startswith("/"):
            self.term.say(f"! unknown command {word}; /help lists the commands")
        elif self.need_open():
            peer = self.open_peer
            assert peer is not None
            self.send_later(f"the message {line[:40]!r}",
                            lambda txn: self.client.send_text(peer, line, txn_id=txn))
        return True

    def need_open(self) -> bool:
        if self.open_peer is None:
            self.term.say("! open a conversation first: /open ADDRESS")
        return self.open_peer is not None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        return f"the node refused: {exc.message} ({exc.code})"
    return str(exc) or type(exc).__name__
