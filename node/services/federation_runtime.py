"""Everything federation needs at run time, built from the config in one place.

``FederationRuntime.start`` creates the discovery, the guarded HTTP session, the signed
client, the key ring, the outbox sender, the link the rest of the node uses to reach
other nodes and the inbound door (``Inbound``, with the replay cache and the per-origin
rate limit); ``close`` stops them. The node runs without it when ``[federation] enabled``
is off (remote addresses are then refused with FEDERATION_DISABLED).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from crypto.keys import SigningKey
from federation import pins
from federation.client import FederationClient, Identity, ssl_context
from federation.discovery import Discovery
from federation.keys import KeyRing, own_document
from federation.netguard import GuardedResolver, TtlCache, make_connector, make_dns_resolver
from federation.nonces import NonceCache
from federation.policy import ServerPolicy
from federation.sender import Sender, SenderPolicy
from node.config import Config
from node.errors import StorageFull
from node.events import Hooks
from node.nodekey import NodeKey
from node.services import remote_devices, team
from node.services.accounts import now_ms
from node.services.federation import FederationLink
from node.services.inbound import Inbound
from node.services.notifier import Notifier
from node.services.ratelimit import RateLimiter
from node.storage import messages as message_store
from node.storage import nodestore
from node.storage.db import Database
from node.text import is_clean_id

log = logging.getLogger("kontor.federation")

EXPIRY_CHECK_SECONDS = 60.0


@dataclass
class FederationRuntime:
    """The running federation machinery of one node."""

    config: Config
    db: Database
    node_key: NodeKey
    notifier: Notifier
    hooks: Hooks
    discovery: Discovery = field(init=False)
    client: FederationClient = field(init=False)
    policy: ServerPolicy = field(init=False)  # [federation] allow / deny, both directions
    keyring: KeyRing = field(init=False)
    sender: Sender = field(init=False)
    link: FederationLink = field(init=False)
    inbound: Inbound = field(init=False)  # the door: node.api.fedauth asks it
    _session: aiohttp.ClientSession | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def server_name(self) -> str:
        return self.config.node.server_name

    @property
    def started_at(self) -> float:
        """When this process began accepting requests (``Inbound.started_at``)."""
        return self.inbound.started_at

    async def start(self) -> None:
        fed = self.config.federation
        nameserver = _host_port(fed.dns_nameserver) if fed.dns_nameserver else None
        self._connect(nameserver)
        dns = make_dns_resolver(nameserver)
        pin_cache: TtlCache[frozenset[str] | None] = TtlCache(1024)

        async def lookup(server_name: str) -> frozenset[str] | None:
            return await pins.lookup_pins(dns, server_name, cache=pin_cache)

        self.keyring = KeyRing(self.db, self.client.fetch_keys, lookup, pins.check_pin)
        policy = SenderPolicy(batch_max_envelopes=fed.batch_max_envelopes,
                              batch_max_bytes=fed.batch_max_bytes,
                              retry_initial_seconds=fed.retry_initial_seconds,
                              retry_max_seconds=fed.retry_max_seconds)
        self.sender = Sender(self.db, self.client.send_transaction, policy, self._failed,
                             clock=lambda: now_ms() / 1000)  # the clock of created_ms
        self.link = FederationLink(self.db, self.client, self.sender, self.server_name)
        nonces = NonceCache(window_seconds=600 + 2 * fed.clock_skew_seconds,
                            max_entries=200_000)
        self.inbound = Inbound(self.config, self.db, self.notifier, self.hooks, self.policy,
                               self.keyring, nonces, RateLimiter(fed.rate_per_origin),
                               self.sender)
        await self.sender.start()
        self._tasks.append(asyncio.create_task(self._expire_loop(), name="federation-expiry"))

    def _connect(self, nameserver: tuple[str, int] | None) -> None:
        """The guarded HTTP session, discovery and the signed client."""
        fed = self.config.federation
        scheme: Literal["https", "http"] = "http" if fed.allow_plain_http else "https"
        tls = ssl_context(str(fed.ca_file) if fed.ca_file else None)
        resolver = GuardedResolver(nameserver, allow_private=fed.allow_private_addresses)
        session = self._session = aiohttp.ClientSession(
            connector=make_connector(resolver, tls, limit=200),
            timeout=aiohttp.ClientTimeout(total=60, sock_connect=10))
        self.discovery = Discovery(nameserver, lambda: session, scheme=scheme,
                                   allow_private=fed.allow_private_addresses,
                                   ssl_context=tls)
        identity = Identity(self.server_name, self.node_key.key_id, self.node_key.sign)
        self.policy = ServerPolicy(fed.allow, fed.deny)
        self.client = FederationClient(identity, self.discovery, session, scheme=scheme,
                                       tls=tls, policy=self.policy)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.sender.close()
        await self.link.close()
        await self.discovery.close()
        if self._session is not None:
            await self._session.close()

    async def own_key_document(self) -> dict[str, Any]:
        return await own_key_document(self.db, self.config, self.node_key)

    async def _expire_loop(self) -> None:
        max_age = self.config.federation.message_expiry_hours * 3600
        while True:
            try:
                await self.sender.expire(max_age, self._failed)
            except StorageFull as exc:  # /health says degraded; no traceback needed
                log.warning("expiring the outbox skipped: %s", exc.message)
            except Exception:  # noqa: BLE001 - logged; the loop must survive
                log.exception("expiring the outbox failed")
            await asyncio.sleep(EXPIRY_CHECK_SECONDS)

    async def _failed(self, items: list[dict[str, Any]], reason: str,
                      results: list[dict[str, Any]]) -> None:
        """Tell each sending device that its message did not reach its destination, or,
        for ``DEVICE_MISMATCH``, which devices lacked an envelope (it sends them the rest)."""
        pks = await self.db.write(_failed_events_txn, items, reason, results,
                                  self.config.business_address, now_ms())
        self.notifier.notify(pks)


async def own_key_document(db: Database, config: Config, node_key: NodeKey) -> dict[str, Any]:
    """This node's self-signed key document (current key and old keys with expiry)."""
    keys = await db.read(nodestore.list_keys)
    return own_document(config.node.server_name, node_key.key_id,
                        SigningKey.from_seed(node_key.seed), keys, now_ms())


def _failed_events_txn(db: Any, items: list[dict[str, Any]], reason: str,
                       results: list[dict[str, Any]], business: str, now: int) -> list[int]:
    events = []
    for item, result in zip(items, results, strict=True):
        if "sender_device" not in item:
            continue  # a receipt: nobody to tell
        pk = team.devices(db, item["sender"], business).get(item["sender_device"])
        if pk is None:
            continue
        base = {"message_id": item.get("message_id"), "to": item.get("to"), "ts": now}
        if reason == "DEVICE_MISMATCH":
            if isinstance(item.get("to"), str):
                remote_devices.mark_stale_txn(db, item["to"], now)
            changed = _device_ids(result, "missing"), _device_ids(result, "extra")
            events.append((pk, "devices_changed", item.get("message_id"),
                           {**base, "missing": changed[0], "extra": changed[1]}))
        else:
            events.append((pk, "failed", item.get("message_id"), {**base, "reason": reason}))
    return message_store.append_events_txn(db, events, now)


def _device_ids(result: dict[str, Any], key: str) -> list[str]:
    """A peer's list of device ids, kept only when well formed (ids, at most 100)."""
    ids = result.get(key)
    if not isinstance(ids, list) or len(ids) > 100:
        return []
    return [d for d in ids if isinstance(d, str) and 0 < len(d) <= 64 and is_clean_id(d)]


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)
