"""The Kontor profile of RFC 9421 HTTP Message Signatures: the federation wire contract.

The generic parts are ``federation.sigbase`` (signature base) and ``federation.httpsig``
(signing, and the steps of verifying).

- Label ``kontor``; algorithm ``ed25519`` (``alg`` may be left out; any other is
  refused).
- Covered, at least and in any order: ``@method``, ``@target-uri``, ``content-digest``
  and ``kontor-destination``. ``Content-Digest`` (RFC 9530, see ``digest``) is always
  sent, also for an empty body, and always checked against the body.
  ``Kontor-Destination`` holds the server name of the node the request is meant for; a
  receiver refuses a request naming another server, so a request cannot be replayed
  against a different node.
- Parameters ``created``, ``expires``, ``nonce`` and ``keyid`` are required.
  ``keyid`` is ``<origin server name>/ed25519:<key id>``. There is no separate origin
  header: the origin is the server part of ``keyid``, which is signed (it is part of
  ``@signature-params``), so it cannot disagree with the key that signed.
  ``nonce`` is 16 to 64 characters of base64url (senders use 16 random bytes).
- ``@target-uri`` is the URL exactly as the sender requested it. The receiver rebuilds
  it from its own public base URL and the raw request target (path and query, not
  percent-decoded), so a node behind a reverse proxy verifies what was sent to it.
- Clock: the window of ``httpsig.check_clock``; besides, a ``created`` before
  ``not_before`` (the receiver's start) is ``STALE_SIGNATURE``. A verified request
  reports ``accept_until``; the caller remembers the nonce (``nonces.NonceCache``) until
  then.
"""

from __future__ import annotations

import base64
import inspect
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from federation.digest import DigestError, content_digest, verify_content_digest
from federation.errors import FederationError
from federation.httpsig import (
    ALGORITHM,
    Candidate,
    candidate_base,
    check_clock,
    check_signature,
    fail,
    request_components,
    select_signature,
    sign_request,
)
from federation.keydoc import KeyLookupError
from federation.servername import InvalidServerName, parse_server_name
from federation.sigbase import RequestComponents, SignatureParams

KONTOR_LABEL = "kontor"
KONTOR_COMPONENTS = ("@method", "@target-uri", "content-digest", "kontor-destination")
DESTINATION_HEADER = "Kontor-Destination"
DEFAULT_LIFETIME = 300
DEFAULT_MAX_LIFETIME = 600

_KEY_ID_RE = re.compile(r"ed25519:[A-Za-z0-9_-]{1,64}")
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")

KeyLookup = Callable[[str, str], Awaitable[bytes] | bytes]


class InvalidKeyId(FederationError):
    """A keyid (or the server name in it) that is not ``<server>/ed25519:<id>``."""

    status, code = 401, "MALFORMED_SIGNATURE"


def normalize_server_name(name: str) -> str:
    """The lower-cased server name; ``InvalidKeyId`` unless it is one by the rules of
    ``federation.servername`` (the same validation discovery applies)."""
    lowered = name.lower() if isinstance(name, str) else ""
    try:
        parse_server_name(lowered)
    except InvalidServerName:
        raise InvalidKeyId(f"invalid server name {str(name)[:300]!r}") from None
    return lowered


def format_keyid(server_name: str, key_id: str) -> str:
    """``<server name>/ed25519:<id>``."""
    if not _KEY_ID_RE.fullmatch(key_id):
        raise InvalidKeyId(f"invalid key id {key_id[:100]!r}")
    return f"{normalize_server_name(server_name)}/{key_id}"


def parse_keyid(keyid: str) -> tuple[str, str]:
    """Split a Kontor keyid into (lower-cased server name, ``ed25519:<id>``); raises
    ``InvalidKeyId`` for anything else."""
    server, sep, key_id = keyid.partition("/")
    if not sep or not _KEY_ID_RE.fullmatch(key_id):
        raise InvalidKeyId(f"invalid keyid {keyid[:300]!r}")
    return normalize_server_name(server), key_id


def _random_nonce() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode("ascii")


