"""The part of RFC 8941 (Structured Field Values for HTTP) that signed federation needs.

Supported: Dictionaries whose members are Items or Inner Lists, with Parameters; bare
items of type Integer, String, Token, Byte Sequence and Boolean. Decimals, Lists as
top-level fields and the RFC 9651 additions (Date, Display String) are refused.

Python mapping::

    int    Integer          str    String        Token (a str subclass)   Token
    bytes  Byte Sequence    bool   Boolean

Parsing follows the algorithms of RFC 8941 section 4.2 strictly (a trailing comma, a
bad escape, badly padded base64 or an out-of-range integer is an error, never guessed
at) and refuses input longer than ``MAX_FIELD_LENGTH``. Serialisation follows section
4.1, so ``serialize_dictionary(parse_dictionary(x))`` is the canonical form of ``x``.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from dataclasses import dataclass, field

from federation.errors import FederationError

MAX_FIELD_LENGTH = 8192
MAX_INTEGER = 999_999_999_999_999


class StructuredFieldError(FederationError):
    """A field value is not a valid structured field of the expected type."""

    status, code = 400, "MALFORMED_FIELD"


class Token(str):
    """An RFC 8941 Token (``sha-256``, ``?`` excluded), distinct from a String."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Token({str(self)!r})"


BareItem = int | str | bytes | bool
Params = dict[str, BareItem]


@dataclass(frozen=True)
class Item:
    """A bare item with its parameters."""

    value: BareItem
    params: Params = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    """A parenthesised list of items, with parameters of its own."""

    items: list[Item]
    params: Params = field(default_factory=dict)


Member = Item | InnerList
Dictionary = dict[str, Member]

_TCHAR = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
_TOKEN_CHARS = _TCHAR | frozenset(":/")
_B64_CHARS = frozenset(string.ascii_letters + string.digits + "+/=")
_KEY_RE = re.compile(r"[a-z*][a-z0-9_\-.*]*")


# --- parsing ---------------------------------------------------------------------------


