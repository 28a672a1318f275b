"""What travels inside an encrypted message: typed content, canonical JSON, padded.

The plaintext of every ratchet message is the canonical JSON of one content object,
padded (ISO/IEC 7816-4: a 0x80 byte, then zeros) to a multiple of ``PAD_BLOCK`` so the
ciphertext length tells the node little about the text. Every content carries the
conversation it belongs to (``from`` and ``to`` addresses) so that a node cannot replay
a message into another conversation; the receiver checks both against the envelope.
The types are specified in docs/protocol.md ("Message content"); the SDK's typed
classes (``node.client.content``) are built on these checks.
"""

from __future__ import annotations

from typing import Any

from crypto.canonicaljson import encode_canonical, loads_strict
from crypto.errors import CryptoError
from node.protocol.errors import InvalidContent

PAD_BLOCK = 64
MAX_TEXT = 16 * 1024
TYPES = ("text", "media", "receipt", "product", "order", "order_status")


def pad(data: bytes) -> bytes:
    """Append 0x80 and zeros up to the next multiple of PAD_BLOCK."""
    size = (len(data) // PAD_BLOCK + 1) * PAD_BLOCK
    return data + b"\x80" + b"\x00" * (size - len(data) - 1)


def unpad(data: bytes) -> bytes:
    """Strip the padding; InvalidContent unless ``data`` is a whole number of blocks that
    ends in 0x80 and zeros (padding over more than one block is accepted)."""
    end = data.rstrip(b"\x00")
    if not end.endswith(b"\x80") or len(data) % PAD_BLOCK:
        raise InvalidContent("bad padding")
    return end[:-1]


def encode(content: dict[str, Any]) -> bytes:
    """Check and serialise a content object into the padded plaintext."""
    check(content)
    return pad(encode_canonical(content))


def decode(plaintext: bytes) -> dict[str, Any]:
    """Parse and check a padded plaintext; InvalidContent when it is not valid content."""
    try:
        content = loads_strict(unpad(plaintext))
    except CryptoError as exc:
        raise InvalidContent(f"content is not canonical JSON: {exc}") from None
    check(content)
    return content


def _need(content: dict[str, Any], key: str, typ: type | tuple[type, ...]) -> Any:
    value = content.get(key)
    if not isinstance(value, typ) or isinstance(value, bool) and typ is int:
        raise InvalidContent(f"{content.get('type')} content needs {key!r}")
    return value


def check(content: Any) -> None:
    """Refuse content of unknown type or with missing or malformed fields."""
    if not isinstance(content, dict) or content.get("type") not in TYPES:
        raise InvalidContent(f"content type must be one of {', '.join(TYPES)}")
    _need(content, "from", str)
    _need(content, "to", str)
    kind = content["type"]
    if kind == "text":
        if len(_need(content, "body", str)) > MAX_TEXT:
            raise InvalidContent(f"text is limited to {MAX_TEXT} characters")
        if "automated" in content and not 0 < len(_need(content, "automated", str)) <= 32:
            raise InvalidContent("automated names the automation in 1 to 32 characters")
    elif kind == "media":
        for key in ("media_id", "key", "sha256"):
            _need(content, key, str)
        _need(content, "size", int)
    elif kind == "receipt":
        if content.get("receipt") != "read":
            raise InvalidContent("receipt content must be a read receipt")
        ids = _need(content, "message_ids", list)
        if not ids or len(ids) > 500 or not all(isinstance(i, str) for i in ids):
            raise InvalidContent("message_ids must list 1 to 500 message ids")
    elif kind == "product":
        _need(content, "sku", str)
        _need(content, "catalog", str)
    elif kind == "order":
        _need(content, "order_id", str)
        items = _need(content, "items", list)
        if not items or len(items) > 100:
            raise InvalidContent("an order has 1 to 100 items")
        for item in items:
            if not isinstance(item, dict):
                raise InvalidContent("order items are objects with sku and quantity")
            _need(item, "sku", str)
            _need(item, "quantity", int)
    elif kind == "order_status":
        _need(content, "order_id", str)
        _need(content, "status", str)
