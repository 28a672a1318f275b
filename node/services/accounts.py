"""Accounts, passwords, devices and access tokens.

Passwords are hashed with argon2id (PyNaCl's pwhash) off the event loop, on the node's
bounded pool (``node.services.passwords``) for everything a client can start. Access tokens
are 256 random bits; the node keeps only their SHA-256, so a stolen database holds no
usable token. Lookups of unknown accounts still pay for one hash check, so timing does
not tell which addresses exist.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import nacl.exceptions
import nacl.pwhash

from node.config import Config
from node.errors import (
    Conflict,
    DeviceRevoked,
    Forbidden,
    InvalidParameter,
    NotFound,
    Unauthorized,
)
from node.protocol.names import (
    GIVEN_ROLES,
    TEAM_ROLES,
    Address,
    InvalidAddress,
    Role,
    is_local_part,
    local_of,
    server_of,
)
from node.services import erasure_log
from node.services.passwords import PasswordHasher
from node.storage import accounts as store
from node.storage.db import Database

T = TypeVar("T")

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
INVITE_TTL_MS = 7 * 24 * 3600 * 1000
GUEST_PREFIX = "guest-"  # addresses of the web chat's guests (node.services.guests)
_DUMMY_HASH = nacl.pwhash.argon2id.str(b"kontor-dummy-password").decode()


@dataclass(frozen=True)
class Requester:
    """The authenticated device behind a request."""

    address: str
    device_id: str
    device_pk: int
    role: Role


@dataclass(frozen=True)
class Accounts:
    """The accounts service of a running node (built once in ``create_app``): its
    database, the bounded argon2id pool for what clients start, and the config (the
    registration mode)."""

    db: Database
    hasher: PasswordHasher
    config: Config


_clock_offset_ms = 0


def now_ms() -> int:
    """The node's clock in ms since the epoch (every timestamp the node writes)."""
    return int(time.time() * 1000) + _clock_offset_ms


def advance_clock(ms: int) -> None:
    """Move this process's node clock forward by ``ms`` (``kontor demo`` simulates an
    evening this way; a running node never calls it)."""
    global _clock_offset_ms
    _clock_offset_ms += ms


def random_token(prefix: str) -> str:
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def make_address(name: str, server_name: str) -> str:
    """``name`` (a local part or a full address on this server) as a full address."""
    name = name.strip().lower()
    local = local_of(name)
    if "@" in name and server_of(name) != server_name.lower():
        raise InvalidParameter(f"{name!r} is not an account on this node ({server_name})",
                               code="NOT_LOCAL")
    if not is_local_part(local):
        raise InvalidParameter("a user name is 1-64 characters of a-z, 0-9, '.', '_' and "
                               "'-', starting with a letter or digit", code="INVALID_USERNAME")
    return f"{local}@{server_name}"


def parse_address(address: str) -> Address:
    """``local@server`` as an Address; 400 INVALID_ADDRESS when malformed."""
    try:
        return Address.parse(address)
    except InvalidAddress as exc:
        raise InvalidParameter(str(exc), code="INVALID_ADDRESS") from None


def split_address(address: str) -> tuple[str, str]:
    """``local@server`` -> (local, server); 400 INVALID_ADDRESS when malformed."""
    parsed = parse_address(address)
    return parsed.local, parsed.server


def check_password(password: str) -> bytes:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidParameter(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters",
                               code="WEAK_PASSWORD")
    return password.encode("utf-8", "surrogatepass")


async def _off_loop(hasher: PasswordHasher | None, fn: Callable[..., T], *args: Any) -> T:
    """Run a hash on the node's bounded pool (client paths) or, for the operator's
    one-off commands, on a thread of its own."""
    if hasher is not None:
        return await hasher.run(fn, *args)
    return await asyncio.to_thread(fn, *args)


async def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    raw = check_password(password)
    return (await _off_loop(hasher, nacl.pwhash.argon2id.str, raw)).decode("ascii")


def _verify(stored: str | None, raw: bytes) -> bool:
    try:
        return nacl.pwhash.verify((stored or _DUMMY_HASH).encode(), raw)
    except nacl.exceptions.InvalidkeyError:
        return False


async def _password_matches(stored: str | None, password: str,
                            hasher: PasswordHasher | None) -> bool:
    raw = password.encode("utf-8", "surrogatepass")[:MAX_PASSWORD * 4]
    return await _off_loop(hasher, _verify, stored, raw) and stored is not None