class _Parser:
    """A cursor over one field value; every method consumes what it parsed."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def fail(self, what: str) -> StructuredFieldError:
        return StructuredFieldError(f"{what} at offset {self.i}")

    def skip_sp(self) -> None:
        while self.peek() == " ":
            self.i += 1

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def dictionary(self) -> Dictionary:
        out: Dictionary = {}
        while self.i < len(self.s):
            key = self.key()
            if self.peek() == "=":
                self.i += 1
                out[key] = self.item_or_inner_list()
            else:
                out[key] = Item(True, self.parameters())
            self.skip_ows()
            if self.i >= len(self.s):
                return out
            if self.peek() != ",":
                raise self.fail("expected ',' between dictionary members")
            self.i += 1
            self.skip_ows()
            if self.i >= len(self.s):
                raise self.fail("trailing comma")
        return out

    def item_or_inner_list(self) -> Member:
        if self.peek() == "(":
            return self.inner_list()
        return self.item()

    def inner_list(self) -> InnerList:
        self.i += 1  # "("
        items: list[Item] = []
        while self.i < len(self.s):
            self.skip_sp()
            if self.peek() == ")":
                self.i += 1
                return InnerList(items, self.parameters())
            items.append(self.item())
            if self.peek() not in (" ", ")"):
                raise self.fail("expected ' ' or ')' in inner list")
        raise self.fail("unterminated inner list")

    def item(self) -> Item:
        value = self.bare_item()
        return Item(value, self.parameters())

    def parameters(self) -> Params:
        params: Params = {}
        while self.peek() == ";":
            self.i += 1
            self.skip_sp()
            key = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.i += 1
                value = self.bare_item()
            params[key] = value
        return params

    def key(self) -> str:
        m = _KEY_RE.match(self.s, self.i)
        if not m:
            raise self.fail("expected a key")
        self.i = m.end()
        return m.group()

    def bare_item(self) -> BareItem:
        c = self.peek()
        if c == "-" or c.isdigit():
            return self.integer()
        if c == '"':
            return self.string()
        if c == ":":
            return self.byte_sequence()
        if c == "?":
            return self.boolean()
        if c == "*" or (c.isascii() and c.isalpha()):
            return self.token()
        raise self.fail("expected an item")

    def integer(self) -> int:
        start = self.i
        if self.peek() == "-":
            self.i += 1
        digits_start = self.i
        while self.peek().isdigit() and self.peek().isascii():
            self.i += 1
        digits = self.s[digits_start:self.i]
        if not digits:
            raise self.fail("expected a digit")
        if self.peek() == ".":
            raise self.fail("decimals are not supported")
        if len(digits) > 15:
            raise self.fail("integer too long")
        value = int(self.s[start:self.i])
        if abs(value) > MAX_INTEGER:
            raise self.fail("integer out of range")
        return value

    def string(self) -> str:
        self.i += 1  # opening quote
        out: list[str] = []
        while self.i < len(self.s):
            c = self.s[self.i]
            self.i += 1
            if c == "\\":
                nxt = self.peek()
                if nxt not in ('"', "\\"):
                    raise self.fail("bad escape in string")
                out.append(nxt)
                self.i += 1
            elif c == '"':
                return "".join(out)
            elif not (" " <= c <= "~"):
                raise self.fail("invalid character in string")
            else:
                out.append(c)
        raise self.fail("unterminated string")

    def token(self) -> Token:
        start = self.i
        self.i += 1
        while self.peek() and self.peek() in _TOKEN_CHARS:
            self.i += 1
        return Token(self.s[start:self.i])

    def byte_sequence(self) -> bytes:
        self.i += 1  # opening colon
        end = self.s.find(":", self.i)
        if end < 0:
            raise self.fail("unterminated byte sequence")
        text = self.s[self.i:end]
        if not set(text) <= _B64_CHARS:
            raise self.fail("invalid character in byte sequence")
        bare = text.rstrip("=")
        padded = bare + "=" * (-len(bare) % 4)  # padding may be left out (RFC 8941 4.2.7)
        if "=" in bare or (bare != text and padded != text):
            raise self.fail("misplaced '=' in byte sequence")
        try:
            value = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise self.fail("badly encoded byte sequence") from exc
        if base64.b64encode(value).decode("ascii") != padded:
            raise self.fail("non-zero padding bits in byte sequence")
        self.i = end + 1
        return value

    def boolean(self) -> bool:
        self.i += 1  # "?"
        c = self.peek()
        if c not in ("0", "1"):
            raise self.fail("expected ?0 or ?1")
        self.i += 1
        return c == "1"


def parse_dictionary(text: str, *, max_length: int = MAX_FIELD_LENGTH) -> Dictionary:
    """Parse a Dictionary field value (several field lines already joined by ``", "``).

    Raises ``StructuredFieldError`` on anything malformed or longer than ``max_length``.
    """
    if not isinstance(text, str):
        raise StructuredFieldError("field value must be a string")
    if len(text) > max_length:
        raise StructuredFieldError(f"field value longer than {max_length} characters")
    if not text.isascii():
        raise StructuredFieldError("field value is not ASCII")
    p = _Parser(text)
    p.skip_sp()
    result = p.dictionary()
    p.skip_sp()
    if p.i != len(text):
        raise p.fail("unexpected trailing characters")
    return result


# --- serialisation ---------------------------------------------------------------------


def serialize_key(key: str) -> str:
    if not _KEY_RE.fullmatch(key):
        raise StructuredFieldError(f"invalid key {key!r}")
    return key


def serialize_bare_item(value: BareItem) -> str:
    """Serialise one bare item (RFC 8941 section 4.1.3.1)."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise StructuredFieldError("integer out of range")
        return str(value)
    if isinstance(value, Token):
        if not value or not (value[0] == "*" or value[0].isalpha()) or not (
            value.isascii() and set(value) <= _TOKEN_CHARS
        ):
            raise StructuredFieldError(f"invalid token {str(value)!r}")
        return str(value)
    if isinstance(value, str):
        if not all(" " <= c <= "~" for c in value):
            raise StructuredFieldError("string holds a character outside printable ASCII")
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bytes | bytearray):
        return ":" + base64.b64encode(bytes(value)).decode("ascii") + ":"
    raise StructuredFieldError(f"cannot serialise {type(value).__name__}")


def serialize_params(params: Params) -> str:
    out = []
    for key, value in params.items():
        out.append(";" + serialize_key(key))
        if value is not True:
            out.append("=" + serialize_bare_item(value))
    return "".join(out)


def serialize_item(item: Item) -> str:
    return serialize_bare_item(item.value) + serialize_params(item.params)


def serialize_inner_list(inner: InnerList) -> str:
    body = " ".join(serialize_item(i) for i in inner.items)
    return "(" + body + ")" + serialize_params(inner.params)


def serialize_member(member: Member) -> str:
    if isinstance(member, InnerList):
        return serialize_inner_list(member)
    return serialize_item(member)


def serialize_dictionary(dictionary: Dictionary) -> str:
    """Serialise a Dictionary (RFC 8941 section 4.1.2)."""
    out = []
    for key, member in dictionary.items():
        text = serialize_key(key)
        if isinstance(member, Item) and member.value is True:
            text += serialize_params(member.params)
        else:
            text += "=" + serialize_member(member)
        out.append(text)
    return ", ".join(out)
