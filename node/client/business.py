"""Business documents for the SDK: the shared checks, raising the SDK's errors."""

from __future__ import annotations

from typing import Any

from node.client.errors import ClientError, VerificationError
from node.protocol.documents import BusinessDocument
from node.protocol.documents import check_business_document as _check
from node.protocol.errors import DocumentError
from node.protocol.placeholders import expand as expand_quick_reply

__all__ = ["BusinessDocument", "check_business_document", "expand_quick_reply",
           "parse_nameserver"]


def parse_nameserver(value: str | tuple[str, int] | None) -> tuple[str, int] | None:
    """``"127.0.0.1:5353"``, ``"[::1]:53"``, ``"10.0.0.53"`` (port 53) or a (host, port)
    pair as a (host, port) pair; ClientError when it is none of these."""
    if value is None or isinstance(value, tuple):
        if value is not None and not (len(value) == 2 and isinstance(value[0], str)
                                      and isinstance(value[1], int)):
            raise ClientError(f"dns_nameserver {value!r} is not a (host, port) pair")
        return value
    text = value.strip()
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClientError(f"dns_nameserver {value!r} is not HOST or HOST:PORT")
    return host, int(port)


async def check_business_document(answer: dict[str, Any], server_name: str, kind: str,
                                  nameserver: tuple[str, int] | None = None
                                  ) -> BusinessDocument:
    """``node.protocol.documents.check_business_document``; VerificationError when a
    check fails."""
    try:
        return await _check(answer, server_name, kind, nameserver)
    except DocumentError as exc:
        raise VerificationError(str(exc)) from None
