"""RFC 9530 ``Content-Digest``: a hash of the exact body bytes, sent beside the body.

The field is a structured Dictionary, algorithm name to Byte Sequence::

    Content-Digest: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:

We send ``sha-256``. A receiver accepts ``sha-256`` and ``sha-512``, ignores other
algorithms (RFC 9530 section 2 lets a recipient ignore digests), requires at least one
supported digest and requires every supported digest present to match the body.
Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from federation.errors import FederationError
from federation.structfields import Item, StructuredFieldError, parse_dictionary

ALGORITHMS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
MAX_DIGEST_FIELD_LENGTH = 1024
MAX_DIGEST_MEMBERS = 8


class DigestError(FederationError):
    """The body does not match its ``Content-Digest``; ``code`` says how."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def compute(body: bytes, algorithm: str = "sha-256") -> bytes:
    """The raw digest of ``body``; ``ValueError`` for an unsupported algorithm."""
    try:
        return ALGORITHMS[algorithm](body).digest()
    except KeyError:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}") from None


def content_digest(body: bytes, algorithm: str = "sha-256") -> str:
    """The ``Content-Digest`` header value for ``body``."""
    return f"{algorithm}=:{base64.b64encode(compute(body, algorithm)).decode('ascii')}:"


def verify_content_digest(header: str | None, body: bytes) -> None:
    """Check ``body`` against a ``Content-Digest`` header value.

    Raises ``DigestError`` with code ``MISSING_DIGEST`` (no header),
    ``UNSUPPORTED_DIGEST`` (malformed, or no sha-256/sha-512 member) or
    ``DIGEST_MISMATCH`` (a supported digest differs from the body's).
    """
    if header is None or not header.strip():
        raise DigestError("MISSING_DIGEST", "Content-Digest is missing")
    try:
        members = parse_dictionary(header, max_length=MAX_DIGEST_FIELD_LENGTH)
    except StructuredFieldError as exc:
        raise DigestError("UNSUPPORTED_DIGEST", f"Content-Digest is malformed: {exc}") from None
    if len(members) > MAX_DIGEST_MEMBERS:
        raise DigestError("UNSUPPORTED_DIGEST", "Content-Digest has too many members")
    checked = 0
    for name, member in members.items():
        if name not in ALGORITHMS:
            continue
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise DigestError("UNSUPPORTED_DIGEST", f"Content-Digest {name} is not bytes")
        if not hmac.compare_digest(member.value, compute(body, name)):
            raise DigestError("DIGEST_MISMATCH", f"the body does not match its {name} digest")
        checked += 1
    if not checked:
        raise DigestError(
            "UNSUPPORTED_DIGEST", "Content-Digest has no sha-256 or sha-512 member"
        )
