"""What the SDK hands to an app: ``Message``, ``Receipt``, ``DeliveryFailed`` and
``ArchiveEvent`` events.

``Client.events()`` yields all three, ``Client.history()`` returns stored ``Message``
objects of the same shape. Events wait in the local store's inbox between being
received and being handed over, so they are serialised here (``event_to_json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.client import content as contents
from node.client.content import Content
from node.client.errors import DeliveryFailed


@dataclass(frozen=True)
class Message:
    """A decrypted message; ``content`` is typed (``node.client.content``)."""

    message_id: str
    sender: str
    sender_device: str
    to: str
    peer: str
    ts: int
    content: Content
    outgoing: bool = False
    #: Known from the history: a delivered receipt arrived / it was read.
    delivered: bool = False
    read: bool = False

    @property
    def type(self) -> str:
        """The content's wire type: text, media, product, order, order_status."""
        return str(contents.to_wire(self.content)["type"])

    @property
    def text(self) -> str | None:
        return self.content.body if isinstance(self.content, contents.Text) else None


@dataclass(frozen=True)
class Receipt:
    """A delivery (from the node) or read (end-to-end, from the peer's app) receipt."""

    kind: str
    message_ids: tuple[str, ...]
    by: str
    device: str
    ts: int


@dataclass(frozen=True)
class ArchiveEvent:
    """Something about this device's history (``client.archive``). ``kind``:

    - ``device_added``: a new device ``device_id`` (named ``name``) of ``address`` was
      added; show "a new device was added", and approve it with
      ``client.archive.approve(device_id)`` if it is the person's own;
    - ``history_approved``: another device (``device_id``) gave this one the history
      keys of ``address`` (the owner); the SDK downloads the history by itself
      (newest first, resuming where it stopped), and ``Client.history_page`` pages
      back through it on demand;
    - ``erased``: the business erased the customer ``address``; its local history and
      sealed copies are gone from this device.
    """

    kind: str
    address: str
    device_id: str
    name: str
    ts: int


Event = Message | Receipt | DeliveryFailed | ArchiveEvent


@dataclass(frozen=True)
class HistoryPage:
    """One page of a conversation (``Client.history_page``): ``messages`` oldest first;
    ``next`` the cursor for the page before it (``before=``), None at the start."""

    messages: list[Message]
    next: str | None


def message_from_row(row: dict[str, Any]) -> Message:
    """A ``Message`` of a stored history row (``Store.history``)."""
    wire = row["content"]
    return Message(row["message_id"], row["sender"], row["sender_device"],
                   wire.get("to", row["peer"]), row["peer"], row["ts"],
                   contents.from_wire(wire), row["outgoing"], row.get("delivered", False),
                   row.get("read", False))


def cursor_of(message: Message) -> str:
    """The keyset cursor of a message: ``"<ts>.<message id>"`` (as the node's pages)."""
    return f"{message.ts}.{message.message_id}"


def parse_cursor(cursor: str) -> tuple[int, str]:
    """(ts, message id) of a cursor; ValueError when it is not one."""
    ts, dot, message_id = cursor.partition(".")
    if not dot or not ts.isdigit() or not message_id:
        raise ValueError(f"not a history cursor: {cursor!r}")
    return int(ts), message_id


def event_to_json(event: Event) -> dict[str, Any]:
    if isinstance(event, Message):
        return {"event": "message", "message_id": event.message_id, "sender": event.sender,
                "sender_device": event.sender_device, "to": event.to, "peer": event.peer,
                "ts": event.ts, "outgoing": event.outgoing,
                "content": contents.to_wire(event.content)}
    if isinstance(event, Receipt):
        return {"event": "receipt", "kind": event.kind, "message_ids": list(event.message_ids),
                "by": event.by, "device": event.device, "ts": event.ts}
    if isinstance(event, ArchiveEvent):
        return {"event": "archive", "kind": event.kind, "address": event.address,
                "device_id": event.device_id, "name": event.name, "ts": event.ts}
    return {"event": "failed", "message_id": event.message_id, "to": event.to,
            "reason": event.reason, "ts": event.ts, "text": str(event)}


def event_from_json(data: dict[str, Any]) -> Event:
    kind = data["event"]
    if kind == "message":
        return Message(data["message_id"], data["sender"], data["sender_device"], data["to"],
                       data["peer"], data["ts"], contents.from_wire(data["content"]),
                       data["outgoing"])
    if kind == "receipt":
        return Receipt(data["kind"], tuple(data["message_ids"]), data["by"], data["device"],
                       data["ts"])
    if kind == "archive":
        return ArchiveEvent(data["kind"], data["address"], data["device_id"], data["name"],
                            data["ts"])
    return DeliveryFailed(data["text"], message_id=data["message_id"], to=data["to"],
                          reason=data["reason"], ts=data["ts"])


def failed_event(event: dict[str, Any]) -> DeliveryFailed | None:
    """The DeliveryFailed of a node's ``failed`` event, None when it is malformed."""
    fields = [event.get(k) for k in ("message_id", "to", "reason")]
    ts = event.get("ts")
    if not all(isinstance(f, str) for f in fields) or not isinstance(ts, int):
        return None
    message_id, to, reason = (str(f) for f in fields)
    return DeliveryFailed(f"message {message_id} to {to} was not delivered: {reason}",
                          message_id=message_id, to=to, reason=reason, ts=ts)


def delivery_receipt(event: dict[str, Any]) -> Receipt | None:
    """A delivered receipt from a node event, None when the event is malformed."""
    fields = [event.get(k) for k in ("message_id", "by", "device")]
    ts = event.get("ts")
    if not all(isinstance(f, str) for f in fields) or not isinstance(ts, int):
        return None
    message_id, by, device = (str(f) for f in fields)
    return Receipt("delivered", (message_id,), by, device, ts)


@dataclass
class Account:
    """Who this device is: its account, role and the address it speaks as (a team
    member speaks as the business to customers)."""

    address: str
    device_id: str
    role: str = "customer"
    business: str = ""
    speaks_as: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Account:
        return cls(data["address"], data["device_id"], data.get("role", "customer"),
                   data.get("business", ""), data.get("speaks_as") or data["address"])
