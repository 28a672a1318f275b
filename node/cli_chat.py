"""``kontor chat``: a terminal chat client on the SDK, the reference customers' app.

    kontor chat --server https://shop.example --user carl --register
    > /open business@shop.example
    > Do you deliver on Saturdays?

Commands: ``/list`` conversations, ``/open ADDRESS``, ``/history [N]``, ``/safety``
(safety numbers of the open peer), ``/verify DEVICE NUMBER``, ``/help``, ``/quit``;
anything else is sent to the open conversation. New messages print as they arrive.
The password and the store passphrase are asked for, or read from the environment
variables KONTOR_PASSWORD and KONTOR_PASSPHRASE (for scripts).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
import threading
import time
from pathlib import Path

from node.cli import command
from node.client.client import Client, Message, Receipt
from node.client.errors import ApiError, ClientError

HELP = ("/list  /open ADDRESS  /history [N]  /safety  /verify DEVICE NUMBER  /help  /quit; "
        "other lines are sent to the open conversation")


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", required=False, default="http://127.0.0.1:8448",
                   help="the node's URL (default http://127.0.0.1:8448)")
    p.add_argument("--user", required=False, help="your user name on that node")
    p.add_argument("--store", type=Path, default=None,
                   help="this device's encrypted store (default ~/.kontor/USER.store)")
    p.add_argument("--register", action="store_true",
                   help="create the account first (the node must allow registration)")
    p.add_argument("--invite", default=None, help="invite token for invite-only nodes")


def _secret(env: str, prompt: str) -> str:
    value = os.environ.get(env)
    if value is None:
        value = getpass.getpass(prompt)
    return value


def _say(text: str) -> None:
    print(text, flush=True)


def _stamp(ts: int) -> str:
    return time.strftime("%H:%M", time.localtime(ts / 1000))


def render(message: Message) -> str:
    """One line for a message as the chat shows it."""
    who = "you" if message.outgoing else message.sender
    c = message.content
    body = {"text": lambda: c["body"],
            "media": lambda: f"[file {c.get('name') or c['media_id'][:8]}, {c['size']} bytes]",
            "product": lambda: f"[product {c['sku']}]",
            "order": lambda: f"[order {c['order_id']}: "
                             + ", ".join(f"{i['quantity']} x {i['sku']}" for i in c["items"])
                             + "]",
            "order_status": lambda: f"[order {c['order_id']} is now {c['status']}]",
            }.get(message.type, lambda: f"[{message.type}]")()
    return f"[{_stamp(message.ts)}] {message.peer} | {who}: {body}"


class Chat:
    """The interactive loop: one task reads commands, another prints arrivals."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.open_peer: str | None = None

    async def run(self, lines: asyncio.Queue[str | None]) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            _say(f"logged in as {self.client.address} (device {self.client.device_id}); "
                 f"{HELP}")
            while (line := await lines.get()) is not None:
                if not await self.handle(line.strip()):
                    break
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        async for item in self.client.events():
            if isinstance(item, Message):
                _say(render(item))
            elif isinstance(item, Receipt) and item.kind == "read":
                _say(f"  (read by {item.by})")

    async def handle(self, line: str) -> bool:
        """Carry out one input line; False to quit."""
        if not line:
            return True
        try:
            return await self._handle(line)
        except ApiError as exc:
            _say(f"! the node refused: {exc.message} ({exc.code})")
        except ClientError as exc:
            _say(f"! {exc}")
        return True

    async def _handle(self, line: str) -> bool:
        word, _, rest = line.partition(" ")
        if word == "/quit":
            return False
        if word == "/help":
            _say(HELP)
        elif word == "/list":
            for c in self.client.conversations():
                _say(f"{c['peer']:40} {c['messages']:5} messages, {c['unread']} unread, "
                     f"last {_stamp(c['last_ts'])}")
        elif word == "/open":
            self.open_peer = rest.strip()
            _say(f"conversation with {self.open_peer}")
            for m in self.client.history(self.open_peer, 20):
                _say(render(Message(m["message_id"], m["sender"], m["sender_device"],
                                    "", self.open_peer, m["ts"], m["content"],
                                    m["outgoing"])))
        elif word == "/history":
            if self.open_peer is None:
                _say("! open a conversation first: /open ADDRESS")
            else:
                for m in self.client.history(self.open_peer, int(rest or 20)):
                    _say(render(Message(m["message_id"], m["sender"], m["sender_device"], "",
                                        self.open_peer, m["ts"], m["content"],
                                        m["outgoing"])))
        elif word == "/safety" and self.open_peer:
            for device, number in (await self.client.safety_numbers(self.open_peer)).items():
                mark = "verified" if self.client.is_verified(self.open_peer, device) else ""
                _say(f"{device}: {number} {mark}")
        elif word == "/verify" and self.open_peer:
            device, _, number = rest.partition(" ")
            ok = await self.client.verify(self.open_peer, device, number)
            _say("verified" if ok else "! the numbers differ: do not trust this device")
        elif word.startswith("/"):
            _say(f"! unknown command {word}; {HELP}")
        elif self.open_peer is None:
            _say("! open a conversation first: /open ADDRESS")
        else:
            sent = await self.client.send_text(self.open_peer, line)
            _say(render(sent))
        return True


async def _stdin_lines() -> asyncio.Queue[str | None]:
    """Lines of standard input, read by a daemon thread so the event loop never blocks."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def pump() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="stdin", daemon=True).start()  # ends with the process
    return queue


async def _chat(ns: argparse.Namespace) -> int:
    store = ns.store or Path.home() / ".kontor" / f"{ns.user}.store"
    passphrase = _secret("KONTOR_PASSPHRASE", "store passphrase: ")
    if store.exists():
        client = await Client.open(store, passphrase)
    else:
        if not ns.user:
            _say("kontor: error: --user is needed the first time (no store yet)")
            return 2
        store.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        password = _secret("KONTOR_PASSWORD", f"password for {ns.user}: ")
        start = Client.register if ns.register else Client.login
        kwargs = {"invite": ns.invite} if ns.register and ns.invite else {}
        client = await start(ns.server, ns.user, password, store=store,
                             passphrase=passphrase, device_name="kontor chat", **kwargs)
    try:
        await Chat(client).run(await _stdin_lines())
    finally:
        await client.close()
    return 0


@command("chat", "a terminal chat client (log in, list and open conversations, send); "
         "KONTOR_PASSWORD and KONTOR_PASSPHRASE answer its questions in scripts", _args,
         config=False)
def cmd_chat(ns: argparse.Namespace) -> int:
    try:
        return asyncio.run(_chat(ns))
    except ApiError as exc:
        _say(f"kontor: error: the node refused: {exc.message} ({exc.code}); check the "
             "user name and password, or use --register for a new account")
        return 1
    except (ClientError, OSError) as exc:
        _say(f"kontor: error: {exc}")
        return 1


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", type=Path, default=None,
                   help="keep the demo's nodes and stores in this new folder")


@command("demo", "play a business and a customer node on loopback, end to end", _demo_args,
         config=False)
def cmd_demo(ns: argparse.Namespace) -> int:
    from node.demo import main as demo_main

    if ns.dir is not None and ns.dir.exists():
        _say(f"kontor: error: {ns.dir} exists; give a new folder")
        return 2
    return demo_main(ns.dir)