def sign_kontor_request(method: str, url: str, body: bytes, origin: str, destination: str,
                        key_id: str, sign: Callable[[bytes], bytes], now: int,
                        lifetime: int = DEFAULT_LIFETIME,
                        nonce: str | None = None) -> dict[str, str]:
    """All headers to add to a federation request: ``Content-Digest``,
    ``Kontor-Destination``, ``Signature-Input`` and ``Signature``."""
    nonce = _random_nonce() if nonce is None else nonce
    if not _NONCE_RE.fullmatch(nonce):
        raise ValueError("nonce must be 16 to 64 characters of base64url")
    if lifetime <= 0:
        raise ValueError("lifetime must be positive")
    headers = {
        "Content-Digest": content_digest(body),
        DESTINATION_HEADER: normalize_server_name(destination),
    }
    params = SignatureParams(created=int(now), expires=int(now) + int(lifetime), nonce=nonce,
                             keyid=format_keyid(origin, key_id), alg=ALGORITHM)
    signed = sign_request(method, url, headers, covered=KONTOR_COMPONENTS, params=params,
                          label=KONTOR_LABEL, sign=sign)
    return {**headers, **signed}


@dataclass(frozen=True)
class VerifiedRequest:
    """A federation request whose signature, digest and destination hold."""

    origin: str
    key_id: str
    nonce: str
    created: int
    expires: int
    accept_until: float


def _check_params(c: Candidate, not_before: float | None) -> tuple[str, str]:
    """The profile's parameters; returns (origin, key id) of the keyid."""
    p = c.params
    if not_before is not None and p.created is not None and p.created < int(not_before):
        raise fail("STALE_SIGNATURE", "signed before this node started; sign it again")
    if p.expires is None or p.nonce is None or p.keyid is None or p.created is None:
        raise fail("MALFORMED_SIGNATURE", "created, expires, nonce and keyid are required")
    if not _NONCE_RE.fullmatch(p.nonce):
        raise fail("MALFORMED_SIGNATURE", "nonce must be 16 to 64 characters of base64url")
    try:
        return parse_keyid(p.keyid)
    except InvalidKeyId as exc:
        raise fail("MALFORMED_SIGNATURE", exc.message) from None


def _check_destination_and_digest(request: RequestComponents, our_server_name: str,
                                  body: bytes) -> None:
    destination = request.field(DESTINATION_HEADER) or ""
    if destination.lower() != our_server_name.lower():
        raise fail("WRONG_DESTINATION", f"request is meant for {destination[:300]!r}")
    try:
        verify_content_digest(request.field("content-digest"), body)
    except DigestError as exc:
        raise fail(exc.code, exc.message) from None


async def _public_key(lookup_key: KeyLookup, origin: str, key_id: str, keyid: str) -> bytes:
    """The key from ``lookup_key``; ``UNKNOWN_KEY`` when it has none, except that a key
    contradicting the origin's DNS pin stays ``KEY_PIN_MISMATCH`` (the peer is
    misconfigured, not unknown)."""
    try:
        found = lookup_key(origin, key_id)
        return await found if inspect.isawaitable(found) else found  # type: ignore[return-value]
    except KeyLookupError as exc:
        if exc.code == "KEY_PIN_MISMATCH":
            raise
        raise fail("UNKNOWN_KEY", f"unknown key {keyid[:300]!r}") from None


async def verify_kontor_request(
    method: str, url: str, headers: Mapping[str, str], body: bytes, *,
    our_server_name: str, lookup_key: KeyLookup, now: float,
    max_skew_seconds: float = 60, max_lifetime_seconds: float = DEFAULT_MAX_LIFETIME,
    not_before: float | None = None,
) -> VerifiedRequest:
    """Verify a signed federation request (see the module docstring).

    ``url`` is the request as this node sees it: its public base URL plus the raw path
    and query. ``lookup_key(origin, key_id)`` returns the origin's public key or raises
    ``KeyLookupError``. ``not_before``: a ``created`` earlier than this (the receiver's
    start, whose replay cache is in memory) is ``STALE_SIGNATURE``, checked with the
    clock window, before any key is looked up. The caller must still check the nonce
    for replay. Raises ``SignatureVerificationError`` (or ``KeyLookupError`` with code
    ``KEY_PIN_MISMATCH``).
    """
    request = request_components(method, url, headers)
    c = select_signature(request, KONTOR_LABEL)
    accept_until = check_clock(c, KONTOR_COMPONENTS, now, max_skew_seconds,
                               max_lifetime_seconds)
    origin, key_id = _check_params(c, not_before)
    _check_destination_and_digest(request, our_server_name, body)
    base = candidate_base(request, c)
    check_signature(c, base, await _public_key(lookup_key, origin, key_id,
                                               c.params.keyid or ""))
    p = c.params
    assert p.nonce is not None and p.created is not None and p.expires is not None
    return VerifiedRequest(origin, key_id, p.nonce, p.created, p.expires, accept_until)
