"""Fixtures for SDK tests: a node with open registration and a factory of clients."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import nacl.pwhash
import pytest

from node.client import Client, Message, Receipt
from node.client import store as store_module
from tests.nodes import RunningNode, running_node, write_config

PASSPHRASE = "a long store passphrase"
PASSWORD = "correct horse battery"

MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture(autouse=True)
def fast_store_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Store keys derived with argon2id's minimum cost, so tests open stores quickly."""
    monkeypatch.setattr(store_module, "DEFAULT_OPSLIMIT", nacl.pwhash.argon2id.OPSLIMIT_MIN)
    monkeypatch.setattr(store_module, "DEFAULT_MEMLIMIT", nacl.pwhash.argon2id.MEMLIMIT_MIN)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[RunningNode]:
    ini = write_config(tmp_path / "node", sections={"accounts": {"registration": "open"}})
    async with running_node(ini) as running:
        yield running


@pytest.fixture
async def make_client(tmp_path: Path, node: RunningNode) -> AsyncIterator[MakeClient]:
    """``await make_client("anna")`` registers anna (or logs in a new device with
    ``login=True``) with its own store file; every client is closed at the end."""
    clients: list[Client] = []
    counter = itertools.count()

    async def make(name: str, *, login: bool = False, url: str | None = None) -> Client:
        store = tmp_path / f"{name}-{next(counter)}.kontor"
        base = url or node.url
        if login:
            client = await Client.login(base, name, PASSWORD, store=store,
                                        passphrase=PASSPHRASE)
        else:
            client = await Client.register(base, name, PASSWORD, store=store,
                                           passphrase=PASSPHRASE)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def receive(client: Client, count: int, *, timeout: float = 10.0,
                  kinds: tuple[type, ...] = (Message,)) -> list[Message | Receipt]:
    """The next ``count`` items of the wanted kinds, by long-poll, within ``timeout``."""
    import asyncio

    got: list[Message | Receipt] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            got += [i for i in await client.sync_once(timeout_ms=2000)
                    if isinstance(i, kinds)]
    return got
