"""``kontor demo``: a business node and a customer node on loopback, one conversation.

Everything is real: two nodes serving HTTP on free loopback ports with their own SQLite
files and keys, federating over signed requests, SDK clients doing all the
cryptography. Only the clock is simulated, to reach the evening without waiting: both
nodes run in this process and share its node clock (``accounts.advance_clock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import tempfile
import textwrap
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import nacl.pwhash
from aiohttp import web

from node.app import create_app
from node.appkeys import AUTOMATION, DB
from node.client import Client, Message, Order, OrderStatus, Product, Text
from node.client import store as store_module
from node.config import load_config
from node.server import start
from node.services import accounts

PASSWORD = "demo password 1234"
# The texts as the admin saves them: the node fills the placeholders in when it sends.
GREETING = "Welcome to {business_name}, {customer_name}! An agent will be with you shortly."
AWAY = ("{business_name} is closed for today (open daily 09:00-17:00). We'll answer "
        "tomorrow morning.")
THANKS = ("Your order {order_id} ({order_total}) is confirmed. Thank you {customer_name}! "
          "- {agent_name}")
SHOP = "Tea & Leaf"
HOUR_MS = 3600 * 1000


@dataclass
class DemoNode:
    name: str
    url: str
    server_name: str
    database: Path
    app: web.Application


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def zone_at(local_hour: int) -> str:
    """An IANA zone where it is now about ``local_hour`` o'clock (10: the shop is open
    when the demo starts), by the node's clock."""
    now = dt.datetime.fromtimestamp(accounts.now_ms() / 1000, dt.UTC)
    offset = (local_hour - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc signs are inverted


@contextlib.asynccontextmanager
async def _node(root: Path, name: str) -> AsyncIterator[DemoNode]:
    port = _free_port()
    directory = root / name
    directory.mkdir(parents=True)
    ini = directory / "node.ini"
    ini.write_text(f"[node]\nserver_name = localhost:{port}\ndata_dir = data\n"
                   f"[http]\nlisten_port = {port}\n[accounts]\nregistration = open\n"
                   "[business]\naccount = shop\n"
                   "[federation]\nallow_plain_http = true\nallow_private_addresses = true\n"
                   "[logging]\nlevel = error\n")
    config = load_config(ini)
    app = create_app(config)
    runner = await start(app, config)
    try:
        yield DemoNode(name, f"http://127.0.0.1:{port}", config.node.server_name,
                       config.database_path, app)
    finally:
        await runner.cleanup()


class Printer:
    """The demo's narration."""

    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out

    def step(self, text: str) -> None:
        self.out(f"\n== {text}")

    def say(self, text: str) -> None:
        self.out(textwrap.indent(text, "   "))


def _line(m: Message, me: str) -> str:
    c = m.content
    if isinstance(c, Text):
        body = c.body
    elif isinstance(c, Product):
        body = f"[product {c.sku}]"
    elif isinstance(c, Order):
        body = "[order " + ", ".join(f"{i.quantity} x {i.sku}" for i in c.items) + "]"
    elif isinstance(c, OrderStatus):
        body = f"[order {c.order_id} is {c.status}]"
    else:
        body = f"[{m.type}]"
    who = "me" if m.sender == me else m.sender
    tag = " (automatic)" if isinstance(c, Text) and c.automated else ""
    return f"{who}{tag}: {body}"


async def _settle(clients: list[Client], rounds: int = 3) -> None:
    """Let every client fetch what is waiting (bounded: a few short polls each); team
    devices report customers' orders and read receipts to the business node."""
    for _ in range(rounds):
        for client in clients:
            for event in await client.sync_once(timeout_ms=300):
                await client.team.report(event)


@dataclass
class Scene:
    """Who plays the demo: the two nodes, the team's and the customer's clients, and
    every text a person typed (the databases must hold none of them)."""

    p: Printer
    root: Path
    shop: DemoNode
    home: DemoNode
    maria: Client
    anna: Client
    otto: Client
    carl: Client
    said: list[str]

    @property
    def business(self) -> str:
        return self.maria.speaks_as

    async def say(self, client: Client, to: str, text: str) -> None:
        self.said.append(text)
        await client.send_text(to, text)


async def run_demo(out: Callable[[str], None] = print, keep: Path | None = None) -> int:
    """Play the demo; returns 0 when neither database holds any of the plaintexts."""
    store_module.DEFAULT_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MIN  # demo stores only
    store_module.DEFAULT_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MIN
    p = Printer(out)
    root = keep or Path(tempfile.mkdtemp(prefix="kontor-demo-"))
    async with _node(root, "business") as shop, _node(root, "customer") as home:
        p.step(f"Business node {shop.url}, customer node {home.url} (data in {root})")
        scene = await _cast(p, root, shop, home)
        await _set_up_business(scene)
        await _look_up(scene)
        await _morning(scene)
        await _evening(scene)
        _show(scene)
        await _show_inbox(scene)
        clean = _check_databases(scene)
        for client in (scene.maria, scene.anna, scene.otto, scene.carl):
            await client.close()
    return 0 if clean else 1


async def _cast(p: Printer, root: Path, shop: DemoNode, home: DemoNode) -> Scene:
    """The business's admin and agents (logged in), and a customer on the other node."""
    team = []
    for name, role in (("maria", "admin"), ("anna", "agent"), ("otto", "agent")):
        await accounts.create_account(shop.app[DB], f"{name}@{shop.server_name}", role,
                                      PASSWORD)
        team.append(await Client.login(shop.url, name, PASSWORD, passphrase="demo",
                                       store=root / f"{name}.store"))
    carl = await Client.register(home.url, "carl", PASSWORD, passphrase="demo",
                                 store=root / "carl.store")
    maria, anna, otto = team
    return Scene(p, root, shop, home, maria, anna, otto, carl, [])


async def _set_up_business(s: Scene) -> None:
    await s.maria.admin.update_profile(
        name=SHOP, description="Loose leaf tea since 1998", category="Tea shop",
        timezone=zone_at(10), hours={d: [{"open": "09:00", "close": "17:00"}]
                                     for d in ("mon", "tue", "wed", "thu", "fri", "sat",
                                               "sun")})
    for sku, name, price in (("SENCHA-100", "Sencha, 100 g", 1250),
                             ("ASSAM-250", "Assam, 250 g", 1490),
                             ("POT-1", "Cast iron teapot", 4500)):
        await s.maria.admin.save_product(sku, name=name, price_minor=price, currency="EUR")
    await s.maria.admin.set_automation(greeting={"enabled": True, "text": GREETING},
                                       away={"enabled": True, "text": AWAY})
    await s.maria.admin.save_quick_reply("thanks", THANKS)
    s.p.say(f"business {s.business}: admin maria, agents anna and otto; profile, "
            "3 products, greeting and away messages, a quick reply")


async def _look_up(s: Scene) -> None:
    s.p.step(f"Customer {s.carl.address} looks the business up")
    profile = await s.carl.business.profile(s.business)
    catalog = await s.carl.business.catalog(s.business)
    s.p.say(f"{profile['name']} - {profile['description']} ({profile['category']}); "
            f"open now: {profile['open_now']}")
    s.p.say(f"signature by {profile.key_id} checks; DNS verified: {profile.verified} "
            f"({profile.why})")
    for item in catalog["products"]:
        s.p.say(f"  {item['sku']:12} {item['name']:20} {item['price_minor'] / 100:7.2f} "
                f"{item['currency']}")


async def _morning(s: Scene) -> None:
    s.p.step("Morning: the customer asks about a product")
    carl, anna, otto, maria = s.carl, s.anna, s.otto, s.maria
    await s.say(carl, s.business, "Hi! Is the Sencha from this year's harvest?")
    await _settle([carl, anna, otto, maria])
    await anna.business.send_product(carl.address, "SENCHA-100")
    await s.say(anna, carl.address, "Yes, first flush, picked in May. Shall I reserve some?")
    await _settle([carl, anna, otto])
    await carl.business.send_order(s.business, [("SENCHA-100", 2), ("POT-1", 1)],
                                   order_id="order-1", total_minor=7000, currency="EUR")
    await _settle([anna, otto, maria, carl])
    await otto.team.send_order_status(carl.address, "order-1", "confirmed")
    s.said.append((await otto.team.send_quick_reply(carl.address, "thanks")).text or "")
    await _settle([carl, anna, otto])


async def _evening(s: Scene) -> None:
    s.p.step("Evening (simulated clock +8 hours): the shop is closed")
    accounts.advance_clock(8 * HOUR_MS)
    try:
        await s.say(s.carl, s.business, "Could I still pick it up tonight?")
        for _ in range(20):  # the automation device answers within moments
            await _settle([s.carl], rounds=1)
            if any("closed" in (m.text or "") for m in s.carl.history(s.business, 50)):
                break
        await _settle([s.anna, s.otto, s.maria])
    finally:
        accounts.advance_clock(-8 * HOUR_MS)


def _show(s: Scene) -> None:
    s.p.step(f"The conversation as the customer ({s.carl.address}) sees it")
    for m in s.carl.history(s.business, 50):
        s.p.say(_line(m, s.carl.address))


async def _show_inbox(s: Scene) -> None:
    s.p.step("The team inbox as the agents see it")
    for c in await s.anna.team.inbox():
        labels = ", ".join(label["name"] for label in c["labels"])
        s.p.say(f"{c['customer']}: {c['status']}, unread {c['unread']}, labels: {labels}")
    for o in await s.anna.team.orders(s.carl.address):
        s.p.say(f"order {o['order_id']}: {o['total_minor'] / 100:.2f} {o['currency']} "
                f"(priced by the business's own catalog), {o['status']}")
    for m in s.otto.history(s.carl.address, 50):
        s.p.say(_line(m, s.business))
    s.p.say(f"automation device sent: {s.shop.app[AUTOMATION].sent}")


def _check_databases(s: Scene) -> bool:
    """Whether neither node's database files hold any text that was sent."""
    s.p.step("Neither database holds what was said")
    clean = True
    # The business's own settings (greeting, away text, quick reply templates, with
    # their placeholders) are stored in the clear on its node by design; what was
    # sent, placeholders filled in, is on neither node.
    automatic = [m.content.body for m in s.carl.history(s.business, 50)
                 if isinstance(m.content, Text) and m.content.automated]
    texts = [*s.said, *automatic]
    for node in (s.shop, s.home):
        raw = b"".join(f.read_bytes() for f in node.database.parent.glob(
            node.database.name + "*"))
        found = [t for t in texts if t.encode() in raw]
        clean &= not found
        s.p.say(f"{node.name} node ({node.database.name}, {len(raw)} bytes): "
                + (f"FOUND {found}" if found else
                   f"none of the {len(texts)} texts appear in the file"))
    return clean


def main(keep: Path | None = None) -> int:
    return asyncio.run(run_demo(keep=keep))
