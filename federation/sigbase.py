"""RFC 9421 signature bases: the parameters, the components of a request, the base.

``RequestComponents.of`` reads a request (method, absolute URL, header fields);
``signature_base`` builds the signature base of RFC 9421 section 2.5 from it and the
covered components. Supported components: the derived ``@method``, ``@target-uri``,
``@authority``, ``@scheme``, ``@request-target``, ``@path`` and ``@query``, and header
fields by lower-case name (values trimmed, several field lines joined with ", ").
Component parameters (``;sf``, ``;key``, ``;bs``, ``;req``, ``;name``) are refused.
Values must be printable ASCII. The URL is read as ``scheme://authority/path?query``;
scheme and host are lower-cased and a default port is dropped, so ``@target-uri`` is
``https://shop.example/p?q`` for ``HTTPS://Shop.Example:443/p?q`` (the form RFC 9110
section 4.2.3 calls equivalent). What cannot be computed raises ``ComponentError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from federation.errors import FederationError
from federation.structfields import BareItem, InnerList, Item, Params, serialize_inner_list

MAX_COMPONENTS = 24
DERIVED_COMPONENTS = frozenset(
    {"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"}
)

_FIELD_NAME_RE = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#@]+)(/[^?#]*)?(?:\?([^#]*))?")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class ComponentError(FederationError):
    """A covered component cannot be computed; ``code`` is how a verifier reports it."""

    status = 401

    def __init__(self, message: str, code: str = "MALFORMED_SIGNATURE") -> None:
        super().__init__(message, code=code)


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
        """Read received parameters; ``ComponentError`` when one has the wrong type."""
        values: dict[str, object] = {}
        extra = []
        for name, value in params.items():
            if name in ("created", "expires"):
                if type(value) is not int or value < 0:
                    raise ComponentError(f"{name} must be a non-negative integer")
                values[name] = value
            elif name in _KNOWN_PARAMS:
                if type(value) is not str:
                    raise ComponentError(f"{name} must be a string")
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


def check_covered(covered: list[str] | tuple[str, ...]) -> None:
    """``ComponentError`` unless ``covered`` is a list of supported, distinct names."""
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


def build_base(request: RequestComponents, covered: list[str] | tuple[str, ...],
               params_text: str) -> bytes:
    """The signature base from the components and the serialised parameters."""
    check_covered(covered)
    lines = [f'"{name}": {request.value(name)}' for name in covered]
    lines.append(f'"@signature-params": {params_text}')
    return "\n".join(lines).encode("ascii")


def signature_base(method: str, url: str, headers: Mapping[str, str],
                   covered: list[str] | tuple[str, ...], params: SignatureParams) -> bytes:
    """The signature base (RFC 9421 section 2.5); ``ComponentError`` if not computable."""
    request = RequestComponents.of(method, url, headers)
    return build_base(request, covered, serialize_params(covered, params))


