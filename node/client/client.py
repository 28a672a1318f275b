"""The SDK's ``Client``: an account's device that does all the cryptography itself.

The node only ever sees ciphertext. This class keeps the device's identity, prekeys and
one Double Ratchet session per peer device in a passphrase-protected local store, and:

- sends: encrypts one envelope for every device of the recipient and every other device
  of the sender (the whole team for a business); when the node answers 409 because the
  devices changed, it refreshes the lists, drops or adds sessions and retries;
- receives: decrypts what the node pushes (WebSocket, falling back to long-poll sync),
  stores it locally, then acknowledges it, so nothing is lost if the app stops between;
- keeps prekeys topped up, rotates the signed prekey, and records every peer device's
  identity key on first use so that a changed key is refused, not silently trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from ssl import SSLContext
from typing import Any
from urllib.parse import quote

import aiohttp

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
from crypto.keys import X25519Key
from crypto.media import MediaKey, decrypt_chunks, decrypt_media, encrypt_chunks, encrypt_media
from crypto.session import Session, peek_prekey
from crypto.verify import DeviceKeys
from node.client import content as contents
from node.client.business import (
    BusinessDocument,
    check_business_document,
    parse_nameserver,
)
from node.client.errors import (
    ApiError,
    ClientError,
    ContentError,
    DeliveryError,
    VerificationError,
)
from node.client.store import Store
from node.client.transport import HttpTransport, Transport
from node.protocol import placeholders

log = logging.getLogger("kontor.client")

PREKEY_BATCH = 50
PREKEY_LOW_WATER = 20
SIGNED_PREKEY_MAX_AGE_MS = 7 * 24 * 3600 * 1000
SEND_ATTEMPTS = 4
MAX_MEDIA = 2 * 1024 * 1024 * 1024
DEVICE_LIST_TTL = 60.0


@dataclass(frozen=True)
class Message:
    """A decrypted message: ``content`` is the typed content (see ``node.client.content``)."""

    message_id: str
    sender: str
    sender_device: str
    to: str
    peer: str
    ts: int
    content: dict[str, Any]
    outgoing: bool = False
    #: What the SDK learnt about the message, e.g. ``{"order": {...}}`` for an order the
    #: business side recorded (its total recomputed from the catalog).
    annotations: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def type(self) -> str:
        return self.content["type"]

    @property
    def text(self) -> str | None:
        return self.content.get("body") if self.type == "text" else None


@dataclass(frozen=True)
class Receipt:
    """A delivery (from the node) or read (end-to-end, from the peer's app) receipt."""

    kind: str
    message_ids: tuple[str, ...]
    by: str
    device: str
    ts: int


class Client:
    """One device of one account. Create with ``register``, ``login`` or ``open``."""

    def __init__(self, transport: Transport, store: Store, identity: DeviceIdentity,
                 account: dict[str, Any]) -> None:
        self.transport = transport
        self.store = store
        self.identity = identity
        self.address: str = account["address"]
        self.device_id: str = account["device_id"]
        self.role: str = account.get("role", "customer")
        self.business: str = account.get("business", "")
        self.speaks_as: str = account.get("speaks_as", self.address)
        self._send_lock = asyncio.Lock()
        self._recv_lock = asyncio.Lock()
        self._device_lists: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self.undecryptable = 0
        #: The DNS server that business key pins are looked up at (None: the system's).
        self.dns_nameserver: tuple[str, int] | None = None

    # ----- creating and opening -------------------------------------------------------

    @classmethod
    async def register(cls, base_url: str, username: str, password: str, *,
                       store: str | Path, passphrase: str, invite: str | None = None,
                       device_name: str = "kontor-sdk", ssl: SSLContext | None = None,
                       durable: bool = True,
                       dns_nameserver: str | tuple[str, int] | None = None) -> Client:
        """Create an account (open or invite registration) and this device's keys.
        ``dns_nameserver`` (``"10.0.0.53:53"`` or a (host, port) pair): where to look up
        businesses' DNS key pins (the ``verified`` mark) instead of the system resolver,
        for private networks and tests."""
        transport = HttpTransport(base_url, ssl=ssl)
        try:
            nameserver = parse_nameserver(dns_nameserver)
            session = await transport.register(username, password, invite, device_name)
        except BaseException:
            await transport.close()
            raise
        client = await cls._new_device(transport, session, store, passphrase, durable)
        client.dns_nameserver = nameserver
        return client

    @classmethod
    async def login(cls, base_url: str, username: str, password: str, *,
                    store: str | Path, passphrase: str,
                    device_name: str = "kontor-sdk", ssl: SSLContext | None = None,
                    durable: bool = True,
                    dns_nameserver: str | tuple[str, int] | None = None) -> Client:
        """Log in a new device of an existing account; it gets fresh keys.
        ``dns_nameserver``: as for ``register``."""
        transport = HttpTransport(base_url, ssl=ssl)
        try:
            nameserver = parse_nameserver(dns_nameserver)
            session = await transport.login(username, password, device_name)
        except BaseException:
            await transport.close()
            raise
        client = await cls._new_device(transport, session, store, passphrase, durable)
        client.dns_nameserver = nameserver
        return client

    @classmethod
    async def open(cls, store: str | Path, passphrase: str,
                   ssl: SSLContext | None = None, durable: bool = True,
                   dns_nameserver: str | tuple[str, int] | None = None) -> Client:
        """Reopen a device from its store (no password needed: the token is in it).
        ``durable=False``: see ``Store.open``; ``dns_nameserver``: as for ``register``."""
        nameserver = parse_nameserver(dns_nameserver)
        st = Store.open(store, passphrase, durable=durable)
        account = st.get_json("account")
        identity = st.get_secret("identity")
        if account is None or identity is None:
            st.close()
            raise ClientError(f"{store} holds no device; log in first")
        transport = HttpTransport(account["base_url"], account["access_token"], ssl=ssl)
        client = cls(transport, st, DeviceIdentity.from_bytes(identity), account)
        client.dns_nameserver = nameserver
        with contextlib.suppress(ApiError, aiohttp.ClientError):
            await client._refresh_account()
        return client

    @classmethod
    async def open_with(cls, transport: Transport, store: str | Path, passphrase: str) -> Client:
        """Reopen a device from its store over a given transport (the node's own
        automation device uses an in-process one)."""
        st = Store.open(store, passphrase)
        account, identity = st.get_json("account"), st.get_secret("identity")
        if account is None or identity is None:
            st.close()
            raise ClientError(f"{store} holds no device")
        client = cls(transport, st, DeviceIdentity.from_bytes(identity), account)
        await client._refresh_account()
        return client

    @classmethod
    async def create_device(cls, transport: Transport, session: dict[str, Any],
                            store: str | Path, passphrase: str) -> Client:
        """Keys and store for a device that ``session`` (address, device_id, role)
        describes, over a given transport."""
        return await cls._new_device(transport, session, store, passphrase)

    @classmethod
    async def _new_device(cls, transport: Transport, session: dict[str, Any],
                          store: str | Path, passphrase: str,
                          durable: bool = True) -> Client:
        transport.token = session["access_token"]
        if Path(store).exists():
            await transport.close()
            raise ClientError(f"{store} already exists; use Client.open, or another file "
                              "for a new device")
        st = Store.open(store, passphrase, durable=durable)
        identity = DeviceIdentity.generate()
        account = {**session, "base_url": transport.base_url}
        with st.batch():
            st.put_secret("identity", identity.to_bytes())
            st.put_json("account", account)
        client = cls(transport, st, identity, account)
        await client._refresh_account()
        await client._upload_initial_keys()
        return client

    async def _refresh_account(self) -> None:
        info = await self.transport.account()
        self.role = info["role"]
        self.business = info.get("business", "")
        self.speaks_as = info.get("speaks_as", self.address)
        account = self.store.get_json("account") or {}
        account.update(role=self.role, business=self.business, speaks_as=self.speaks_as)
        self.store.put_json("account", account)

    @property
    def http(self) -> HttpTransport:
        """The HTTP transport (media, WebSocket, business routes need the client API)."""
        if not isinstance(self.transport, HttpTransport):
            raise ClientError("this device has no HTTP connection to its node")
        return self.transport

    async def close(self) -> None:
        await self.transport.close()
        self.store.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def logout(self) -> None:
        """End this device on the node (its keys and queue are dropped there)."""
        await self.transport.logout()

    # ----- keys -----------------------------------------------------------------------

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

    async def _upload_initial_keys(self) -> None:
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

    # ----- sending --------------------------------------------------------------------

    async def send_text(self, to: str, text: str, **extra: Any) -> Message:
        """Send a text message to an account (a person or a business)."""
        return await self.send(to, {"type": "text", "body": text, **extra})

    async def send_media(self, to: str, data: bytes, *, name: str = "",
                         mime: str = "application/octet-stream",
                         caption: str = "") -> Message:
        """Encrypt ``data`` with a fresh key, upload the ciphertext, send the key."""
        if len(data) > MAX_MEDIA:
            raise ContentError("media is limited to 2 GiB")
        ciphertext, key = encrypt_media(data)
        uploaded = await self.http.upload_media(ciphertext)
        if uploaded["media_id"] != key.media_id:
            raise VerificationError("the node stored the media under another hash")
        return await self.send(to, {"type": "media", "media_id": uploaded["media_id"],
                                    "server": self.address.partition("@")[2],
                                    **key.to_json(), "name": name, "mime": mime,
                                    "caption": caption})

    async def send_media_file(self, to: str, path: str | Path, *, name: str | None = None,
                              mime: str = "application/octet-stream",
                              caption: str = "") -> Message:
        """Like ``send_media`` for a file of any size: read, encrypted and uploaded in
        64 KiB chunks, never whole in memory."""
        path = Path(path)
        if path.stat().st_size > MAX_MEDIA:
            raise ContentError("media is limited to 2 GiB")
        stream = encrypt_chunks(_file_chunks(path))

        async def body() -> AsyncIterator[bytes]:
            for part in stream:
                yield part

        uploaded = await self.http.upload_media_stream(body())
        key = stream.media_key()
        if uploaded["media_id"] != key.media_id:
            raise VerificationError("the node stored the media under another hash")
        return await self.send(to, {"type": "media", "media_id": uploaded["media_id"],
                                    "server": self.address.partition("@")[2],
                                    **key.to_json(), "name": name or path.name, "mime": mime,
                                    "caption": caption})

    async def save_media(self, message: Message, path: str | Path) -> int:
        """Download, check and decrypt a message's media into the new file ``path`` in
        chunks; returns the plaintext size. Nothing is left behind when a check fails."""
        key, server = self._media_key(message)
        path = Path(path)
        encrypted = path.with_name(f".{path.name}.{secrets.token_hex(6)}.download")
        created = False
        try:
            await self.http.download_media_to(message.content["media_id"], encrypted,
                                                   key.ciphertext_size, server)
            written = 0
            with open(path, "xb") as out:
                created = True
                for plain in decrypt_chunks(_file_chunks(encrypted), key):
                    out.write(plain)
                    written += len(plain)
            return written
        except BaseException as exc:
            if created:  # no partial plaintext stays behind
                path.unlink(missing_ok=True)
            if isinstance(exc, CryptoError):
                raise VerificationError(f"media does not check: {exc}") from None
            raise
        finally:
            encrypted.unlink(missing_ok=True)

    def _media_key(self, message: Message) -> tuple[MediaKey, str | None]:
        """The key of a media message, and the server to fetch it from (None: ours)."""
        c = message.content
        if message.type != "media":
            raise ContentError("this message carries no media")
        try:
            key = MediaKey.from_json({k: c.get(k) for k in ("alg", "key", "sha256", "size")})
        except CryptoError as exc:
            raise ContentError(f"bad media reference: {exc}") from None
        if key.media_id != c["media_id"]:
            raise VerificationError("the media id does not match the media's hash")
        here = self.address.partition("@")[2]
        server = c.get("server", message.sender.partition("@")[2])
        if server != message.sender.partition("@")[2]:
            # Media lives on its sender's node; a message may not send our node elsewhere.
            raise VerificationError("the media is not on its sender's server")
        return key, None if server == here else server

    async def download_media(self, message: Message) -> bytes:
        """Fetch, check and decrypt the media a message refers to, in memory (see
        ``save_media`` for large files)."""
        key, server = self._media_key(message)
        data = await self.http.download_media(message.content["media_id"],
                                                   limit=key.ciphertext_size, server=server)
        try:
            return decrypt_media(data, key)
        except CryptoError as exc:
            raise VerificationError(f"media does not check: {exc}") from None

    async def mark_read(self, message: Message) -> None:
        """Tell the sender's devices (end-to-end) that this message was read. On a team
        device the receipt goes out as the business, reaches the rest of the team too,
        and the business node counts the customer's messages up to this one as read for
        the whole team (its ``unread``, and ``read_by_team`` in the statistics)."""
        self.store.mark(message.message_id, "read")
        if message.outgoing:
            return
        await self.send(message.peer, {"type": "receipt", "receipt": "read",
                                       "message_ids": [message.message_id]},
                        remember=False)
        if self.speaks_as != self.address and message.to == self.speaks_as:
            await self.http.request(
                "POST", f"/business/conversations/{quote(message.peer)}/read",
                {"message_id": message.message_id})

    async def send(self, to: str, content: dict[str, Any], *,
                   remember: bool = True) -> Message:
        """Encrypt ``content`` for every device that must get it and send it."""
        sender = await self._sender_for(to)
        content = {**content, "from": sender, "to": to}
        plaintext = contents.encode(content)
        txn_id = "t" + secrets.token_urlsafe(16)
        async with self._send_lock:
            answer = await self._send_with_retries(txn_id, sender, to, plaintext)
        message = Message(answer["message_id"], sender, self.device_id, to, to, answer["ts"],
                          content, outgoing=True)
        if remember:  # (its own small transaction, after the sessions' one)
            self.store.add_message(message.message_id, to, sender, self.device_id, True,
                                   message.ts, content)
        return message

    async def _sender_for(self, to: str) -> str:
        """A team member speaks as the business to everyone outside the team."""
        if self.speaks_as == self.address or to == self.speaks_as:
            return self.address
        team = {entry.get("account") for entry in await self._device_entries(self.speaks_as)}
        return self.address if to in team else self.speaks_as

    async def _send_with_retries(self, txn_id: str, sender: str, to: str,
                                 plaintext: bytes) -> dict[str, Any]:
        targets = await self._targets(sender, to)
        for _ in range(SEND_ATTEMPTS):
            fresh = await self._claim_missing(targets)
            envelopes = self._encrypt_and_persist(targets, fresh, plaintext)
            try:
                return await self.transport.send(txn_id, sender, to, envelopes)
            except ApiError as err:
                if err.code != "DEVICE_MISMATCH":
                    raise
                targets = self._apply_mismatch(targets, err.details)
        raise DeliveryError(f"the devices of {to} kept changing; try again")

    async def _targets(self, sender: str, to: str) -> dict[str, set[str]]:
        """Address -> device ids the message must be encrypted for."""
        targets: dict[str, set[str]] = {}
        for address in {to, sender}:
            devices = {d["device_id"] for d in await self._device_entries(address)}
            devices.discard(self.device_id)
            if devices:
                targets[address] = devices
        if to in targets and sender in targets and to != sender:
            targets[sender] -= targets[to]
        return {a: d for a, d in targets.items() if d}

    async def _device_entries(self, address: str) -> list[dict[str, Any]]:
        """The device list of ``address``, cached for DEVICE_LIST_TTL seconds (a 409 on
        send corrects a stale list)."""
        cached = self._device_lists.get(address)
        if cached is not None and time.monotonic() - cached[0] < DEVICE_LIST_TTL:
            return cached[1]
        entries = await self.transport.devices(address)
        self._device_lists[address] = (time.monotonic(), entries)
        return entries

    def _apply_mismatch(self, targets: dict[str, set[str]], details: dict[str, Any]
                        ) -> dict[str, set[str]]:
        for address in set(details.get("extra") or {}) | set(details.get("missing") or {}):
            self._device_lists.pop(address, None)
        out = {a: set(d) for a, d in targets.items()}
        for address, ids in (details.get("extra") or {}).items():
            out.get(address, set()).difference_update(ids)
        for address, ids in (details.get("missing") or {}).items():
            out.setdefault(address, set()).update(ids)
        return {a: d for a, d in out.items() if d}

    async def _claim_missing(self, targets: dict[str, set[str]]
                             ) -> dict[tuple[str, str], Session]:
        """New sessions (X3DH over claimed bundles) for target devices that have none."""
        fresh: dict[tuple[str, str], Session] = {}
        for address, device_ids in targets.items():
            need = sorted(d for d in device_ids if self.store.get_session(address, d) is None)
            if need:
                for device_id, session in (await self._start_sessions(address, need)).items():
                    fresh[(address, device_id)] = session
        return fresh

    def _encrypt_and_persist(self, targets: dict[str, set[str]],
                             fresh: dict[tuple[str, str], Session],
                             plaintext: bytes) -> dict[str, dict[str, str]]:
        """Encrypt for every target device and store the advanced sessions in one local
        transaction, before anything is sent. Nothing here awaits, so a message being
        received at the same time cannot interleave and lose a session update; a session
        that advanced for a message that then failed to send only makes the peer skip a
        message key."""
        envelopes: dict[str, dict[str, str]] = {}
        with self.store.batch():
            for address, device_ids in targets.items():
                for device_id in sorted(device_ids):
                    state = self.store.get_session(address, device_id)
                    if state is not None:  # also when the peer started one meanwhile
                        session = Session.from_bytes(state)
                    elif (address, device_id) in fresh:
                        session = fresh[(address, device_id)]
                    else:
                        continue  # the device has no keys any more; a 409 will say
                    envelopes.setdefault(address, {})[device_id] = b64encode(
                        session.encrypt(plaintext))
                    self.store.put_session(address, device_id, session.to_bytes())
        return envelopes

    async def _start_sessions(self, address: str, device_ids: list[str]) -> dict[str, Session]:
        """Claim prekey bundles, verify them, start sessions (X3DH)."""
        sessions = {}
        for entry in await self.transport.claim(address, device_ids):
            try:
                bundle = verify_bundle({k: v for k, v in entry.items() if k != "account"},
                                       self._keys_owner(address, entry))
            except CryptoError as exc:
                raise VerificationError(f"{address} device {entry.get('device_id')}: "
                                        f"bad keys ({exc})") from None
            self._trust_on_first_use(address, entry["device_id"], bundle.device)
            sessions[entry["device_id"]] = Session.initiate(self.identity, bundle)
        return sessions

    @staticmethod
    def _keys_owner(address: str, entry: dict[str, Any]) -> str:
        """Whose keys a listed device holds: a team member's, for a business address."""
        owner = entry.get("account", address)
        if not isinstance(owner, str) or owner.partition("@")[2] != address.partition("@")[2]:
            raise VerificationError(f"a device listed for {address} belongs to another server")
        return owner

    def _trust_on_first_use(self, address: str, device_id: str, keys: DeviceKeys) -> None:
        """Pin the device's two identity keys (Ed25519 and X25519) on first sight; a
        device whose keys later differ is refused."""
        pinned = b64encode(keys.signing_key + keys.identity_key)
        known = self.store.device_key(address, device_id)
        if known is not None and len(b64decode(known[0])) == 32 \
                and secrets.compare_digest(b64decode(known[0]), keys.signing_key):
            self.store.upgrade_device_key(address, device_id, pinned)  # older 32-byte pin
        previous = self.store.remember_device(address, device_id, pinned)
        if previous is not None:
            raise VerificationError(f"the identity key of {address} device {device_id} "
                                    "changed; refusing it (the device must log in anew)")

    # ----- receiving ------------------------------------------------------------------

    async def sync_once(self, timeout_ms: int = 0) -> list[Message | Receipt]:
        """Fetch what is waiting (waiting up to ``timeout_ms``), decrypt, store, ack."""
        async with self._recv_lock:
            batch = await self.transport.sync(self._position(), timeout_ms)
            items = await self._process(batch["events"], batch["next"])
            if batch["events"]:
                await self.transport.ack(batch["next"])
        return items

    async def events(self, *, websocket: bool = True,
                     poll_timeout_ms: int = 25_000) -> AsyncIterator[Message | Receipt]:
        """Messages and receipts as they arrive, forever: over a WebSocket when possible,
        else by long-poll; reconnects by itself. Stop by breaking out of the loop."""
        delay = 0.5
        while True:
            try:
                if websocket:
                    async for item in self._websocket_events():
                        delay = 0.5
                        yield item
                else:
                    for item in await self.sync_once(poll_timeout_ms):
                        delay = 0.5
                        yield item
                    continue
            except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
                log.info("connection to the node lost (%s); retrying in %.1fs", exc, delay)
            for item in await self._sync_quietly():
                yield item
            await asyncio.sleep(delay)  # reconnect backoff, not synchronisation
            delay = min(delay * 2, 30.0)

    async def _sync_quietly(self) -> list[Message | Receipt]:
        try:
            return await self.sync_once(0)
        except (TimeoutError, aiohttp.ClientError, ConnectionError):
            return []

    async def messages(self, **kwargs: Any) -> AsyncIterator[Message]:
        """Only the incoming and synced messages (receipts are applied to the store)."""
        async for item in self.events(**kwargs):
            if isinstance(item, Message):
                yield item

    async def _websocket_events(self) -> AsyncIterator[Message | Receipt]:
        async for batch in self.http.websocket(self._position()):
            if batch.get("type") != "events":
                continue
            async with self._recv_lock:
                items = await self._process(batch["events"], batch["next"])
                if batch["events"] and not await self.http.ws_ack(batch["next"]):
                    await self.transport.ack(batch["next"])
            for item in items:
                yield item

    def _position(self) -> int:
        return self.store.get_json("position") or 0

    def _set_position(self, pos: int) -> None:
        self.store.put_json("position", pos)

    async def _process(self, events: list[dict[str, Any]],
                       next_pos: int) -> list[Message | Receipt]:
        """Decrypt and store a batch, and the new position, in one local transaction (so
        it is on disk before the node is told to drop it). Network lookups happen first:
        nothing inside the transaction awaits, so no other task's writes can join it."""
        await self._learn_senders(events)
        with self.store.batch():
            out, used_prekey = self._process_events(events)
            if events:
                self._set_position(next_pos)
        if used_prekey:
            with contextlib.suppress(ApiError, aiohttp.ClientError):
                await self.top_up_prekeys()
        if self.speaks_as != self.address:  # a team device reports to the business node
            for item in out:
                if isinstance(item, Message) and item.type == "order" and not item.outgoing \
                        and item.to == self.speaks_as:
                    await self._record_order(item)
                elif isinstance(item, Receipt) and item.kind == "read" \
                        and item.by != self.speaks_as:
                    await self._report_customer_read(item)
        return out

    async def _report_customer_read(self, receipt: Receipt) -> None:
        """A customer read the business's messages: tell the business node, for its
        statistics (the node cannot see read receipts, they are end to end)."""
        up_to = self.store.latest_ts(receipt.message_ids, peer=receipt.by)
        if up_to is None:
            return
        with contextlib.suppress(ApiError, aiohttp.ClientError):
            await self.http.request(
                "POST", f"/business/conversations/{quote(receipt.by)}/customer-read",
                {"up_to_ms": up_to})

    async def _record_order(self, message: Message) -> None:
        """A team device records a customer's order on the business node, which prices
        it from its own catalog; the message is annotated with the outcome."""
        c = message.content
        body = {"conversation": message.sender, "order_id": c["order_id"],
                "items": c["items"]}
        for key in ("total_minor", "currency"):
            if key in c:
                body[key] = c[key]
        try:
            message.annotations["order"] = await self.http.request(
                "POST", "/business/orders", body)
        except ApiError as err:
            if err.code == "ORDER_EXISTS":  # another team device recorded it first
                existing = await self.http.request(
                    "GET", f"/business/orders/{quote(c['order_id'])}")
                if existing.get("conversation") == message.sender:
                    message.annotations["order"] = existing
                else:
                    message.annotations["order_error"] = {"code": "ORDER_ID_TAKEN"}
            else:
                message.annotations["order_error"] = {"code": err.code,
                                                      "message": err.message,
                                                      **err.details}
        except aiohttp.ClientError as exc:
            message.annotations["order_error"] = {"code": "UNREACHABLE", "message": str(exc)}

    async def _learn_senders(self, events: list[dict[str, Any]]) -> None:
        """Fetch the published identity of every unknown device starting a session."""
        for event in events:
            if event.get("type") != "message":
                continue
            sender, device = event.get("sender"), event.get("sender_device")
            if self._pinned(sender, device) is not None:
                continue
            try:
                if peek_prekey(b64decode(event["ciphertext"])) is not None:
                    await self._learn_device(sender, device)
            except (CryptoError, VerificationError, ApiError, KeyError, TypeError) as exc:
                log.info("cannot learn the identity of %s/%s: %s", sender, device, exc)

    def _process_events(self, events: list[dict[str, Any]]
                        ) -> tuple[list[Message | Receipt], bool]:
        out: list[Message | Receipt] = []
        used_prekey = False
        for event in events:
            if event.get("pos", 0) <= self._position():
                continue  # already stored before an acknowledgement was lost
            kind = event.get("type")
            if kind == "receipt":
                receipt = _delivery_receipt(event)
                if receipt is None:
                    log.warning("dropped a malformed receipt event at %s", event.get("pos"))
                    continue
                self.store.mark(receipt.message_ids[0], "delivered")
                out.append(receipt)
            elif kind == "message":
                item, prekey = self._decrypt_event(event)
                used_prekey |= prekey
                if item is not None:
                    out.append(item)
            elif kind == "failed":
                log.warning("message %s was not delivered: %s", event.get("message_id"),
                            event.get("reason"))
        return out, used_prekey

    def _decrypt_event(self, event: dict[str, Any]) -> tuple[Message | Receipt | None, bool]:
        sender, device = event.get("sender"), event.get("sender_device")
        try:
            if not isinstance(sender, str) or not isinstance(device, str):
                raise ContentError("event without sender")
            wire = b64decode(event["ciphertext"])
            plaintext, session, prekey = self._open(sender, device, wire)
        except (CryptoError, ContentError, VerificationError, KeyError, TypeError) as exc:
            self.undecryptable += 1
            log.warning("dropped message %s from %s/%s: %s", event.get("message_id"),
                        sender, device, exc)
            return None, False
        # The session advanced: keep it whatever the content turns out to be, so that a
        # message we cannot use does not break the conversation (or allow a replay).
        self.store.put_session(sender, device, session.to_bytes())
        try:
            content = contents.decode(plaintext)
            if content["from"] != sender or content["to"] != event.get("to"):
                raise ContentError("the message names another conversation")
        except ContentError as exc:
            self.undecryptable += 1
            log.warning("dropped message %s from %s/%s: %s", event.get("message_id"),
                        sender, device, exc)
            return None, prekey
        if content["type"] == "receipt":
            for message_id in content["message_ids"]:
                self.store.mark(message_id, "read")
            return Receipt("read", tuple(content["message_ids"]), sender, device,
                           event["ts"]), prekey
        mine = {self.address, self.speaks_as}
        peer = event["to"] if sender in mine else sender
        message = Message(event["message_id"], sender, device, event["to"], peer, event["ts"],
                          content, outgoing=sender in mine)
        self.store.add_message(message.message_id, peer, sender, device, message.outgoing,
                               message.ts, content)
        return message, prekey

    def _open(self, sender: str, device: str, wire: bytes) -> tuple[bytes, Session, bool]:
        """Decrypt with the existing session, or accept a new one from a prekey message."""
        state = self.store.get_session(sender, device)
        info = peek_prekey(wire)
        if state is not None:
            session = Session.from_bytes(state)
            if info is None or session.matches_prekey(info):
                return session.decrypt(wire), session, False
        if info is None:
            raise VerificationError("no session with this device and no prekey message")
        # A prekey message starting a session: refuse one we accepted before (a replay),
        # then check it comes from the device's published identity.
        if self.store.seen_handshake(info.ephemeral_key):
            raise VerificationError("this session start was already used (a replay)")
        pinned = self._pinned(sender, device)  # learnt by _learn_senders
        if pinned is None:
            raise VerificationError(f"{sender} has no published device {device}")
        # Both identity keys must be the device's: X3DH rests on the X25519 one, and a
        # node that swapped it could otherwise start a session in the device's name.
        if not (secrets.compare_digest(pinned[0], info.initiator_signing_key)
                and secrets.compare_digest(pinned[1], info.initiator_identity_key)):
            raise VerificationError("the prekey message is not from the device's published "
                                    "identity")
        spk = self.store.get_prekey(info.signed_prekey_id)
        if spk is None:
            raise VerificationError("unknown signed prekey")
        otk = None
        if info.one_time_prekey_id is not None:
            secret = self.store.get_prekey(info.one_time_prekey_id)
            if secret is None:
                raise VerificationError("one-time prekey already used or unknown")
            otk = X25519Key.from_private(secret)
        session, plaintext = Session.accept(self.identity, X25519Key.from_private(spk), otk,
                                            wire)
        if info.one_time_prekey_id is not None:
            self.store.delete_prekey(info.one_time_prekey_id)
        self.store.remember_handshake(info.ephemeral_key)
        return plaintext, session, True

    def _pinned(self, address: str, device_id: str) -> tuple[bytes, bytes] | None:
        """The (Ed25519, X25519) identity keys pinned for a device, if any."""
        known = self.store.device_key(address, device_id)
        if known is None:
            return None
        both = b64decode(known[0])
        if len(both) == 32:  # pinned by an SDK that kept only the Ed25519 key
            return None  # _learn_device re-fetches and upgrades it if that key matches
        if len(both) != 64:
            raise VerificationError(f"damaged key record for {address}/{device_id}")
        return both[:32], both[32:]

    async def _learn_device(self, address: str, device_id: str) -> tuple[bytes, bytes]:
        """The device's pinned identity keys, fetched and pinned on first sight."""
        pinned = self._pinned(address, device_id)
        if pinned is not None:
            return pinned
        for entry in await self.transport.devices(address):
            if entry.get("device_id") == device_id:
                keys = verify_device_keys(entry["device_keys"],
                                          self._keys_owner(address, entry), device_id)
                self._trust_on_first_use(address, device_id, keys)
                return keys.signing_key, keys.identity_key
        raise VerificationError(f"{address} has no device {device_id}")

    # ----- business -------------------------------------------------------------------

    async def business_profile(self, business: str, *,
                               nameserver: tuple[str, int] | None = None) -> BusinessDocument:
        """The signed profile of ``business`` (an address or server name), checked;
        ``.verified`` when its node key is pinned in the business's DNS, looked up at
        ``nameserver``, else the client's ``dns_nameserver``, else the system's resolver.
        VerificationError when a check fails; ApiError when it cannot be fetched."""
        return await self._business_document(business, "profile", nameserver)

    async def business_catalog(self, business: str, *,
                               nameserver: tuple[str, int] | None = None) -> BusinessDocument:
        """The signed product catalog of ``business``, verified like the profile."""
        return await self._business_document(business, "catalog", nameserver)

    async def _business_document(self, business: str, kind: str,
                                 nameserver: tuple[str, int] | None) -> BusinessDocument:
        server = business.partition("@")[2] or business
        answer = await self.http.request("GET", f"/directory/{quote(server)}/{kind}")
        return await check_business_document(answer, server, kind,
                                             nameserver or self.dns_nameserver)

    async def business_image(self, business: str, media_id: str,
                             limit: int = 16 * 1024 * 1024) -> bytes:
        """A public image of a business (its profile's logo, a product's image): plain
        bytes stored on the business's node, fetched through this device's node, which
        checks them against their id (the SHA-256 of the bytes)."""
        server = business.partition("@")[2] or business
        here = self.address.partition("@")[2]
        data = await self.http.download_media(media_id, limit,
                                                   None if server == here else server)
        if not secrets.compare_digest(b64encode(hashlib.sha256(data).digest()), media_id):
            raise VerificationError("the image does not match its id (its hash)")
        return data

    async def send_product(self, to: str, sku: str, catalog: str | None = None) -> Message:
        """Share a product of a catalog (by default the business this device answers
        for, else the recipient's) as a message the other side can open."""
        server = catalog or (self.speaks_as if self.speaks_as != self.address else to)
        return await self.send(to, {"type": "product", "sku": sku,
                                    "catalog": server.partition("@")[2] or server})

    async def open_product(self, message: Message, *,
                           nameserver: tuple[str, int] | None = None) -> dict[str, Any]:
        """The catalog entry a product message refers to, from the business's signed
        (and checked) catalog; ``["verified"]`` says whether the catalog is DNS-pinned."""
        if message.type != "product":
            raise ContentError("this message refers to no product")
        catalog = await self.business_catalog(message.content["catalog"],
                                              nameserver=nameserver)
        for product in catalog["products"]:
            if product.get("sku") == message.content["sku"]:
                return {**product, "verified": catalog.verified}
        raise ContentError(f"{message.content['catalog']} no longer offers "
                           f"{message.content['sku']}")

    async def send_order(self, business: str, items: list[tuple[str, int]], *,
                         order_id: str | None = None, total_minor: int | None = None,
                         currency: str | None = None) -> Message:
        """Order ``[(sku, quantity), ...]`` from ``business``. A claimed total, when
        given, is checked by the business against its catalog."""
        content: dict[str, Any] = {
            "type": "order", "order_id": order_id or "o" + secrets.token_hex(8),
            "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items]}
        if total_minor is not None:
            content["total_minor"] = total_minor
        if currency is not None:
            content["currency"] = currency
        return await self.send(business, content)

    async def send_order_status(self, customer: str, order_id: str, status: str) -> Message:
        """(Team) Move an order to ``status`` on the business node and tell the customer."""
        await self.http.request("PATCH", f"/business/orders/{quote(order_id)}",
                                     {"status": status})
        return await self.send(customer, {"type": "order_status", "order_id": order_id,
                                          "status": status})

    async def update_business_profile(self, **fields: Any) -> dict[str, Any]:
        """(Admin) Change profile fields (name, description, category, postal_address,
        website, email, phone, logo, timezone, hours, exceptions); docs/business.md."""
        return await self.http.request("PUT", "/business/profile", fields)

    async def set_automation(self, **settings: dict[str, Any]) -> dict[str, Any]:
        """(Admin) ``greeting={...}``, ``away={...}``: enable, text, days of silence,
        manual away switch."""
        return await self.http.request("PUT", "/business/automation", settings)

    async def save_product(self, sku: str, **fields: Any) -> dict[str, Any]:
        """(Admin) Create the product ``sku`` or change the given fields of it."""
        try:
            return await self.http.request("PATCH", f"/business/products/{quote(sku)}",
                                                fields)
        except ApiError as err:
            if err.status != 404:
                raise
        return await self.http.request("POST", "/business/products",
                                            {"sku": sku, **fields})

    async def save_quick_reply(self, shortcut: str, text: str) -> dict[str, Any]:
        """(Admin) Create or replace a quick reply."""
        try:
            return await self.http.request(
                "PUT", f"/business/quick-replies/{quote(shortcut.lstrip('/'))}",
                {"text": text})
        except ApiError as err:
            if err.status != 404:
                raise
        return await self.http.request("POST", "/business/quick-replies",
                                            {"shortcut": shortcut, "text": text})

    async def inbox(self, **filters: str | int) -> list[dict[str, Any]]:
        """(Team) Conversations of the business, newest activity first; filters:
        status, label (id), assignee, kind, limit, cursor."""
        answer = await self.http.request("GET", "/business/conversations",
                                              params={k: str(v) for k, v in filters.items()})
        return answer["conversations"]

    async def quick_replies(self) -> dict[str, str]:
        """(Team) The business's quick replies: shortcut -> text with placeholders."""
        answer = await self.http.request("GET", "/business/quick-replies")
        items = answer.get("quick_replies", answer) if isinstance(answer, dict) else answer
        return {q["shortcut"]: q["text"] for q in items}

    async def send_quick_reply(self, to: str, shortcut: str, **values: str) -> Message:
        """(Team) Send the quick reply ``shortcut`` to the customer ``to`` with every
        placeholder filled in: the business's fields from its profile, the customer's
        from their address, ``agent_name`` from this account, the order ones from the
        conversation's latest order, the date; ``values`` override any of them
        (``customer_name="Carl"``)."""
        replies = await self.quick_replies()
        if shortcut not in replies and "/" + shortcut in replies:
            shortcut = "/" + shortcut
        if shortcut not in replies:
            raise ClientError(f"no quick reply {shortcut!r}; known: {', '.join(replies)}")
        text = replies[shortcut]
        filled = await self._placeholder_values(to, text)
        return await self.send_text(to, placeholders.expand(text, {**filled, **values}))

    async def _placeholder_values(self, customer: str, text: str) -> dict[str, str]:
        """The values of every placeholder for a text to ``customer`` (team devices)."""
        profile = await self.http.request("GET", "/business/profile")
        order = None
        if placeholders.placeholders_in(text) & placeholders.ORDER_PLACEHOLDERS:
            try:
                orders = (await self.http.request(
                    "GET", f"/business/conversations/{quote(customer)}/orders"))["orders"]
            except ApiError as err:
                if err.status != 404:
                    raise
                orders = []
            order = orders[-1] if orders else None
        return placeholders.values_for(
            profile=profile, business_address=self.speaks_as, customer=customer,
            agent_name=placeholders.display_name(self.address), order=order,
            now_ms=_now_ms())

    # ----- history and verification ---------------------------------------------------

    def conversations(self) -> list[dict[str, Any]]:
        """Peers with their last activity, message count and unread count."""
        return self.store.conversations()

    def history(self, peer: str, limit: int = 50) -> list[dict[str, Any]]:
        return self.store.history(peer, limit)

    async def safety_numbers(self, address: str) -> dict[str, str]:
        """Device id -> safety number of ``address``'s devices with this device.

        Read them out of band (in person, by phone); if they match, call ``verify``."""
        out = {}
        for entry in await self.transport.devices(address):
            keys = verify_device_keys(entry["device_keys"], self._keys_owner(address, entry),
                                      entry["device_id"])
            self._trust_on_first_use(address, entry["device_id"], keys)
            out[entry["device_id"]] = fp.safety_number(
                self.address, self.identity.signing.public_key, keys.address, keys.signing_key)
        return out

    async def verify(self, address: str, device_id: str, safety_number: str) -> bool:
        """Mark the device verified when ``safety_number`` matches; False otherwise."""
        numbers = await self.safety_numbers(address)
        expected = numbers.get(device_id)
        ok = expected is not None and secrets.compare_digest(
            expected.replace(" ", ""), safety_number.replace(" ", ""))
        if ok:
            self.store.set_verified(address, device_id)
        return ok

    def is_verified(self, address: str, device_id: str) -> bool:
        known = self.store.device_key(address, device_id)
        return bool(known and known[1])


def _file_chunks(path: Path, size: int = 256 * 1024) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(size):
            yield chunk


def _delivery_receipt(event: dict[str, Any]) -> Receipt | None:
    """A delivered receipt from a node event, or None when the event is malformed."""
    fields = [event.get(k) for k in ("message_id", "by", "device")]
    ts = event.get("ts")
    if not all(isinstance(f, str) for f in fields) or not isinstance(ts, int):
        return None
    message_id, by, device = fields
    return Receipt("delivered", (message_id,), by, device, ts)


def _now_ms() -> int:
    return int(time.time() * 1000)