def check_role(role: str) -> Role:
    """A role the operator or an invite may give; 400 INVALID_ROLE otherwise."""
    if role not in GIVEN_ROLES:
        raise InvalidParameter(f"role must be one of {', '.join(GIVEN_ROLES)}",
                               code="INVALID_ROLE")
    return Role(role)


async def create_account(db: Database, address: str, role: str, password: str | None) -> None:
    """Create an account (operator path). Conflict when the address is taken."""
    role = check_role(role)
    hashed = await hash_password(password) if password is not None else None
    if not await db.write(_operator_create_txn, address, role, hashed, now_ms()):
        raise Conflict(f"{address} already exists", code="ADDRESS_TAKEN")


def _operator_create_txn(db: Any, address: str, role: str, hashed: str | None,
                         now: int) -> bool:
    """The operator may give a retired address out again: that is a decision."""
    created = store.create_account_txn(db, address, role, hashed, now)
    if created:
        store.unretire_txn(db, address)
    return created


async def set_password(db: Database, address: str, password: str) -> None:
    """Set or change an account's password (operator path); its devices stay logged in."""
    check_password(password)
    account = await db.read(store.get_account, address)
    if account is None or account["role"] == Role.AUTOMATION:
        raise NotFound(f"no account {address} that can log in", code="UNKNOWN_ACCOUNT")
    await db.write(store.set_password_txn, address, await hash_password(password))


async def remove_account(db: Database, address: str, config: Config | None = None) -> None:
    """Delete an account with its devices, keys and queued events (operator path);
    with ``config``, noted in the erasure log so that a restore removes it again."""
    account = await db.read(store.get_account, address)
    if account is None:
        raise NotFound(f"no account {address}", code="UNKNOWN_ACCOUNT")
    if account["role"] == Role.AUTOMATION:
        raise Forbidden(f"{address} is the business itself; it cannot be removed",
                        code="CANNOT_REMOVE")
    await db.write(store.delete_account_txn, address)
    if config is not None:
        await asyncio.to_thread(erasure_log.record, config, address, now_ms(), "account")


async def create_invite(db: Database, role: str = Role.CUSTOMER,
                        ttl_ms: int = INVITE_TTL_MS) -> str:
    """A one-time registration token; only its hash is stored."""
    role = check_role(role)
    token = random_token("ki_")
    now = now_ms()
    await db.write(store.create_invite_txn, token_hash(token), role, now, now + ttl_ms)
    return token


def _register_txn(db: Any, address: str, hashed: str, invite: str | None,
                  device: store.NewDevice, now: int) -> str:
    role: str = Role.CUSTOMER
    if invite is not None:
        used = store.use_invite_txn(db, token_hash(invite), address, now)
        if used is None:
            raise Forbidden("the invite is unknown, used or expired", code="INVALID_INVITE")
        role = used
    if store.is_retired(db, address):
        raise Conflict(f"{address} belonged to a removed account and is not given out "
                       "again", code="ADDRESS_RETIRED")
    if not store.create_account_txn(db, address, role, hashed, now):
        raise Conflict(f"{address} is taken", code="ADDRESS_TAKEN")
    store.add_device_txn(db, address, device, now)
    return role


async def register(acc: Accounts, address: str, password: str, invite: str | None,
                   device_name: str) -> dict[str, Any]:
    """Self-registration under the node's registration mode."""
    mode = acc.config.accounts.registration
    if mode == "closed":
        raise Forbidden("registration is closed on this node; ask its operator for an "
                        "account", code="REGISTRATION_CLOSED")
    if mode == "invite" and not invite:
        raise Forbidden("this node registers by invite only", code="INVALID_INVITE")
    if address.startswith(GUEST_PREFIX):
        raise InvalidParameter(f"user names starting with {GUEST_PREFIX!r} are kept for the "
                               "web chat's guests; choose another", code="INVALID_USERNAME")
    hashed = await hash_password(password, acc.hasher)
    token, device_id = random_token("kt_"), new_device_id()
    device = store.NewDevice(device_id, device_name, token_hash(token))
    role = await acc.db.write(_register_txn, address, hashed, invite if mode == "invite" else None,
                              device, now_ms())
    return {"address": address, "device_id": device_id, "access_token": token, "role": role}


