"""DNS TXT key pins: a node's operator may publish the fingerprint of its signing key.

Record, at ``_kontor-key.<host>`` (the server name's host; the port plays no part)::

    _kontor-key.shop.example. 3600 IN TXT "v=kontor1 ed25519=<fingerprint>"

The fingerprint is the unpadded base64url SHA-256 of the raw 32-byte Ed25519 public key.
Several records may exist at once (key rotation: publish the new pin, then switch keys,
then remove the old one). When at least one valid pin is published, a key fetched over
HTTP must match one of them (``check_pin``); with no record there is nothing to check.

Parsing: the strings of one TXT record are joined; tokens are separated by spaces; the
first must be ``v=kontor1`` (records of other versions are skipped, for forward
compatibility), and exactly one ``ed25519=`` token must carry a canonical 43-character
fingerprint; other tokens are ignored. A malformed record is skipped with a logged reason.
If records exist but none is valid, the result is an empty set, which pins nothing: an
operator's typo degrades to "no pin" rather than cutting the node off (logged).
DNS failures other than "no such name / record" raise ``PinLookupError`` so the caller
can retry later instead of silently skipping the check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re

import dns.asyncresolver
import dns.exception
import dns.resolver

from federation.errors import FederationError
from federation.netguard import TtlCache
from federation.servername import parse_server_name

log = logging.getLogger("kontor.federation.pins")

PIN_VERSION = "v=kontor1"
PIN_LABEL = "_kontor-key"
SRV_LABEL = "_kontor._tcp"
MAX_TXT_RECORDS = 16
MAX_RECORD_BYTES = 1024
PIN_TTL = (60.0, 86400.0)
_FINGERPRINT = re.compile(r"^[A-Za-z0-9_-]{43}\Z")


class PinMismatch(FederationError):
    """The key does not match any pin the server name publishes."""

    status, code = 401, "KEY_PIN_MISMATCH"


class PinLookupError(FederationError):
    """The pin record could not be looked up now (DNS timeout, SERVFAIL)."""

    status, code = 503, "PIN_LOOKUP_FAILED"


def pin_value(public_key: bytes) -> str:
    """The fingerprint of a raw 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    digest = hashlib.sha256(public_key).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _dns_host(server_name: str) -> str:
    name = parse_server_name(server_name)
    if name.is_ip:
        raise ValueError(f"{server_name!r} is an IP literal: it has no DNS records")
    return name.host


def pin_record(server_name: str, public_key: bytes, ttl: int = 3600) -> str:
    """The zone-file line that pins public_key for server_name."""
    host = _dns_host(server_name)
    return f'{PIN_LABEL}.{host}. {ttl} IN TXT "{PIN_VERSION} ed25519={pin_value(public_key)}"'


def srv_record(
    server_name: str, target: str, port: int, ttl: int = 3600, priority: int = 10,
    weight: int = 10,
) -> str:
    """The zone-file line for ``_kontor._tcp`` (a server name with a port never uses SRV)."""
    name = parse_server_name(server_name)
    if name.is_ip or name.port is not None:
        raise ValueError(f"{server_name!r}: IP literals and names with a port skip SRV")
    target_name = parse_server_name(target)
    if target_name.port is not None or not 1 <= port <= 65535:
        raise ValueError("SRV target is a host name without port; port is 1..65535")
    return f"{SRV_LABEL}.{name.host}. {ttl} IN SRV {priority} {weight} {port} {target_name.host}."


def parse_pin(text: str) -> str | None:
    """The fingerprint in one TXT record's text; None for another version; ValueError."""
    tokens = text.split()
    if not tokens or not tokens[0].startswith("v="):
        raise ValueError("does not start with v=")
    if tokens[0] != PIN_VERSION:
        return None
    values = [t.removeprefix("ed25519=") for t in tokens[1:] if t.startswith("ed25519=")]
    if len(values) != 1:
        raise ValueError(f"needs exactly one ed25519= token, has {len(values)}")
    value = values[0]
    if not _FINGERPRINT.match(value) or _canonical(value) != value:
        raise ValueError("ed25519= is not an unpadded base64url SHA-256")
    return value


def _canonical(value: str) -> str:
    raw = base64.urlsafe_b64decode(value + "=")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


async def lookup_pins(
    resolver: dns.asyncresolver.Resolver,
    server_name: str,
    *,
    cache: TtlCache[frozenset[str] | None] | None = None,
    negative_ttl: float = 60.0,
) -> frozenset[str] | None:
    """The pins server_name publishes; None when it publishes no record (or is an IP, or
    localhost, which RFC 6761 keeps out of DNS)."""
    name = parse_server_name(server_name)
    host = name.host.lower().rstrip(".")
    if name.is_ip or host == "localhost" or host.endswith(".localhost"):
        return None
    key = name.host.lower()
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        return cached[0]
    pins, ttl = await _query(resolver, f"{PIN_LABEL}.{key}.")
    if cache is not None:
        cache.put(key, pins, negative_ttl if pins is None else ttl)
    return pins


async def _query(
    resolver: dns.asyncresolver.Resolver, qname: str
) -> tuple[frozenset[str] | None, float]:
    try:
        answer = await resolver.resolve(qname, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None, 0.0
    except dns.exception.DNSException as exc:
        raise PinLookupError(f"TXT lookup of {qname} failed: {exc}") from exc
    rrset = answer.rrset
    if rrset is None or len(rrset) == 0:
        return None, 0.0
    if len(rrset) > MAX_TXT_RECORDS:
        raise PinLookupError(f"{qname}: {len(rrset)} TXT records, limit {MAX_TXT_RECORDS}")
    pins: set[str] = set()
    for rdata in rrset:
        pin = _record_pin(qname, b"".join(rdata.strings))
        if pin is not None:
            pins.add(pin)
    if not pins:
        log.warning("%s: TXT records present but no valid pin; not pinning", qname)
    return frozenset(pins), min(max(float(rrset.ttl), PIN_TTL[0]), PIN_TTL[1])


def _record_pin(qname: str, raw: bytes) -> str | None:
    try:
        if len(raw) > MAX_RECORD_BYTES:
            raise ValueError(f"{len(raw)} bytes, limit {MAX_RECORD_BYTES}")
        return parse_pin(raw.decode("ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        log.warning("%s: ignoring malformed pin record: %s", qname, exc)
        return None


def check_pin(pins: frozenset[str] | None, public_key: bytes) -> None:
    """Raise PinMismatch when pins is non-empty and none is the key's fingerprint."""
    if not pins:
        return
    fingerprint = pin_value(public_key).encode("ascii")
    matched = False
    for pin in pins:  # compare with every pin, in constant time each
        matched |= hmac.compare_digest(pin.encode("ascii", "replace"), fingerprint)
    if not matched:
        raise PinMismatch(f"key fingerprint {fingerprint.decode()} matches none of the pins")
