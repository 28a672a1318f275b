"""The business's automation device: greeting and away messages, end-to-end encrypted.

The node runs one device of the business account itself. It is an ordinary SDK
``Client`` (keys in ``data_dir/automation``, 0700, its store sealed with a random
passphrase kept beside it, 0600) whose transport calls the node's services in-process
instead of over HTTP. When a customer's message to the business is stored, the device
asks the business layer what is due (``automation.decide``: a greeting on first contact
or after days of silence, an away message outside opening hours or while the business
is switched away) and sends it, at most once per trigger (``record_sent``).

The device never decrypts what customers send: it acknowledges its stream unread, so
plaintext of customers' messages never exists on the node. Its own messages are
encrypted like any device's; the node holds their text only while sending them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from node.client import Client, Text
from node.client.errors import ApiError, ClientError
from node.client.store import Store
from node.config import Config
from node.errors import KontorError
from node.events import Hooks
from node.protocol.names import Role
from node.services import accounts, keys, messaging, routing, team
from node.services.accounts import Accounts, Requester, now_ms
from node.services.business import automation
from node.services.business.context import Business
from node.services.messaging import Messaging
from node.services.routing import Router
from node.storage import accounts as account_store

log = logging.getLogger("kontor.automation")

T = TypeVar("T")
DEVICE_NAME = "automation"
QUEUE_LIMIT = 10_000
DRAIN_SECONDS = 60.0


class DeviceStoreError(Exception):
    """The automation device's store cannot be opened or changed."""


class LocalTransport:
    """The SDK's ``Transport``, answered by this node's services in-process (no HTTP)."""

    def __init__(self, acc: Accounts, m: Messaging, router: Router, who: Requester) -> None:
        self.acc, self.m, self.router, self.who = acc, m, router, who
        self.base_url = "local:"
        self.token: str | None = None

    async def _call(self, coro: Awaitable[T]) -> T:
        try:
            return await coro
        except KontorError as exc:
            raise ApiError(exc.status, exc.code, exc.message, exc.details) from None

    async def close(self) -> None:
        return None

    async def logout(self) -> None:
        raise ApiError(403, "FORBIDDEN", "the automation device cannot log out")

    async def account(self) -> dict[str, Any]:
        return await accounts.account_info(self.acc, self.who)

    async def upload_keys(self, body: dict[str, Any]) -> int:
        return (await self._call(keys.upload(self.router.keys, self.who, body))
                )["one_time_prekeys"]

    async def prekey_count(self) -> int:
        return (await keys.count(self.router.keys, self.who))["one_time_prekeys"]

    async def devices(self, address: str) -> list[dict[str, Any]]:
        return (await self._call(routing.devices(self.router, address)))["devices"]

    async def claim(self, address: str, device_ids: list[str] | None = None
                    ) -> list[dict[str, Any]]:
        return (await self._call(routing.claim(self.router, address, device_ids)))["devices"]

    async def send(self, txn_id: str, sender: str, to: str,
                   envelopes: dict[str, dict[str, str]],
                   repair: str | None = None) -> dict[str, Any]:
        out = messaging.Outgoing(txn_id, to, envelopes, sender, repair)
        return await self._call(messaging.send(self.m, self.who, out))

    async def sync(self, since: int, timeout_ms: int = 0, limit: int = 100,
                   epoch: str | None = None) -> dict[str, Any]:
        return await self._call(messaging.sync(self.m, self.who, since, limit, timeout_ms,
                                               epoch))

    async def ack(self, up_to: int, epoch: str | None = None) -> None:
        await self._call(messaging.ack(self.m, self.who, up_to, epoch))

    async def drain(self) -> int:
        """Acknowledge everything in the device's stream without reading it."""
        batch = await self.sync(0, 0, messaging.MAX_SYNC_LIMIT)
        if batch["events"]:
            await self.ack(batch["next"])
        return len(batch["events"])


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _passphrase(directory: Path) -> str:
    path = directory / "passphrase"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


