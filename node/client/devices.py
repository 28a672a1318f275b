"""Keys: this device's prekeys, and the peer devices it knows (``client.devices``).

Prekeys: one-time prekeys are topped up when few are left and the signed prekey is
rotated weekly; private halves are on disk before the public ones are uploaded.

Peers: every peer device's two identity keys (Ed25519 and X25519) are pinned on first
sight (trust on first use); a device whose keys later differ is refused, not silently
trusted. Safety numbers compared out of band upgrade a pin to "verified". Device lists
are cached briefly; a 409 on send corrects a stale list.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from crypto import fingerprint as fp
from crypto.encoding import b64decode, b64encode
from crypto.errors import CryptoError
from crypto.identity import (
    DeviceIdentity,
    device_keys_document,
    make_one_time_prekey,
    make_signed_prekey,
    verify_bundle,
    verify_device_keys,
)
from crypto.session import Session
from crypto.verify import DeviceKeys
from node.client.errors import VerificationError
from node.client.store import Store
from node.client.transport import Transport
from node.protocol.names import server_of

PREKEY_BATCH = 50
PREKEY_LOW_WATER = 20
SIGNED_PREKEY_MAX_AGE_MS = 7 * 24 * 3600 * 1000
DEVICE_LIST_TTL = 60.0


class Devices:
    """This device's keys and the pinned keys of the devices it talks to."""

    def __init__(self, transport: Transport, store: Store, identity: DeviceIdentity,
                 address: str, device_id: str) -> None:
        self.transport, self.store, self.identity = transport, store, identity
        self.address, self.device_id = address, device_id
        self._lists: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    # ----- our prekeys ------------------------------------------------------------

    def _next_key_id(self, prefix: str) -> str:
        counter = (self.store.get_json("key_counter") or 0) + 1
        self.store.put_json("key_counter", counter)
        return f"{prefix}{counter}"

    def _new_signed_prekey(self) -> dict[str, Any]:
        with self.store.batch():
            key_id = self._next_key_id("s")
            key, doc = make_signed_prekey(self.identity, key_id)
            self.store.put_prekey(key_id, "spk", key.private)
            self.store.put_json("signed_prekey", {"key_id": key_id, "created_ms": _now_ms()})
        return doc

    def _new_one_time_prekeys(self, count: int) -> list[dict[str, Any]]:
        """New one-time prekeys, their private halves synced to disk before upload."""
        docs = []
        with self.store.batch():
            for _ in range(count):
                key_id = self._next_key_id("o")
                key, doc = make_one_time_prekey(self.identity, key_id)
                self.store.put_prekey(key_id, "otk", key.private)
                docs.append(doc)
        return docs

    async def upload_initial_keys(self) -> None:
        await self.transport.upload_keys({
            "device_keys": device_keys_document(self.identity, self.address, self.device_id),
            "signed_prekey": self._new_signed_prekey(),
            "one_time_prekeys": self._new_one_time_prekeys(PREKEY_BATCH)})

    async def top_up_prekeys(self) -> int:
        """Upload one-time prekeys when few are left and rotate an old signed prekey;
        returns how many one-time prekeys the node holds afterwards."""
        count = await self.transport.prekey_count()
        body: dict[str, Any] = {}
        if count < PREKEY_LOW_WATER:
            body["one_time_prekeys"] = self._new_one_time_prekeys(PREKEY_BATCH)
        current = self.store.get_json("signed_prekey") or {}
        if _now_ms() - current.get("created_ms", 0) > SIGNED_PREKEY_MAX_AGE_MS:
            body["signed_prekey"] = self._new_signed_prekey()
            self._forget_old_signed_prekeys(keep={current.get("key_id")})
        if body:
            count = await self.transport.upload_keys(body)
        return count

    def _forget_old_signed_prekeys(self, keep: set[Any]) -> None:
        current = (self.store.get_json("signed_prekey") or {}).get("key_id")
        for key_id in self.store.prekey_ids("spk"):
            if key_id != current and key_id not in keep:
                self.store.delete_prekey(key_id)

    # ----- peers' devices ---------------------------------------------------------

    async def entries(self, address: str) -> list[dict[str, Any]]:
        """The device list of ``address``, cached for DEVICE_LIST_TTL seconds."""
        cached = self._lists.get(address)
        if cached is not None and time.monotonic() - cached[0] < DEVICE_LIST_TTL:
            return cached[1]
        entries = await self.transport.devices(address)
        self._lists[address] = (time.monotonic(), entries)
        return entries

    def forget_list(self, address: str) -> None:
        self._lists.pop(address, None)

    def pinned(self, address: str, device_id: str) -> tuple[bytes, bytes] | None:
        """The (Ed25519, X25519) identity keys pinned for a device, if any."""
        known = self.store.device_key(address, device_id)
        if known is None:
            return None
        both = b64decode(known[0])
        if len(both) == 32:  # pinned by an SDK that kept only the Ed25519 key
            return None  # learn() re-fetches and upgrades it if that key matches
        if len(both) != 64:
            raise VerificationError(f"damaged key record for {address}/{device_id}")
        return both[:32], both[32:]

    async def learn(self, address: str, device_id: str) -> tuple[bytes, bytes]:
        """The device's pinned identity keys, fetched and pinned on first sight."""
        pinned = self.pinned(address, device_id)
        if pinned is not None:
            return pinned
        for entry in await self.transport.devices(address):
            if entry.get("device_id") == device_id:
                keys = verify_device_keys(entry["device_keys"],
                                          keys_owner(address, entry), device_id)
                self.trust_on_first_use(address, device_id, keys)
                return keys.signing_key, keys.identity_key
        raise VerificationError(f"{address} has no device {device_id}")

    def trust_on_first_use(self, address: str, device_id: str, keys: DeviceKeys) -> None:
        """Pin the device's two identity keys on first sight; refuse changed ones."""
        pinned = b64encode(keys.signing_key + keys.identity_key)
        known = self.store.device_key(address, device_id)
        if known is not None and len(b64decode(known[0])) == 32 \
                and secrets.compare_digest(b64decode(known[0]), keys.signing_key):
            self.store.upgrade_device_key(address, device_id, pinned)  # older 32-byte pin
        previous = self.store.remember_device(address, device_id, pinned)
        if previous is not None:
            raise VerificationError(f"the identity key of {address} device {device_id} "
                                    "changed; refusing it (the device must log in anew)")

    async def start_sessions(self, address: str, device_ids: list[str]) -> dict[str, Session]:
        """Claim prekey bundles, verify them, start sessions (X3DH)."""
        sessions = {}
        for entry in await self.transport.claim(address, device_ids):
            try:
                bundle = verify_bundle({k: v for k, v in entry.items() if k != "account"},
                                       keys_owner(address, entry))
            except CryptoError as exc:
                raise VerificationError(f"{address} device {entry.get('device_id')}: "
                                        f"bad keys ({exc})") from None
            self.trust_on_first_use(address, entry["device_id"], bundle.device)
            sessions[entry["device_id"]] = Session.initiate(self.identity, bundle)
        return sessions

    # ----- verification -----------------------------------------------------------

    async def safety_numbers(self, address: str) -> dict[str, str]:
        """Device id -> safety number of ``address``'s devices with this device.

        Read them out of band (in person, by phone); if they match, call ``verify``."""
        out = {}
        for entry in await self.transport.devices(address):
            keys = verify_device_keys(entry["device_keys"], keys_owner(address, entry),
                                      entry["device_id"])
            self.trust_on_first_use(address, entry["device_id"], keys)
            out[entry["device_id"]] = fp.safety_number(
                self.address, self.identity.signing.public_key, keys.address, keys.signing_key)
        return out

    async def verify(self, address: str, device_id: str, safety_number: str) -> bool:
        """Mark the device verified when ``safety_number`` matches; False otherwise."""
        expected = (await self.safety_numbers(address)).get(device_id)
        ok = expected is not None and secrets.compare_digest(
            expected.replace(" ", ""), safety_number.replace(" ", ""))
        if ok:
            self.store.set_verified(address, device_id)
        return ok

    def is_verified(self, address: str, device_id: str) -> bool:
        known = self.store.device_key(address, device_id)
        return bool(known and known[1])


def keys_owner(address: str, entry: dict[str, Any]) -> str:
    """Whose keys a listed device holds: a team member's, for a business address."""
    owner = entry.get("account", address)
    if not isinstance(owner, str) or server_of(owner) != server_of(address):
        raise VerificationError(f"a device listed for {address} belongs to another server")
    return owner


def _now_ms() -> int:
    return int(time.time() * 1000)
