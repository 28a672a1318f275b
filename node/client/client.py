"""The SDK's ``Client``: an account's device that does all the cryptography itself.

The node only ever sees ciphertext. A ``Client`` keeps the device's identity, prekeys
and one Double Ratchet session per peer device in a passphrase-protected local store
(``store``). Its core is small: creating and opening a device, sending
(``sending``), receiving (``receiving``: every stored event handed over exactly once)
and the local history. The rest lives in namespaces:

- ``client.devices``: prekeys, pinned peer keys, safety numbers;
- ``client.media``: encrypted files;
- ``client.business``: businesses' verified profiles and catalogs, products, orders;
- ``client.team``: a team member's inbox, assignment, labels, notes, quick replies,
  and the explicit reports of what a customer's app sent (orders, read receipts);
- ``client.admin``: the business's settings (profile, automation, catalog, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from ssl import SSLContext
from typing import Any

from crypto.identity import DeviceIdentity
from node.client import content as contents
from node.client.admin import Admin
from node.client.business import BusinessApi, parse_nameserver
from node.client.content import Content, ReadReceipt, Text
from node.client.devices import Devices
from node.client.errors import (
    ClientError,
    DeviceRevoked,
)
from node.client.history import Archive
from node.client.media import Media
from node.client.models import (
    Account,
    Event,
    HistoryPage,
    Message,
    message_from_row,
    parse_cursor,
)
from node.client.receiving import Receiver
from node.client.sending import Sender, new_txn_id
from node.client.store import Store
from node.client.streaming import Streaming
from node.client.team import Team
from node.client.transport import HttpTransport, Transport

log = logging.getLogger("kontor.client")


class Client(Streaming):
    """One device of one account. Create with ``register``, ``login`` or ``open``."""

    def __init__(self, transport: Transport, store: Store, identity: DeviceIdentity,
                 account: Account) -> None:
        self.transport, self.store, self.identity, self.account = (transport, store,
                                                                    identity, account)
        self.devices = Devices(transport, store, identity, account.address,
                               account.device_id)
        self._sender = Sender(transport, store, self.devices, account)
        self._receiver = Receiver(transport, store, identity, self.devices, account)
        self._recv_lock = asyncio.Lock()
        self._closed = asyncio.Event()
        #: True once the node revoked this device and its store was wiped.
        self.wiped = False
        #: The DNS server that business key pins are looked up at (None: the system's).
        self.dns_nameserver: tuple[str, int] | None = None
        self.media = Media(self)
        self.business = BusinessApi(self)
        self.team = Team(self)
        self.admin = Admin(self)
        self.archive = Archive(self)
        if isinstance(transport, HttpTransport):  # (not the node's automation device)
            transport.on_revoked = self._revoked
            self._receiver.on_other = self.archive.on_event
            self._receiver.on_message = self.archive.note
            self._receiver.after_batch = self.archive.after_batch

    @property
    def address(self) -> str:
        return self.account.address

    @property
    def device_id(self) -> str:
        return self.account.device_id

    @property
    def role(self) -> str:
        return self.account.role

    @property
    def speaks_as(self) -> str:
        """The address this device writes as: the business's, for a team member."""
        return self.account.speaks_as

    @property
    def undecryptable(self) -> int:
        """How many received messages could not be decrypted or used (dropped)."""
        return self._receiver.undecryptable

    @property
    def resyncs(self) -> int:
        """How many times the node's stream restarted (it was restored from a backup)
        while this client ran; each time it resynced by itself."""
        return self._receiver.resyncs

    @property
    def http(self) -> HttpTransport:
        """The HTTP transport (media, WebSocket, business routes need the client API)."""
        if not isinstance(self.transport, HttpTransport):
            raise ClientError("this device has no HTTP connection to its node")
        return self.transport

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
        nameserver = parse_nameserver(dns_nameserver)
        transport = HttpTransport(base_url, ssl=ssl)
        try:
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
        nameserver = parse_nameserver(dns_nameserver)
        transport = HttpTransport(base_url, ssl=ssl)
        try:
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
        st, saved, identity = _open_store(store, passphrase, durable)
        transport = HttpTransport(saved["base_url"], saved["access_token"], ssl=ssl)
        client = cls(transport, st, identity, Account.from_json(saved))
        client.dns_nameserver = nameserver
        try:
            await client._refresh_account()
        except DeviceRevoked:  # revoked while it was away: the store is wiped now
            await transport.close()
            raise
        except ClientError:
            pass  # offline: the stored account will do
        return client

    @classmethod
    async def open_with(cls, transport: Transport, store: str | Path,
                        passphrase: str) -> Client:
        """Reopen a device from its store over a given transport (the node's own
        automation device uses an in-process one)."""
        st, saved, identity = _open_store(store, passphrase, True)
        client = cls(transport, st, identity, Account.from_json(saved))
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
        saved = {**session, "base_url": transport.base_url}
        with st.batch():
            st.put_secret("identity", identity.to_bytes())
            st.put_json("account", saved)
        client = cls(transport, st, identity, Account.from_json(saved))
        await client._refresh_account()
        await client.devices.upload_initial_keys()
        if isinstance(transport, HttpTransport):  # the first device starts the history
            with contextlib.suppress(ClientError):
                await client.archive.start()
        return client

    async def _refresh_account(self) -> None:
        info = await self.transport.account()
        self.account.role = info["role"]
        self.account.business = info.get("business", "")
        self.account.speaks_as = info.get("speaks_as", self.address)
        saved = self.store.get_json("account") or {}
        saved.update(role=self.account.role, business=self.account.business,
                     speaks_as=self.account.speaks_as)
        self.store.put_json("account", saved)

    async def close(self) -> None:
        """Upload the history copies that wait, then close the connection and the
        store; a running ``events()`` ends. The connection and the store are closed
        even when the upload fails or ``close`` is cancelled."""
        try:
            if isinstance(self.transport, HttpTransport) and not self._closed.is_set():
                await self.archive.uploader.close()  # (not once closed, or wiped)
        finally:
            self._closed.set()
            try:
                await self.transport.close()
            finally:
                if not self.wiped:
                    self.store.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def logout(self) -> None:
        """End this device on the node (its keys and queue are dropped there)."""
        await self.transport.logout()

    # ----- sending --------------------------------------------------------------------

    async def send_text(self, to: str, text: str, *, txn_id: str | None = None) -> Message:
        """Send a text message to an account (a person or a business)."""
        return await self.send(to, Text(text), txn_id=txn_id)

    @staticmethod
    def new_txn_id() -> str:
        """A transaction id for ``send(..., txn_id=)``: an app that retries a send whose
        answer it never got (ConnectionFailed, 5xx, 429) passes the same one each time."""
        return new_txn_id()

    async def send(self, to: str, content: Content, *, txn_id: str | None = None) -> Message:
        """Encrypt ``content`` for every device that must get it and send it.
        DeliveryFailed when it cannot be sent; ApiError, ConnectionFailed.

        ``txn_id`` (``new_txn_id()``) makes retries safe: when an earlier call with it
        got no answer, this one sends the envelopes that call stored (whatever
        ``content`` is now), and the node answers with the message it stored then; a
        message is never sent twice. Without one, every call is a new message."""
        if txn_id and (resent := await self.resend(txn_id)) is not None:
            return resent
        sender = await self._sender.sender_for(to)
        return await self._sent(sender, to, contents.encode(content, sender, to), content,
                                txn_id)

    async def resend(self, txn_id: str) -> Message | None:
        """Send again what a call with ``txn_id`` stored and got no answer for (the
        same envelopes); None when there is nothing pending under it."""
        pending = self._sender.pending(txn_id)
        if pending is None:
            return None
        sender, to, plaintext = pending
        return await self._sent(sender, to, plaintext, contents.decode(plaintext)[0], txn_id)

    async def _sent(self, sender: str, to: str, plaintext: bytes, content: Content,
                    txn_id: str | None) -> Message:
        def message_of(answer: dict[str, Any]) -> Message:
            return Message(answer["message_id"], sender, self.device_id, to, to,
                           answer["ts"], content, outgoing=True)

        def record(answer: dict[str, Any]) -> None:  # (with the envelopes' removal)
            if isinstance(content, ReadReceipt):
                return
            message = message_of(answer)
            self.store.add_message(message.message_id, to, sender, self.device_id, True,
                                   message.ts, {**contents.to_wire(content), "from": sender,
                                                "to": to})
            if isinstance(self.transport, HttpTransport):
                self.archive.note(message)

        answer = await self._sender.send(sender, to, plaintext, txn_id, record)
        if not isinstance(content, ReadReceipt) and isinstance(self.transport, HttpTransport):
            await self.archive.after_batch()
        return message_of(answer)

    async def mark_read(self, message: Message) -> None:
        """Tell the sender's devices (end-to-end) that this message was read. On a team
        device the receipt goes out as the business, reaches the rest of the team too,
        and the team's read state moves on the business node (``team.mark_read``)."""
        self.store.mark(message.message_id, "read")
        if message.outgoing:
            return
        await self.send(message.peer, ReadReceipt((message.message_id,)))
        if self.speaks_as != self.address and message.to == self.speaks_as:
            await self.team.mark_read(message.peer, message.message_id)

    # ----- receiving ------------------------------------------------------------------

    async def sync_once(self, timeout_ms: int = 0) -> list[Event]:
        """Fetch what is waiting (waiting up to ``timeout_ms``), decrypt, store, ack, and
        return every event not handed over yet. ApiError or ConnectionFailed when the
        node cannot be asked; nothing is lost then (the next call returns it).
        ``DeviceRevoked`` (the store is wiped) when the node revoked this device."""
        async with self._recv_lock:
            await self._receiver.fetch(timeout_ms)
            return self._receiver.take(1_000_000)

    def _revoked(self) -> None:
        """The node says this device is revoked (on any request, the WebSocket or at
        ``open``): delete its local store (keys, sessions, history) before the app sees
        ``DeviceRevoked``. A copy of the file taken before cannot be wiped from here."""
        if not self.wiped:
            log.warning("this device was revoked; wiping its local store")
            self._closed.set()
            self.wiped = True
            self.store.wipe()

    # ----- history --------------------------------------------------------------------

    def conversations(self) -> list[dict[str, Any]]:
        """Peers with their last activity, message count and unread count."""
        return self.store.conversations()

    def history(self, peer: str, limit: int = 50, *,
                before: str | None = None) -> list[Message]:
        """The last ``limit`` messages with ``peer`` in the local store (before the
        cursor ``before``, see ``history_page``), oldest first, as ``events()`` yielded
        or ``send`` returned them (with ``delivered`` and ``read`` known)."""
        cursor = parse_cursor(before) if before is not None else None
        return [message_from_row(row) for row in self.store.history(peer, limit, cursor)]

    async def history_page(self, peer: str, *, before: str | None = None,
                           limit: int = 50) -> HistoryPage:
        """A page of the conversation with ``peer``, newest first page by page: up to
        ``limit`` (1..200) messages before the cursor ``before`` (None: the newest),
        oldest first in the page, and ``next``, the cursor for the page before it (None
        at the conversation's start). Where the local store has nothing older, an
        approved device reads the node's sealed copies (and keeps them)."""
        return await self.archive.reader.page(peer, before, limit)


def _open_store(path: str | Path, passphrase: str,
                durable: bool) -> tuple[Store, dict[str, Any], DeviceIdentity]:
    st = Store.open(path, passphrase, durable=durable)
    saved, identity = st.get_json("account"), st.get_secret("identity")
    if saved is None or identity is None:
        st.close()
        raise ClientError(f"{path} holds no device; log in first")
    return st, saved, DeviceIdentity.from_bytes(identity)
