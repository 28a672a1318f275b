"""Guest accounts for the web chat (``[webchat]``): made after a proof of work, limited
per client address and in all, removed when idle.

The flow: ``challenge`` hands out a stateless challenge (``guest_challenge``) and stores
nothing; ``register`` verifies it and the proof, counts the guest against its address
(``guest_limits``), and in one transaction records the challenge as used, checks the
node's total, and creates the account (``guest-<random>@<server>``, role customer, no
password), its guest mark and one device. ``expire_tick`` removes, with everything about
them (``datarights.erase``), at most ``BATCH`` guests without a password whose devices
were last seen more than ``guest_expiry_days`` ago, and forgets used challenges that
expired; ``run_forever`` repeats it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from crypto.encoding import b64encode
from node.config import Config
from node.errors import Conflict, Forbidden, InvalidParameter
from node.protocol.names import Role
from node.services import guest_challenge as pow_
from node.services.accounts import GUEST_PREFIX, new_device_id, now_ms, random_token, token_hash
from node.services.business import datarights
from node.services.business.context import DAY_MS, Business
from node.services.guest_limits import GuestLimit, GuestLimits, network_of
from node.storage import accounts as store
from node.storage import nodestore
from node.storage.db import Database

log = logging.getLogger("kontor.guests")

PREFIX = GUEST_PREFIX
SECRET_META = "webchat_challenge_secret"
BATCH = 50
INTERVAL_SECONDS = 3600.0
BUSY_INTERVAL_SECONDS = 1.0
FIRST_DELAY_SECONDS = 60.0
NODE_FULL_RETRY_MS = 3600 * 1000


@dataclass(frozen=True)
class Guests:
    """The guest service of a running node (built once in ``create_app``)."""

    db: Database
    config: Config
    secret: bytes
    limits: GuestLimits


async def load_secret(db: Database) -> bytes:
    """The node's challenge key (32 random bytes, made once, kept in ``node_meta``)."""
    return bytes.fromhex(await db.write(nodestore.meta_or_set_txn, SECRET_META,
                                        secrets.token_hex(32)))


def build(db: Database, config: Config, secret: bytes) -> Guests:
    webchat = config.webchat
    return Guests(db, config, secret,
                  GuestLimits(webchat.guests_per_address_hour, webchat.guests_per_address_day))


def require_enabled(g: Guests) -> None:
    if not g.config.webchat.enabled:
        raise Forbidden("this node does not create guest accounts ([webchat] enabled is "
                        "off); ask the business for another way to reach it",
                        code="WEBCHAT_DISABLED")


def _node_full() -> GuestLimit:
    return GuestLimit("this node has as many guests as it takes; try again later",
                      retry_after_ms=NODE_FULL_RETRY_MS, scope="node")


async def challenge(g: Guests, remote: str) -> dict[str, Any]:
    """A challenge for a client that may create a guest now (limits checked, nothing
    counted or stored)."""
    require_enabled(g)
    g.limits.check(network_of(remote))
    if await g.db.read(store.live_guest_count) >= g.config.webchat.max_guests:
        raise _node_full()
    difficulty = g.config.webchat.pow_difficulty
    raw, expires = pow_.make(g.secret, g.config.node.server_name, difficulty, now_ms())
    return {"challenge": b64encode(raw), "difficulty": difficulty, "expires_ms": expires}


def new_address(server_name: str) -> str:
    """``guest-`` and 12 random characters of a-z2-7 (60 bits)."""
    tail = base64.b32encode(secrets.token_bytes(8)).decode().lower()[:12]
    return f"{PREFIX}{tail}@{server_name}"


def _register_txn(db: Any, g: Guests, challenge: tuple[str, int], device: store.NewDevice,
                  now: int) -> str:
    """The guest account and its device, spending the challenge (its hash, expiry)."""
    used, expires = challenge
    if store.live_guest_count(db) >= g.config.webchat.max_guests:
        raise _node_full()
    if not store.use_guest_challenge_txn(db, used, expires):
        raise Conflict("this challenge was used already; get a new one", code="CHALLENGE_USED")
    for _ in range(4):
        address = new_address(g.config.node.server_name)
        if not store.is_retired(db, address) and store.create_account_txn(
                db, address, Role.CUSTOMER, None, now):
            break
    else:  # pragma: no cover - 60 random bits
        raise Conflict("no free guest address; try again", code="ADDRESS_TAKEN")
    store.add_guest_txn(db, address, now)
    store.add_device_txn(db, address, device, now)
    return address


async def register(g: Guests, remote: str, challenge_raw: bytes, nonce: bytes,
                   device_name: str) -> dict[str, Any]:
    """A guest account and its first device, for a valid proof of work."""
    require_enabled(g)
    now = now_ms()
    difficulty, expires = pow_.check(g.secret, g.config.node.server_name, challenge_raw, now)
    if not pow_.proof_ok(challenge_raw, nonce, difficulty):
        raise InvalidParameter(f"SHA-256(challenge || nonce) must start with {difficulty} "
                               "zero bits", code="INVALID_PROOF")
    network = network_of(remote)
    mark = g.limits.take(network)
    token, device_id = random_token("kt_"), new_device_id()
    try:
        address = await g.db.write(_register_txn, g, (pow_.challenge_hash(challenge_raw),
                                   expires), store.NewDevice(device_id, device_name,
                                                             token_hash(token)), now)
    except BaseException:
        g.limits.give_back(network, mark)
        raise
    return {"address": address, "device_id": device_id, "access_token": token,
            "role": Role.CUSTOMER, "guest": True}


Forget = Callable[[str], Awaitable[int]]


async def expire_tick(g: Guests, biz: Business, forget: Forget | None,
                      now: int | None = None, batch: int = BATCH) -> int:
    """Remove up to ``batch`` idle guests (with everything about them); returns how many."""
    now = now_ms() if now is None else now
    before = now - g.config.webchat.guest_expiry_days * DAY_MS
    idle = await g.db.read(store.idle_guests, before, batch)
    for address in idle:
        await datarights.erase(biz, None, address, forget)
    await g.db.write(store.expire_guest_challenges_txn, now)
    return len(idle)


async def run_forever(g: Guests, biz: Business, forget: Forget | None) -> None:
    """The background task: expire idle guests, soon again while there are more."""
    await asyncio.sleep(FIRST_DELAY_SECONDS)
    while True:
        busy = False
        try:
            removed = await expire_tick(g, biz, forget)
            busy = removed >= BATCH
            if removed:
                log.info("removed %d idle guest accounts", removed)
        except Exception:  # noqa: BLE001 - logged; the task must survive
            log.exception("guest expiry failed")
        await asyncio.sleep(BUSY_INTERVAL_SECONDS if busy else INTERVAL_SECONDS)
