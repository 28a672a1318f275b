"""Checking a business's signed profile or catalog, and its key pin in DNS.

A business's profile and catalog are signed by its node's key. The app fetches them
through its own node together with the signing node's key document; the SDK checks here:
the key document is self-signed by its current key, the document is signed by one of
its keys, and, for the "verified" mark, that key is pinned in the business domain's
DNS (``_kontor-key.<server>`` TXT, see docs/protocol.md). A business whose signature
checks but whose domain pins nothing is shown as signed, not verified.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from crypto.encoding import b64decode
from crypto.errors import CryptoError
from crypto.signing import verify_json
from federation import pins
from federation.keydoc import KeyLookupError, check_document
from federation.netguard import make_dns_resolver
from node.protocol.errors import DocumentError


@dataclass(frozen=True)
class BusinessDocument:
    """A business's profile or catalog whose signature checked."""

    server_name: str
    document: dict[str, Any]
    key_id: str
    verified: bool
    why: str

    def __getitem__(self, key: str) -> Any:
        return self.document[key]


def _signing_key(document: dict[str, Any], server_name: str,
                 keys: list[tuple[str, str, int | None]], now_ms: int) -> tuple[str, bytes]:
    """The key (id, public) of ``keys`` whose signature on ``document`` checks."""
    for key_id, public, expired in keys:
        if expired is not None and expired <= now_ms:
            continue
        try:
            verify_json(document, server_name, key_id, b64decode(public, 32))
        except CryptoError:
            continue
        return key_id, b64decode(public, 32)
    raise DocumentError(f"the document is not signed by a current key of {server_name}")


async def check_business_document(answer: dict[str, Any], server_name: str, kind: str,
                                  nameserver: tuple[str, int] | None = None
                                  ) -> BusinessDocument:
    """Verify a directory answer for the ``kind`` (profile or catalog) of ``server_name``;
    DocumentError when a signature does not check, the document is of another kind
    or server, or it has expired (a stale copy replayed by a node)."""
    now = int(time.time() * 1000)
    document, key_document = answer.get("document"), answer.get("keys")
    if not isinstance(document, dict) or answer.get("server_name") != server_name:
        raise DocumentError(f"the node answered no document of {server_name}")
    if document.get("type") != f"kontor.business.{kind}" \
            or document.get("server_name") != server_name:
        raise DocumentError(f"the document is not the {kind} of {server_name}")
    valid_until = document.get("valid_until_ms")
    if not isinstance(valid_until, int) or valid_until <= now:
        raise DocumentError(f"the {kind} of {server_name} has expired")
    try:
        keys, _, _ = check_document(key_document, server_name, now)
    except KeyLookupError as exc:
        raise DocumentError(f"bad key document of {server_name}: {exc}") from None
    key_id, public = _signing_key(document, server_name, keys, now)
    try:
        found = await pins.lookup_pins(make_dns_resolver(nameserver), server_name)
    except pins.PinLookupError as exc:
        return BusinessDocument(server_name, document, key_id, False,
                                f"DNS lookup of the key pin failed: {exc}")
    if not found:
        return BusinessDocument(server_name, document, key_id, False,
                                f"{server_name} publishes no key pin in DNS")
    try:
        pins.check_pin(found, public)
    except pins.PinMismatch:
        return BusinessDocument(server_name, document, key_id, False,
                                f"the key pinned in the DNS of {server_name} is another one")
    return BusinessDocument(server_name, document, key_id, True,
                            f"signed by {key_id}, pinned in the DNS of {server_name}")
