"""Typed message content: what an app sends and receives inside an encrypted message.

    Text(body, automated=None)      "text"
    File(media_id, server, ...)     "media" (a file or image; ``client.media`` makes one)
    Product(sku, catalog)           "product"
    Order(order_id, items, ...)     "order" (items are ``OrderItem(sku, quantity)``)
    OrderStatus(order_id, status)   "order_status"
    ReadReceipt(message_ids)        "receipt" (sent by ``Client.mark_read``; the app
                                    receives it as a ``Receipt`` event)

``to_wire`` and ``from_wire`` turn them into the content objects of docs/protocol.md
("Message content"), checked by the shared ``node.protocol.content``; ``encode`` and
``decode`` add the conversation (``from``, ``to``) and the padding. Fields a newer
sender adds are ignored, so old apps keep reading new messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.client.errors import ContentError
from node.protocol import content as _protocol
from node.protocol.content import MAX_TEXT, PAD_BLOCK, TYPES, pad
from node.protocol.errors import InvalidContent

__all__ = ["MAX_TEXT", "PAD_BLOCK", "TYPES", "Content", "File", "Order", "OrderItem",
           "OrderStatus", "Product", "ReadReceipt", "Text", "decode", "encode",
           "from_wire", "pad", "to_wire"]


@dataclass(frozen=True)
class Text:
    """A text; ``automated`` names the business automation that sent it (greeting, away)."""

    body: str
    automated: str | None = None


@dataclass(frozen=True)
class File:
    """An encrypted file stored on its sender's node; ``client.media`` fetches it."""

    media_id: str
    server: str
    alg: str
    key: str
    sha256: str
    size: int
    name: str = ""
    mime: str = "application/octet-stream"
    caption: str = ""


@dataclass(frozen=True)
class Product:
    """A product of a business's signed catalog (``client.business.open_product``)."""

    sku: str
    catalog: str


@dataclass(frozen=True)
class OrderItem:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Order:
    """An order; a claimed total is checked by the business against its catalog."""

    order_id: str
    items: tuple[OrderItem, ...]
    total_minor: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class OrderStatus:
    order_id: str
    status: str


@dataclass(frozen=True)
class ReadReceipt:
    """End-to-end read receipt for messages of the conversation."""

    message_ids: tuple[str, ...]


Content = Text | File | Product | Order | OrderStatus | ReadReceipt

_FILE_FIELDS = ("media_id", "server", "alg", "key", "sha256", "size", "name", "mime",
                "caption")


def to_wire(content: Content) -> dict[str, Any]:
    """The content object (without ``from`` and ``to``)."""
    if isinstance(content, Text):
        wire: dict[str, Any] = {"type": "text", "body": content.body}
        if content.automated is not None:
            wire["automated"] = content.automated
        return wire
    if isinstance(content, File):
        return {"type": "media", **{k: getattr(content, k) for k in _FILE_FIELDS}}
    if isinstance(content, Product):
        return {"type": "product", "sku": content.sku, "catalog": content.catalog}
    if isinstance(content, Order):
        wire = {"type": "order", "order_id": content.order_id,
                "items": [{"sku": i.sku, "quantity": i.quantity} for i in content.items]}
        for key in ("total_minor", "currency"):
            if getattr(content, key) is not None:
                wire[key] = getattr(content, key)
        return wire
    if isinstance(content, OrderStatus):
        return {"type": "order_status", "order_id": content.order_id,
                "status": content.status}
    if isinstance(content, ReadReceipt):
        return {"type": "receipt", "receipt": "read", "message_ids": list(content.message_ids)}
    raise ContentError(f"not message content: {type(content).__name__}")


def from_wire(wire: dict[str, Any]) -> Content:
    """The typed content of a checked content object."""
    kind = wire["type"]
    if kind == "text":
        automated = wire.get("automated")
        return Text(wire["body"], automated if isinstance(automated, str) else None)
    if kind == "media":
        return File(wire["media_id"], _text(wire, "server"), _text(wire, "alg"), wire["key"],
                    wire["sha256"], wire["size"], _text(wire, "name"),
                    _text(wire, "mime") or "application/octet-stream",
                    _text(wire, "caption"))
    if kind == "product":
        return Product(wire["sku"], wire["catalog"])
    if kind == "order":
        return Order(wire["order_id"],
                     tuple(OrderItem(i["sku"], i["quantity"]) for i in wire["items"]),
                     _optional(wire, "total_minor", int), _optional(wire, "currency", str))
    if kind == "order_status":
        return OrderStatus(wire["order_id"], wire["status"])
    return ReadReceipt(tuple(wire["message_ids"]))


def _text(wire: dict[str, Any], key: str) -> str:
    value = wire.get(key)
    return value if isinstance(value, str) else ""


def _optional(wire: dict[str, Any], key: str, typ: type) -> Any:
    value = wire.get(key)
    return value if isinstance(value, typ) and not isinstance(value, bool) else None


def encode(content: Content, sender: str, to: str) -> bytes:
    """Check and serialise ``content`` of the conversation into the padded plaintext."""
    try:
        return _protocol.encode({**to_wire(content), "from": sender, "to": to})
    except InvalidContent as exc:
        raise ContentError(str(exc)) from None


def decode(plaintext: bytes) -> tuple[Content, str, str]:
    """Parse and check a padded plaintext: (content, from, to); ContentError when it is
    not valid content."""
    try:
        wire = _protocol.decode(plaintext)
        return from_wire(wire), wire["from"], wire["to"]
    except InvalidContent as exc:
        raise ContentError(str(exc)) from None
    except (KeyError, TypeError) as exc:
        raise ContentError(f"malformed content: {exc}") from None