async def login(acc: Accounts, address: str, password: str,
                device_name: str) -> dict[str, Any]:
    """A new device and token for correct credentials."""
    account = await acc.db.read(store.get_account, address)
    stored = account["password_hash"] if account else None
    if not await _password_matches(stored, password, acc.hasher) or account is None:
        raise Unauthorized("wrong address or password", code="INVALID_CREDENTIALS")
    token, device_id = random_token("kt_"), new_device_id()
    await acc.db.write(store.add_device_txn, address,
                       store.NewDevice(device_id, device_name, token_hash(token)), now_ms())
    return {"address": address, "device_id": device_id, "access_token": token,
            "role": account["role"]}


def new_device_id() -> str:
    """11 base64url characters, never starting with '-' (a command line would read
    ``kontor device revoke anna -xyz`` as an option)."""
    raw = base64.urlsafe_b64encode(secrets.token_bytes(8)).rstrip(b"=").decode()
    return raw if raw[0] != "-" else "A" + raw[1:]


async def authenticate(acc: Accounts, token: str) -> Requester:
    """The device a bearer token belongs to; Unauthorized when unknown or revoked."""
    hashed = token_hash(token)
    owner = await acc.db.read(store.token_owner, hashed)
    if owner is None and await acc.db.read(store.is_revoked_token, hashed):
        raise DeviceRevoked()
    if owner is None:
        raise Unauthorized("unknown or revoked access token; log in again",
                           code="UNKNOWN_TOKEN")
    address, device_id, pk, role = owner
    return Requester(address, device_id, pk, Role(role))


def _account_read(db: Any, address: str) -> tuple[list[dict[str, Any]], bool, bool]:
    account = store.get_account(db, address)
    has_password = account is not None and account["password_hash"] is not None
    return store.list_devices(db, address), store.is_guest(db, address), has_password


async def account_info(acc: Accounts, who: Requester) -> dict[str, Any]:
    """The account, its devices, the business address a team member speaks as, and
    whether it is a web chat guest and has a password."""
    business = acc.config.business_address
    devices, guest, has_password = await acc.db.read(_account_read, who.address)
    return {"address": who.address, "role": who.role, "device_id": who.device_id,
            "business": business,
            "speaks_as": business if who.role in TEAM_ROLES else who.address,
            "guest": guest, "has_password": has_password,
            "devices": [_public_device(d) for d in devices]}


async def change_password(acc: Accounts, who: Requester, password: str,
                          old_password: str | None) -> None:
    """Set this account's password (a guest's first), or change it given the current
    one (401 INVALID_CREDENTIALS otherwise). Its devices stay logged in."""
    check_password(password)
    account = await acc.db.read(store.get_account, who.address)
    stored = account["password_hash"] if account else None
    if stored is not None and not await _password_matches(stored, old_password or "",
                                                          acc.hasher):
        raise Unauthorized("the current password (old_password) is wrong or missing",
                           code="INVALID_CREDENTIALS")
    await acc.db.write(store.set_password_txn, who.address,
                       await hash_password(password, acc.hasher))


def _public_device(d: dict[str, Any]) -> dict[str, Any]:
    return {"device_id": d["device_id"], "name": d["name"], "created_ms": d["created_ms"],
            "last_seen_ms": d["last_seen_ms"], "has_keys": bool(d["has_keys"])}


async def list_devices(db: Database, address: str) -> list[dict[str, Any]]:
    if await db.read(store.get_account, address) is None:
        raise NotFound(f"no account {address}", code="UNKNOWN_ACCOUNT")
    return [_public_device(d) for d in await db.read(store.list_devices, address)]


async def logout(acc: Accounts, who: Requester) -> None:
    """End the requesting device (noted in the erasure log, like any revocation)."""
    await revoke_device(acc.db, who.address, who.device_id, acc.config)


async def revoke_device(db: Database, address: str, device_id: str,
                        config: Config | None = None) -> None:
    """End a device: its token, keys, prekeys and undelivered events go; with
    ``config``, noted in the erasure log so that a restore revokes it again."""
    if not await db.write(store.delete_device_txn, address, device_id):
        raise NotFound(f"{address} has no device {device_id}", code="UNKNOWN_DEVICE")
    if config is not None:
        await asyncio.to_thread(erasure_log.record, config, f"{address}/{device_id}",
                                now_ms(), "device")