class AutomationDevice:
    """Runs the automation device: reacts to customers' messages, drains its stream."""

    def __init__(self, acc: Accounts, m: Messaging, biz: Business, router: Router,
                 clock: Callable[[], int] = now_ms) -> None:
        self.acc, self.m, self.biz, self.router = acc, m, biz, router
        self.db, self.config = acc.db, acc.config
        self.clock = clock  # the demo and tests may simulate the time of day
        self.client: Client | None = None
        self._queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)
        self._busy = asyncio.Lock()  # one customer at a time; erase waits for it
        self._forgotten: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self.sent: list[tuple[str, str]] = []  # (customer, kind), for operators and tests
        self.handled = 0  # customers' messages looked at

    async def start(self, hooks: Hooks) -> None:
        directory = _private_dir(self.config.data_dir / "automation")
        store = directory / "device.store"
        business = self.config.business_address
        who = await self.db.write(_device_txn, business, now_ms())
        transport = LocalTransport(self.acc, self.m, self.router, who)
        if store.exists():
            self.client = await Client.open_with(transport, store, _passphrase(directory))
        else:
            session = {"address": business, "device_id": who.device_id,
                       "access_token": "", "role": Role.AUTOMATION}
            self.client = await Client.create_device(transport, session, store,
                                                     _passphrase(directory))
        os.chmod(store, 0o600)
        hooks.on("message.stored", self._on_message, priority=10)
        self._task = asyncio.create_task(self._run(), name="automation-device")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.client is not None:
            self.client.store.close()

    async def _on_message(self, sender: str, to: str, **_: Any) -> None:
        business = self.config.business_address
        if to != business or sender == business:
            return
        if await self.db.read(team.is_member, sender):
            return
        self._forgotten.discard(sender)  # they wrote (again): a conversation exists
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(sender)

    async def _run(self) -> None:
        while True:
            try:
                customer = await asyncio.wait_for(self._queue.get(), DRAIN_SECONDS)
            except TimeoutError:  # quiet: empty the stream of the team's copies, and keep
                # one-time prekeys stocked (the device never reads what it receives, so
                # the SDK's own top-up after a session start never runs for it)
                with contextlib.suppress(KontorError, ClientError):
                    assert self.client is not None
                    transport = self.client.transport
                    assert isinstance(transport, LocalTransport)
                    await transport.drain()
                    await self.client.devices.top_up_prekeys()
                continue
            try:
                await self.handle(customer)
            except (ClientError, KontorError) as exc:
                log.warning("automation message to %s failed: %s", customer, exc)
            except Exception:  # noqa: BLE001 - logged; the device must keep running
                log.exception("automation for %s failed", customer)
            finally:
                self.handled += 1

    async def forget(self, customer: str) -> int:
        """Erase ``customer`` from this running device's store, after any greeting being
        sent to them finished; later triggers for them are dropped until they write
        again (a new conversation)."""
        async with self._busy:
            assert self.client is not None
            self._forgotten.add(customer)
            try:
                return self.client.store.forget(customer)
            except ClientError as exc:
                raise DeviceStoreError(str(exc)) from None

    async def handle(self, customer: str) -> list[str]:
        """Send what is due to ``customer`` now; returns the kinds sent."""
        async with self._busy:
            return await self._handle(customer)

    async def _handle(self, customer: str) -> list[str]:
        assert self.client is not None
        transport = self.client.transport
        assert isinstance(transport, LocalTransport)
        await transport.drain()
        if customer in self._forgotten:
            return []
        due = await automation.decide(self.biz, customer, at_ms=self.clock())
        sent = []
        for kind in automation.KINDS:
            text = due.get(kind)
            if text:
                await self.client.send(customer, Text(text, automated=kind))
                await automation.record_sent(self.biz, customer, kind, self.clock())
                self.sent.append((customer, kind))
                sent.append(kind)
        await transport.drain()
        return sent


def forget_customer(config: Config, address: str) -> int:
    """Erase ``address`` from the automation device's store (sessions, pinned keys, the
    greetings sent); works whether or not the node runs. Returns the rows removed."""
    directory = config.data_dir / "automation"
    path = directory / "device.store"
    if not path.exists():
        return 0
    try:
        store = Store.open(path, _passphrase(directory))
    except ClientError as exc:
        raise DeviceStoreError(f"cannot open the automation device's store: {exc}") from None
    try:
        return store.forget(address)
    except ClientError as exc:
        raise DeviceStoreError(str(exc)) from None
    finally:
        store.close()


def discard(config: Config) -> bool:
    """Delete the automation device's store (the node is stopped; the business account
    was renamed, so ``kontor run`` makes a new device). True when there was one."""
    path = config.data_dir / "automation" / "device.store"
    found = path.exists()
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
    return found


def drop_sessions(config: Config) -> int:
    """Forget the automation device's sessions (the node is stopped; after a restore its
    ratchets went back in time, so it starts new ones). Returns how many there were."""
    directory = config.data_dir / "automation"
    path = directory / "device.store"
    if not path.exists():
        return 0
    try:
        store = Store.open(path, _passphrase(directory))
    except ClientError as exc:
        raise DeviceStoreError(f"cannot open the automation device's store: {exc}") from None
    try:
        return store.drop_sessions()
    finally:
        store.close()


def _device_txn(db: Any, business: str, now: int) -> Requester:
    """The automation device of the business account, created on first start."""
    for device in account_store.list_devices(db, business):
        if device["name"] == DEVICE_NAME:
            return Requester(business, device["device_id"], device["pk"], Role.AUTOMATION)
    device_id = "auto" + secrets.token_urlsafe(5)
    new = account_store.NewDevice(device_id, DEVICE_NAME,
                                  secrets.token_hex(32))  # no token hashes to it
    pk = account_store.add_device_txn(db, business, new, now)
    return Requester(business, device_id, pk, Role.AUTOMATION)
