"""Federation's one error hierarchy: every exception ``federation/`` raises about a peer,
a request or the network derives from ``FederationError``.

Each carries a stable ``code`` (upper-case, machine-readable), the HTTP ``status`` a
node answers when the error ends a request, a human ``message`` and optional
``details`` (for example ``retry_after_ms``). The node turns them into JSON in one
place (``node.middlewares``), as it does its own ``KontorError``; a caller that has a
better answer (a remote failure seen by a local client) catches and translates them.

Arguments that are simply wrong (a programming error, such as a negative lifetime
passed to a signer) stay ``ValueError``: they are not about a peer.
"""

from __future__ import annotations

from typing import Any


class FederationError(Exception):
    """Something about another node, a federation request or the network failed."""

    status = 502
    code = "FEDERATION_ERROR"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}
