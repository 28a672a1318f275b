"""Business documents for the SDK: the shared checks, raising the SDK's errors."""

from __future__ import annotations

from typing import Any

from node.client.errors import VerificationError
from node.protocol.documents import BusinessDocument
from node.protocol.documents import check_business_document as _check
from node.protocol.errors import DocumentError
from node.protocol.placeholders import expand as expand_quick_reply

__all__ = ["BusinessDocument", "check_business_document", "expand_quick_reply"]


async def check_business_document(answer: dict[str, Any], server_name: str, kind: str,
                                  nameserver: tuple[str, int] | None = None
                                  ) -> BusinessDocument:
    """``node.protocol.documents.check_business_document``; VerificationError when a
    check fails."""
    try:
        return await _check(answer, server_name, kind, nameserver)
    except DocumentError as exc:
        raise VerificationError(str(exc)) from None
