"""``kontor chat``: a terminal chat client on the SDK, the reference customers' app.

    kontor chat --server https://shop.example --user carl --register
    > /profile shop@shop.example
    > /open shop@shop.example
    > Do you deliver on Saturdays?

The line being typed stays at the bottom while messages arrive above it; each message
has a number (for ``/save``) and says who wrote it. What needs the node waits while the
node cannot be reached and is sent when it is back. ``/help`` lists the commands
(``node.chat.commands.HELP``). The password and the store passphrase are asked for, or
read from the environment variables KONTOR_PASSWORD and KONTOR_PASSPHRASE (scripts).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
from pathlib import Path

from node.chat.session import Chat
from node.chat.terminal import Terminal
from node.cli_registry import command
from node.client import Client
from node.client.errors import ApiError, ClientError


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", required=False, default="http://127.0.0.1:8448",
                   help="the node's URL (default http://127.0.0.1:8448)")
    p.add_argument("--user", required=False, help="your user name on that node")
    p.add_argument("--store", type=Path, default=None,
                   help="this device's encrypted store (default ~/.kontor/USER.store)")
    p.add_argument("--register", action="store_true",
                   help="create the account first (the node must allow registration)")
    p.add_argument("--invite", default=None, help="invite token for invite-only nodes")
    p.add_argument("--dns-nameserver", default=None, metavar="HOST[:PORT]",
                   help="look up businesses' DNS key pins (the verified mark) at this DNS "
                        "server instead of the system's")


def _secret(env: str, prompt: str) -> str:
    value = os.environ.get(env)
    if value is None:
        value = getpass.getpass(prompt)
    return value


def _say(text: str) -> None:
    print(text, flush=True)


class _TerminalLog(logging.Handler):
    """The SDK's warnings, shown above the input line instead of over it."""

    def __init__(self, terminal: Terminal) -> None:
        super().__init__(logging.WARNING)
        self.terminal = terminal

    def emit(self, record: logging.LogRecord) -> None:
        self.terminal.say(f"! {record.getMessage()}")


async def _client(ns: argparse.Namespace) -> Client | None:
    store = ns.store or Path.home() / ".kontor" / f"{ns.user}.store"
    passphrase = _secret("KONTOR_PASSPHRASE", "store passphrase: ")
    if store.exists():
        return await Client.open(store, passphrase, dns_nameserver=ns.dns_nameserver)
    if not ns.user:
        _say("kontor: error: --user is needed the first time (no store yet)")
        return None
    store.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    password = _secret("KONTOR_PASSWORD", f"password for {ns.user}: ")
    start = Client.register if ns.register else Client.login
    kwargs = {"invite": ns.invite} if ns.register and ns.invite else {}
    return await start(ns.server, ns.user, password, store=store, passphrase=passphrase,
                       device_name="kontor chat", dns_nameserver=ns.dns_nameserver,
                       **kwargs)


async def _chat(ns: argparse.Namespace) -> int:
    client = await _client(ns)
    if client is None:
        return 2
    terminal = Terminal()
    handler = _TerminalLog(terminal)
    logger = logging.getLogger("kontor")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        await Chat(client, terminal).run()
    finally:
        logger.removeHandler(handler)
        await client.close()
    return 0


@command("chat", "a terminal chat client (conversations, files, business profiles, "
         "catalogs and orders); KONTOR_PASSWORD and KONTOR_PASSPHRASE answer its "
         "questions in scripts", _args, config=False)
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
    except KeyboardInterrupt:
        return 130


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
