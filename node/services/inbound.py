"""The inbound side of federation in one place: who may call this node, and what a
transaction stores (docs/protocol.md, "Request signatures" and "Transactions").

The HTTP layer (``node.api.fedauth``) reads the request; ``Inbound`` decides, each rule
once and in the documented order:

1. ``refuse_denied``: the origin a keyid *claims*, against ``[federation] allow`` /
   ``deny`` (403 ``ORIGIN_DENIED``; the same rule as outgoing). This is the only use of
   a claim: it reserves nothing.
2. ``unverified``: one of ``max_unverified_per_address`` places of the *client
   address* while the body is read and the signature checked (429 beyond).
3. ``authenticate``: the signature (``federation.signatures``), then with the origin
   proven its nonce (replay), its rate limit and a block of its whole server by the
   business (asked of ``services.business.blocking``).
4. ``admitted``: one of ``max_inbound_per_origin`` slots of that origin for the
   handler (waiting up to SLOT_WAIT_SECONDS, then 429); the origin's outbox backoff is
   reset (it is evidently up).
5. ``receive_transaction``: the transaction's items (``inbound_items``), stored once
   in one write transaction with the transaction hooks of what was stored, answered
   after the commit; then the after-commit hooks fire.

Errors are ``federation.errors.FederationError`` (signature, nonce) or the node's
``KontorError``; both become JSON in ``node.middlewares``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from federation.keys import KeyRing
from federation.nonces import NonceCache, NonceCapacityError
from federation.policy import ServerPolicy
from federation.sender import Sender
from federation.signatures import VerifiedRequest, verify_kontor_request
from node.config import Config
from node.errors import Forbidden, RateLimited
from node.events import Hooks
from node.services import inbound_items
from node.services.accounts import now_ms
from node.services.business import blocking
from node.services.messaging import body_hash
from node.services.notifier import Notifier
from node.services.ratelimit import RateLimiter
from node.storage.db import Database

SLOT_WAIT_SECONDS = 10.0


@dataclass
class Inbound:
    """What admitting federation requests and storing their transactions needs (the
    module's functions take it first)."""

    config: Config
    db: Database
    notifier: Notifier
    hooks: Hooks
    policy: ServerPolicy
    keyring: KeyRing
    nonces: NonceCache
    limiter: RateLimiter
    sender: Sender
    #: When this process began accepting requests. The nonce replay cache lives in
    #: memory, so a request signed before this moment is refused: it could be a replay
    #: of one seen before a restart (a peer signs every attempt anew, so it just retries).
    started_at: float = field(default_factory=time.time)
    #: Requests being read and verified, per client address.
    unverified: Counter[str] = field(default_factory=Counter)
    inflight: dict[str, tuple[asyncio.Semaphore, int]] = field(default_factory=dict)


def refuse_denied(inbound: Inbound, origin: str) -> None:
    """403 ``ORIGIN_DENIED`` unless the policy federates with ``origin``."""
    if not inbound.policy.permits(origin):
        raise Forbidden(f"this node does not federate with {origin}", code="ORIGIN_DENIED")


@contextlib.contextmanager
def unverified_place(inbound: Inbound, address: str) -> Iterator[None]:
    """One of ``max_unverified_per_address`` requests from client ``address`` read
    and verified at once; 429 at once beyond (what a request claims to be does not
    count here)."""
    if inbound.unverified[address] >= inbound.config.federation.max_unverified_per_address:
        raise RateLimited(f"too many unverified federation requests from {address}",
                          retry_after_ms=1000)
    inbound.unverified[address] += 1
    try:
        yield
    finally:
        inbound.unverified[address] -= 1
        if inbound.unverified[address] <= 0:
            del inbound.unverified[address]


async def authenticate(inbound: Inbound, method: str, url: str, headers: Mapping[str, str],
                       body: bytes) -> VerifiedRequest:
    """The verified request: signature, then nonce, rate limit and server block."""
    now = time.time()
    verified = await verify_kontor_request(
        method, url, headers, body, our_server_name=inbound.config.node.server_name,
        lookup_key=inbound.keyring.public_key, now=now,
        max_skew_seconds=inbound.config.federation.clock_skew_seconds,
        not_before=inbound.started_at)
    origin = verified.origin
    try:
        inbound.nonces.check_and_remember(origin, verified.nonce, verified.accept_until, now)
    except NonceCapacityError as exc:  # the wire says RATE_LIMITED (docs/protocol.md)
        raise RateLimited(exc.message, retry_after_ms=1000) from None
    inbound.limiter.check(origin, "origin")
    if await blocking.is_server_blocked(inbound.db, origin):
        raise Forbidden(f"this node refuses everything from {origin}", code="BLOCKED")
    return verified


@contextlib.asynccontextmanager
async def admitted(inbound: Inbound, origin: str) -> AsyncIterator[None]:
    """A slot of ``origin`` for the handler (see the module docstring)."""
    async with _slot(inbound, origin, inbound.config.federation.max_inbound_per_origin):
        await inbound.sender.peer_alive(origin)
        yield


@contextlib.asynccontextmanager
async def _slot(inbound: Inbound, origin: str, limit: int) -> AsyncIterator[None]:
    slots, users = inbound.inflight.get(origin, (None, 0))
    if slots is None:
        slots = asyncio.Semaphore(limit)
    inbound.inflight[origin] = (slots, users + 1)  # entries go when unused: bounded
    try:
        try:
            await asyncio.wait_for(slots.acquire(), SLOT_WAIT_SECONDS)
        except TimeoutError:
            raise RateLimited(f"too many concurrent requests from {origin}",
                              retry_after_ms=1000) from None
        try:
            yield
        finally:
            slots.release()
    finally:
        slots, users = inbound.inflight[origin]
        if users <= 1:
            del inbound.inflight[origin]
        else:
            inbound.inflight[origin] = (slots, users - 1)


async def receive_transaction(inbound: Inbound, origin: str, txn_id: str,
                              body: dict[str, Any]) -> dict[str, Any]:
    """Store an inbound transaction once; answer only after the commit."""
    items = inbound_items.check_items(origin, body)
    now = now_ms()
    txn = inbound_items.InboundTxn(inbound.config.node.server_name,
                                   inbound.config.business_address, origin, txn_id,
                                   body_hash(body), items, now)
    response, done = await inbound.db.write(inbound_items.receive_txn, txn, inbound.hooks)
    inbound.notifier.notify(done.pks)
    inbound.hooks.after_commit(done.after)
    await _fire(inbound, done)
    return response


async def _fire(inbound: Inbound, done: inbound_items.Delivered) -> None:
    # Hooks see only what was stored, stamped with our clock, not the peer's.
    for payload in done.messages:
        await inbound.hooks.fire("message.stored", **payload)
    for payload in done.receipts:
        await inbound.hooks.fire("receipt.delivered", **payload)
