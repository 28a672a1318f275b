"""RFC 9421 HTTP Message Signatures (Ed25519 only): signing a request, and the steps of
verifying one.

``sign_request`` returns the ``Signature-Input`` and ``Signature`` header values. A
verifier (the Kontor profile in ``federation.signatures``) takes the steps in order:
``select_signature`` parses both fields and picks one signature, ``check_clock``
checks the covered components, the algorithm and the clock window, ``candidate_base``
rebuilds the signature base and ``check_signature`` verifies it with the key. Each
raises ``SignatureVerificationError`` with a stable ``code`` (``ERROR_CODES``) and the
HTTP status it is answered with.

Clock: ``expires`` before ``created`` is ``MALFORMED_SIGNATURE``; refused if
``created`` is more than ``max_skew`` seconds in the future (``STALE_SIGNATURE``), if
``now`` is past ``expires`` + skew (``EXPIRED_SIGNATURE``: the skew applies to
``expires`` too), or past ``created`` + ``max_lifetime`` + skew (``STALE_SIGNATURE``).
``check_clock`` returns ``accept_until``, the last moment at which the signature would
still pass these checks.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from federation.errors import FederationError
from federation.sigbase import (
    ComponentError,
    RequestComponents,
    SignatureParams,
    build_base,
    check_covered,
    serialize_params,
    signature_base,
)
from federation.structfields import (
    InnerList,
    Item,
    StructuredFieldError,
    parse_dictionary,
    serialize_inner_list,
    serialize_key,
)

ALGORITHM = "ed25519"
MAX_SIGNATURES = 8
#: Every code a verification failure has, with the HTTP status it is answered with.
STATUS = {
    "MISSING_SIGNATURE": 401, "MALFORMED_SIGNATURE": 401, "MISSING_COMPONENT": 401,
    "BAD_SIGNATURE": 401, "STALE_SIGNATURE": 401, "EXPIRED_SIGNATURE": 401,
    "UNKNOWN_KEY": 401, "UNSUPPORTED_ALGORITHM": 401,
    # Kontor profile:
    "WRONG_DESTINATION": 421, "MISSING_DIGEST": 400, "DIGEST_MISMATCH": 400,
    "UNSUPPORTED_DIGEST": 400,
}
ERROR_CODES = frozenset(STATUS)


class SignatureVerificationError(FederationError):
    """A request's signature is missing or does not hold; ``code`` is in ERROR_CODES."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown signature error code {code!r}")
        super().__init__(message, code=code, status=STATUS[code])


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


@dataclass(frozen=True)
class Candidate:
    """One received signature: its label, covered components, parameters (and their
    text as received) and the signature bytes."""

    label: str
    covered: tuple[str, ...]
    params: SignatureParams
    params_text: str
    signature: bytes


def fail(code: str, message: str) -> SignatureVerificationError:
    return SignatureVerificationError(code, message)


def request_components(method: str, url: str,
                       headers: Mapping[str, str]) -> RequestComponents:
    """The request's components; ``MALFORMED_SIGNATURE`` when it cannot be read."""
    try:
        return RequestComponents.of(method, url, headers)
    except ComponentError as exc:
        raise fail("MALFORMED_SIGNATURE", f"request cannot be canonicalised: {exc}") from None


def _fields(request: RequestComponents) -> tuple[dict, dict]:
    inputs_text = request.field("signature-input")
    sigs_text = request.field("signature")
    if inputs_text is None or sigs_text is None:
        raise fail("MISSING_SIGNATURE", "the request is not signed")
    try:
        inputs, sigs = parse_dictionary(inputs_text), parse_dictionary(sigs_text)
    except StructuredFieldError as exc:
        raise fail("MALFORMED_SIGNATURE", f"malformed signature field: {exc}") from None
    if len(inputs) > MAX_SIGNATURES or len(sigs) > MAX_SIGNATURES:
        raise fail("MALFORMED_SIGNATURE", f"more than {MAX_SIGNATURES} signatures")
    return inputs, sigs


def select_signature(request: RequestComponents, label: str | None) -> Candidate:
    """Parse Signature-Input/Signature and pick the signature ``label`` (or the only
    one)."""
    inputs, sigs = _fields(request)
    if label is None:
        if len(inputs) != 1:
            raise fail("MALFORMED_SIGNATURE" if inputs else "MISSING_SIGNATURE",
                       "expected exactly one signature")
        label = next(iter(inputs))
    if label not in inputs or label not in sigs:
        raise fail("MISSING_SIGNATURE", f"no signature labelled {label!r}")
    inner, sig = inputs[label], sigs[label]
    if not isinstance(inner, InnerList) or not isinstance(sig, Item) or not isinstance(
        sig.value, bytes
    ):
        raise fail("MALFORMED_SIGNATURE", "malformed signature or signature input")
    covered = []
    for item in inner.items:
        if type(item.value) is not str or item.params:
            raise fail("MALFORMED_SIGNATURE", "components must be plain strings")
        covered.append(item.value)
    try:
        check_covered(covered)
        params = SignatureParams.from_params(inner.params)
    except ComponentError as exc:
        raise fail("MALFORMED_SIGNATURE", exc.message) from None
    return Candidate(label, tuple(covered), params, serialize_inner_list(inner), sig.value)


def check_clock(c: Candidate, required: list[str] | tuple[str, ...], now: float,
                max_skew: float, max_lifetime: float) -> float:
    """Components, algorithm and clock; returns the accept-until time."""
    missing = [name for name in required if name not in c.covered]
    if missing:
        raise fail("MISSING_COMPONENT", f"signature does not cover {', '.join(missing)}")
    if c.params.alg is not None and c.params.alg != ALGORITHM:
        raise fail("UNSUPPORTED_ALGORITHM", f"algorithm {c.params.alg!r} is not supported")
    if c.params.keyid is None:
        raise fail("MALFORMED_SIGNATURE", "keyid is required")
    created, expires = c.params.created, c.params.expires
    if created is None:
        raise fail("MALFORMED_SIGNATURE", "created is required")
    if expires is not None and expires < created:
        raise fail("MALFORMED_SIGNATURE", "expires is before created")
    if created > now + max_skew:
        raise fail("STALE_SIGNATURE", "signature created in the future")
    if expires is not None and now > expires + max_skew:
        raise fail("EXPIRED_SIGNATURE", "signature expired")
    if now > created + max_lifetime + max_skew:
        raise fail("STALE_SIGNATURE", f"signature older than {max_lifetime} seconds")
    return min(math.inf if expires is None else expires, created + max_lifetime) + max_skew


def candidate_base(request: RequestComponents, c: Candidate) -> bytes:
    """The signature base the candidate was made over."""
    try:
        return build_base(request, c.covered, c.params_text)
    except ComponentError as exc:
        raise fail(exc.code, exc.message) from None


def check_signature(c: Candidate, base: bytes, public_key: bytes) -> None:
    """``BAD_SIGNATURE`` unless ``c`` is an Ed25519 signature of ``base`` by the key."""
    if len(c.signature) != 64:
        raise fail("MALFORMED_SIGNATURE", "an ed25519 signature has 64 bytes")
    try:
        key = nacl.signing.VerifyKey(bytes(public_key))
    except (TypeError, ValueError, nacl.exceptions.CryptoError):
        raise fail("UNKNOWN_KEY", "the key for this keyid is not an ed25519 key") from None
    try:
        key.verify(base, c.signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError):
        raise fail("BAD_SIGNATURE", "signature does not verify") from None
