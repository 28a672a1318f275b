"""RFC 9421 HTTP Message Signatures (Ed25519 only), and the Kontor profile of them.

Generic part. ``signature_base`` builds the signature base of RFC 9421 section 2.5 from
a request (method, absolute URL, header fields) and the covered components;
``sign_request`` returns the ``Signature-Input`` and ``Signature`` header values;
``verify_request`` / ``averify_request`` check one signature and raise
``SignatureVerificationError`` with a stable ``code``. Supported components: the derived
``@method``, ``@target-uri``, ``@authority``, ``@scheme``, ``@request-target``, ``@path``
and ``@query``, and header fields by lower-case name (values trimmed, several field
lines joined with ", "). Component parameters (``;sf``, ``;key``, ``;bs``, ``;req``,
``;name``) are refused. Values must be printable ASCII. The URL is read as
``scheme://authority/path?query``; scheme and host are lower-cased and a default port
is dropped, so ``@target-uri`` is ``https://shop.example/p?q`` for
``HTTPS://Shop.Example:443/p?q`` (the form RFC 9110 section 4.2.3 calls equivalent).

Kontor profile (the federation wire contract):

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
- Clock: ``expires`` before ``created`` is ``MALFORMED_SIGNATURE``; refused if
  ``created`` is more than ``max_skew`` seconds in the future (``STALE_SIGNATURE``), if
  ``now`` is past ``expires`` + skew (``EXPIRED_SIGNATURE``: the skew applies to
  ``expires`` too), past ``created`` + ``max_lifetime`` + skew, or ``created`` is before
  ``not_before`` (both ``STALE_SIGNATURE``). A verified
  request reports ``accept_until``, the last moment at which it would still pass these
  checks; the caller remembers the nonce (``nonces.NonceCache``) until then.
"""

from __future__ import annotations

import base64
import inspect
import math
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from federation.digest import DigestError, content_digest, verify_content_digest
from federation.structfields import (
    BareItem,
    InnerList,
    Item,
    Params,
    StructuredFieldError,
    parse_dictionary,
    serialize_inner_list,
    serialize_key,
)

ALGORITHM = "ed25519"
MAX_SIGNATURES = 8
MAX_COMPONENTS = 24
DERIVED_COMPONENTS = frozenset(
    {"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"}
)
ERROR_CODES = frozenset({
    "MISSING_SIGNATURE", "MALFORMED_SIGNATURE", "MISSING_COMPONENT", "BAD_SIGNATURE",
    "STALE_SIGNATURE", "EXPIRED_SIGNATURE", "UNKNOWN_KEY", "UNSUPPORTED_ALGORITHM",
    # Kontor profile:
    "WRONG_DESTINATION", "MISSING_DIGEST", "DIGEST_MISMATCH", "UNSUPPORTED_DIGEST",
})

_FIELD_NAME_RE = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#@]+)(/[^?#]*)?(?:\?([^#]*))?")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class SignatureVerificationError(Exception):
    """A request's signature is missing or does not hold; ``code`` is in ERROR_CODES."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown signature error code {code!r}")
        super().__init__(message)
        self.code = code


class ComponentError(ValueError):
    """A covered component cannot be computed; ``code`` is how a verifier reports it."""

    def __init__(self, message: str, code: str = "MALFORMED_SIGNATURE") -> None:
        super().__init__(message)
        self.code = code


# --- parameters --------------------------------------------------------------------


_KNOWN_PARAMS = ("created", "expires", "nonce", "keyid", "alg", "tag")


@dataclass(frozen=True)
class SignatureParams:
    """Signature parameters (RFC 9421 section 2.3).

    They are serialised in the order of ``order``, then any other set field in the
    order of the fields above, then ``extra`` (parameters this module does not know,
    kept so that a received signature's base can be rebuilt exactly).
    """

    created: int | None = None
    expires: int | None = None
    nonce: str | None = None
    keyid: str | None = None
    alg: str | None = None
    tag: str | None = None
    order: tuple[str, ...] = ()
    extra: tuple[tuple[str, BareItem], ...] = ()

    def to_params(self) -> Params:
        """The parameters as an ordered structured-field map."""
        known: dict[str, BareItem] = {
            name: getattr(self, name) for name in _KNOWN_PARAMS if getattr(self, name) is not None
        }
        others = dict(self.extra)
        out: Params = {}
        for name in (*self.order, *known, *others):
            if name in out:
                continue
            if name in known:
                out[name] = known[name]
            elif name in others:
                out[name] = others[name]
        return out

    @classmethod
    def from_params(cls, params: Params) -> SignatureParams:
        """Read received parameters; ``ValueError`` when one has the wrong type."""
        values: dict[str, object] = {}
        extra = []
        for name, value in params.items():
            if name in ("created", "expires"):
                if type(value) is not int or value < 0:
                    raise ValueError(f"{name} must be a non-negative integer")
                values[name] = value
            elif name in _KNOWN_PARAMS:
                if type(value) is not str:
                    raise ValueError(f"{name} must be a string")
                values[name] = value
            else:
                extra.append((name, value))
        return cls(**values, order=tuple(params), extra=tuple(extra))  # type: ignore[arg-type]


def serialize_params(covered: list[str] | tuple[str, ...], params: SignatureParams) -> str:
    """The ``@signature-params`` value: the covered components and the parameters."""
    return serialize_inner_list(InnerList([Item(c) for c in covered], params.to_params()))


# --- components ------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestComponents:
    """Computes component values of one request."""

    method: str
    scheme: str
    authority: str
    path: str
    query: str | None
    fields: dict[str, list[str]]

    @classmethod
    def of(cls, method: str, url: str, headers: Mapping[str, str]) -> RequestComponents:
        """Parse ``url`` (absolute http/https) and index ``headers`` case-insensitively."""
        if not _printable(method, allow_space=False) or not method:
            raise ComponentError("invalid method")
        if not _printable(url, allow_space=False):
            raise ComponentError("the URL holds a character outside printable ASCII")
        m = _URL_RE.fullmatch(url)
        if not m:
            raise ComponentError("the URL is not an absolute URL without userinfo/fragment")
        scheme = m.group(1).lower()
        if scheme not in _DEFAULT_PORTS:
            raise ComponentError("the URL scheme must be http or https")
        fields: dict[str, list[str]] = {}
        for name, value in headers.items():
            fields.setdefault(name.lower(), []).append(value)
        return cls(method, scheme, _normalize_authority(m.group(2), scheme),
                   m.group(3) or "/", m.group(4), fields)

    @property
    def target_uri(self) -> str:
        query = "" if self.query is None else "?" + self.query
        return f"{self.scheme}://{self.authority}{self.path}{query}"

    def value(self, name: str) -> str:
        """The value of component ``name`` (RFC 9421 sections 2.1 and 2.2)."""
        if name.startswith("@"):
            return self._derived(name)
        lines = self.fields.get(name)
        if lines is None:
            raise ComponentError(f"covered field {name!r} is absent", "MISSING_COMPONENT")
        value = ", ".join(line.strip(" \t") for line in lines)
        if not _printable(value):
            raise ComponentError(f"field {name!r} holds a character outside printable ASCII")
        return value

    def field(self, name: str) -> str | None:
        """A header field's combined value, or None."""
        lines = self.fields.get(name.lower())
        return None if lines is None else ", ".join(line.strip(" \t") for line in lines)

    def _derived(self, name: str) -> str:
        query = "?" + (self.query or "")
        if name == "@method":
            return self.method
        if name == "@target-uri":
            return self.target_uri
        if name == "@authority":
            return self.authority
        if name == "@scheme":
            return self.scheme
        if name == "@request-target":
            return self.path + ("" if self.query is None else query)
        if name == "@path":
            return self.path
        if name == "@query":
            return query
        raise ComponentError(f"unsupported derived component {name!r}")


def _printable(text: str, *, allow_space: bool = True) -> bool:
    low = " " if allow_space else "!"
    return all(low <= c <= "~" or (allow_space and c == "\t") for c in text)


def _normalize_authority(authority: str, scheme: str) -> str:
    authority = authority.lower()
    if authority.startswith("["):
        host, sep, rest = authority.partition("]")
        host += sep
        if not sep or (rest and not rest.startswith(":")):
            raise ComponentError("malformed IPv6 authority")
        port = rest[1:] if rest else None
    else:
        host, sep, port_text = authority.partition(":")
        port = port_text if sep else None
    if not host or host == "[]":
        raise ComponentError("the URL has no host")
    if port is not None:
        if not (port.isascii() and port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536):
            raise ComponentError("the URL has an invalid port")
        port = str(int(port))
        if port != _DEFAULT_PORTS[scheme]:
            return f"{host}:{port}"
    return host


def _check_covered(covered: list[str] | tuple[str, ...]) -> None:
    if len(covered) > MAX_COMPONENTS:
        raise ComponentError(f"more than {MAX_COMPONENTS} covered components")
    if len(set(covered)) != len(covered):
        raise ComponentError("a component is covered twice")
    for name in covered:
        if name.startswith("@"):
            if name not in DERIVED_COMPONENTS:
                raise ComponentError(f"unsupported derived component {name!r}")
        elif not _FIELD_NAME_RE.fullmatch(name):
            raise ComponentError(f"invalid component name {name!r}")


def _base(request: RequestComponents, covered: list[str] | tuple[str, ...],
          params_text: str) -> bytes:
    _check_covered(covered)
    lines = [f'"{name}": {request.value(name)}' for name in covered]
    lines.append(f'"@signature-params": {params_text}')
    return "\n".join(lines).encode("ascii")


def signature_base(method: str, url: str, headers: Mapping[str, str],
                   covered: list[str] | tuple[str, ...], params: SignatureParams) -> bytes:
    """The signature base (RFC 9421 section 2.5); ``ComponentError`` if not computable."""
    request = RequestComponents.of(method, url, headers)
    return _base(request, covered, serialize_params(covered, params))


# --- signing -----------------------------------------------------------------------------


def sign_request(method: str, url: str, headers: Mapping[str, str], *,
                 covered: list[str] | tuple[str, ...], params: SignatureParams, label: str,
                 sign: Callable[[bytes], bytes]) -> dict[str, str]:
    """Sign a request; returns the ``Signature-Input`` and ``Signature`` header values."""
    serialize_key(label)
    base = signature_base(method, url, headers, covered, params)
    signature = base64.b64encode(sign(base)).decode("ascii")
    return {
        "Signature-Input": f"{label}={serialize_params(covered, params)}",
        "Signature": f"{label}=:{signature}:",
    }


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature that verified."""

    keyid: str
    params: SignatureParams
    covered: tuple[str, ...]
    label: str
    accept_until: float


@dataclass(frozen=True)
class _Candidate:
    label: str
    covered: tuple[str, ...]
    params: SignatureParams
    params_text: str
    signature: bytes


def _fail(code: str, message: str) -> SignatureVerificationError:
    return SignatureVerificationError(code, message)


def _select(request: RequestComponents, label: str | None) -> _Candidate:
    """Parse Signature-Input/Signature and pick the signature to check."""
    inputs_text = request.field("signature-input")
    sigs_text = request.field("signature")
    if inputs_text is None or sigs_text is None:
        raise _fail("MISSING_SIGNATURE", "the request is not signed")
    try:
        inputs = parse_dictionary(inputs_text)
        sigs = parse_dictionary(sigs_text)
    except StructuredFieldError as exc:
        raise _fail("MALFORMED_SIGNATURE", f"malformed signature field: {exc}") from None
    if len(inputs) > MAX_SIGNATURES or len(sigs) > MAX_SIGNATURES:
        raise _fail("MALFORMED_SIGNATURE", f"more than {MAX_SIGNATURES} signatures")
    if label is None:
        if len(inputs) != 1:
            raise _fail("MALFORMED_SIGNATURE" if inputs else "MISSING_SIGNATURE",
                        "expected exactly one signature")
        label = next(iter(inputs))
    if label not in inputs or label not in sigs:
        raise _fail("MISSING_SIGNATURE", f"no signature labelled {label!r}")
    inner, sig = inputs[label], sigs[label]
    if not isinstance(inner, InnerList) or not isinstance(sig, Item) or not isinstance(
        sig.value, bytes
    ):
        raise _fail("MALFORMED_SIGNATURE", "malformed signature or signature input")
    covered = []
    for item in inner.items:
        if type(item.value) is not str or item.params:
            raise _fail("MALFORMED_SIGNATURE", "components must be plain strings")
        covered.append(item.value)
    try:
        _check_covered(covered)
        params = SignatureParams.from_params(inner.params)
    except ValueError as exc:
        raise _fail("MALFORMED_SIGNATURE", str(exc)) from None
    return _Candidate(label, tuple(covered), params, serialize_inner_list(inner), sig.value)


def _check_policy(c: _Candidate, required: list[str] | tuple[str, ...], now: float,
                  max_skew: float, max_lifetime: float) -> float:
    """Components, algorithm and clock; returns the accept-until time."""
    missing = [name for name in required if name not in c.covered]
    if missing:
        raise _fail("MISSING_COMPONENT", f"signature does not cover {', '.join(missing)}")
    if c.params.alg is not None and c.params.alg != ALGORITHM:
        raise _fail("UNSUPPORTED_ALGORITHM", f"algorithm {c.params.alg!r} is not supported")
    if c.params.keyid is None:
        raise _fail("MALFORMED_SIGNATURE", "keyid is required")
    created, expires = c.params.created, c.params.expires
    if created is None:
        raise _fail("MALFORMED_SIGNATURE", "created is required")
    if expires is not None and expires < created:
        raise _fail("MALFORMED_SIGNATURE", "expires is before created")
    if created > now + max_skew:
        raise _fail("STALE_SIGNATURE", "signature created in the future")
    if expires is not None and now > expires + max_skew:
        raise _fail("EXPIRED_SIGNATURE", "signature expired")
    if now > created + max_lifetime + max_skew:
        raise _fail("STALE_SIGNATURE", f"signature older than {max_lifetime} seconds")
    return min(math.inf if expires is None else expires, created + max_lifetime) + max_skew


def _build(request: RequestComponents, c: _Candidate) -> bytes:
    try:
        return _base(request, c.covered, c.params_text)
    except ComponentError as exc:
        raise _fail(exc.code, str(exc)) from None


def _prepare(method: str, url: str, headers: Mapping[str, str], label: str | None,
             required: list[str] | tuple[str, ...], now: float, max_skew: float,
             max_lifetime: float) -> tuple[_Candidate, bytes, float]:
    request = _request(method, url, headers)
    c = _select(request, label)
    accept_until = _check_policy(c, required, now, max_skew, max_lifetime)
    return c, _build(request, c), accept_until


def _request(method: str, url: str, headers: Mapping[str, str]) -> RequestComponents:
    try:
        return RequestComponents.of(method, url, headers)
    except ComponentError as exc:
        raise _fail("MALFORMED_SIGNATURE", f"request cannot be canonicalised: {exc}") from None


def _finish(c: _Candidate, base: bytes, public_key: object,
            accept_until: float) -> VerifiedSignature:
    if len(c.signature) != 64:
        raise _fail("MALFORMED_SIGNATURE", "an ed25519 signature has 64 bytes")
    try:
        key = nacl.signing.VerifyKey(bytes(public_key))  # type: ignore[call-overload]
    except (TypeError, ValueError, nacl.exceptions.CryptoError):
        raise _fail("UNKNOWN_KEY", "the key for this keyid is not an ed25519 key") from None
    try:
        key.verify(base, c.signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError):
        raise _fail("BAD_SIGNATURE", "signature does not verify") from None
    assert c.params.keyid is not None
    return VerifiedSignature(c.params.keyid, c.params, c.covered, c.label, accept_until)


def _unknown_key(keyid: str) -> SignatureVerificationError:
    return _fail("UNKNOWN_KEY", f"unknown key {keyid[:300]!r}")


def verify_request(method: str, url: str, headers: Mapping[str, str], *,
                   label: str | None = None, required_components: list[str] | tuple[str, ...],
                   lookup_key: Callable[[str], bytes], now: float, max_skew_seconds: float,
                   max_lifetime_seconds: float) -> VerifiedSignature:
    """Verify the signature ``label`` (or the only one) of a request.

    ``lookup_key(keyid)`` returns the 32-byte Ed25519 public key or raises
    ``KeyError``/``LookupError``. Raises ``SignatureVerificationError``.
    """
    c, base, accept_until = _prepare(method, url, headers, label, required_components, now,
                                     max_skew_seconds, max_lifetime_seconds)
    keyid = c.params.keyid or ""
    try:
        public_key = lookup_key(keyid)
    except LookupError:
        raise _unknown_key(keyid) from None
    return _finish(c, base, public_key, accept_until)


async def averify_request(method: str, url: str, headers: Mapping[str, str], *,
                          label: str | None = None,
                          required_components: list[str] | tuple[str, ...],
                          lookup_key: Callable[[str], Awaitable[bytes] | bytes], now: float,
                          max_skew_seconds: float,
                          max_lifetime_seconds: float) -> VerifiedSignature:
    """``verify_request`` with a key lookup that may be a coroutine function."""
    c, base, accept_until = _prepare(method, url, headers, label, required_components, now,
                                     max_skew_seconds, max_lifetime_seconds)
    keyid = c.params.keyid or ""
    try:
        public_key = await _maybe_await(lookup_key(keyid))
    except LookupError:
        raise _unknown_key(keyid) from None
    return _finish(c, base, public_key, accept_until)


async def _maybe_await(value: Awaitable[bytes] | bytes) -> bytes:
    return await value if inspect.isawaitable(value) else value  # type: ignore[return-value]


# --- the Kontor profile ---------------------------------------------------------------------


KONTOR_LABEL = "kontor"
KONTOR_COMPONENTS = ("@method", "@target-uri", "content-digest", "kontor-destination")
DESTINATION_HEADER = "Kontor-Destination"
DEFAULT_LIFETIME = 300
DEFAULT_MAX_LIFETIME = 600

_DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SERVER_NAME_RE = re.compile(
    rf"(?:\[[0-9a-f:.]+\]|{_DNS_LABEL}(?:\.{_DNS_LABEL})*)(?::([0-9]{{1,5}}))?"
)
_KEY_ID_RE = re.compile(r"ed25519:[A-Za-z0-9_-]{1,64}")
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def normalize_server_name(name: str) -> str:
    """The lower-cased server name; ``ValueError`` unless it is a DNS name or IP literal
    with an optional port."""
    lowered = name.lower() if isinstance(name, str) else ""
    m = _SERVER_NAME_RE.fullmatch(lowered) if lowered.isascii() else None
    if not m or len(lowered) > 255 or (m.group(1) and not 0 < int(m.group(1)) < 65536):
        raise ValueError(f"invalid server name {str(name)[:300]!r}")
    return lowered


def format_keyid(server_name: str, key_id: str) -> str:
    """``<server name>/ed25519:<id>``."""
    if not _KEY_ID_RE.fullmatch(key_id):
        raise ValueError(f"invalid key id {key_id[:100]!r}")
    return f"{normalize_server_name(server_name)}/{key_id}"


def parse_keyid(keyid: str) -> tuple[str, str]:
    """Split a Kontor keyid into (lower-cased server name, ``ed25519:<id>``).

    Raises ``ValueError`` for anything else.
    """
    server, sep, key_id = keyid.partition("/")
    if not sep or not _KEY_ID_RE.fullmatch(key_id):
        raise ValueError(f"invalid keyid {keyid[:300]!r}")
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


async def verify_kontor_request(
    method: str, url: str, headers: Mapping[str, str], body: bytes, *,
    our_server_name: str, lookup_key: Callable[[str, str], Awaitable[bytes] | bytes],
    now: float,
    max_skew_seconds: float = 60, max_lifetime_seconds: float = DEFAULT_MAX_LIFETIME,
    not_before: float | None = None,
) -> VerifiedRequest:
    """Verify a signed federation request (see the module docstring).

    ``url`` is the request as this node sees it: its public base URL plus the raw path
    and query. ``lookup_key(origin, key_id)`` returns the origin's public key or raises
    ``KeyError``/``LookupError``. ``not_before``: a ``created`` earlier than this (the
    receiver's start, whose replay cache is in memory) is ``STALE_SIGNATURE``, checked
    with the clock window, before any key is looked up. The caller must still check the
    nonce for replay. Raises ``SignatureVerificationError``.
    """
    request = _request(method, url, headers)
    c = _select(request, KONTOR_LABEL)
    accept_until = _check_policy(c, KONTOR_COMPONENTS, now, max_skew_seconds,
                                 max_lifetime_seconds)
    p = c.params
    if not_before is not None and p.created is not None and p.created < int(not_before):
        raise _fail("STALE_SIGNATURE", "signed before this node started; sign it again")
    if p.expires is None or p.nonce is None or p.keyid is None or p.created is None:
        raise _fail("MALFORMED_SIGNATURE", "created, expires, nonce and keyid are required")
    if not _NONCE_RE.fullmatch(p.nonce):
        raise _fail("MALFORMED_SIGNATURE", "nonce must be 16 to 64 characters of base64url")
    try:
        origin, key_id = parse_keyid(p.keyid)
    except ValueError as exc:
        raise _fail("MALFORMED_SIGNATURE", str(exc)) from None
    destination = request.field(DESTINATION_HEADER) or ""
    if destination.lower() != our_server_name.lower():
        raise _fail("WRONG_DESTINATION", f"request is meant for {destination[:300]!r}")
    try:
        verify_content_digest(request.field("content-digest"), body)
    except DigestError as exc:
        raise _fail(exc.code, str(exc)) from None
    base = _build(request, c)
    try:
        public_key = await _maybe_await(lookup_key(origin, key_id))
    except LookupError:
        raise _unknown_key(p.keyid) from None
    _finish(c, base, public_key, accept_until)
    return VerifiedRequest(origin, key_id, p.nonce, p.created, p.expires, accept_until)
