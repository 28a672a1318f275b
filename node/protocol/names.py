"""The names of the protocol: server names, account addresses and account roles.

Each rule is written once here and used by the node and the SDK alike (pure: no I/O):

- a server name is a DNS name or a bracketed IP literal with an optional port, at most
  255 characters (``shop.example``, ``localhost:8481``), by ``federation.servername``'s
  rule (one rule for the node, the SDK and federation);
- an address is ``local@server``: a local part of 1-64 characters of a-z, 0-9, '.', '_'
  and '-' starting with a letter or digit, then a server name; at most 320 characters;
- a role is one of ``Role``; admins and agents are the business's team.

``Address.parse`` validates; ``server_of`` and ``local_of`` only split an address that
is already known to be valid (a stored or validated one).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from federation.servername import InvalidServerName, parse_server_name
from node.protocol.errors import ProtocolError

LOCAL_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}\Z")
MAX_SERVER_NAME = 255
MAX_ADDRESS = 320


class InvalidAddress(ProtocolError):
    """Text that is not an account address (``local@server``)."""


def is_server_name(value: str) -> bool:
    """A DNS name or bracketed IP literal with an optional port, at most 255 characters:
    the rule of ``federation.servername``, which discovery and signatures apply too."""
    try:
        parse_server_name(value)
    except InvalidServerName:
        return False
    return True


def is_local_part(value: str) -> bool:
    """A valid local part (already lower-cased)."""
    return bool(LOCAL_RE.match(value))


@dataclass(frozen=True, slots=True)
class Address:
    """An account address, ``local@server``; ``str(address)`` is its wire form."""

    local: str
    server: str

    @classmethod
    def parse(cls, text: str) -> Address:
        """The address ``text`` names, exactly as written; InvalidAddress otherwise."""
        if not isinstance(text, str) or len(text) > MAX_ADDRESS:
            raise InvalidAddress(f"{str(text)[:80]!r} is not an account address "
                                 "(local@server)")
        return _parse_address(text)

    def __str__(self) -> str:
        return f"{self.local}@{self.server}"


@functools.lru_cache(maxsize=4096)  # addresses recur on every request; errors are not kept
def _parse_address(text: str) -> Address:
    local, at, server = text.partition("@")
    if not at or not is_local_part(local) or not is_server_name(server):
        raise InvalidAddress(f"{text[:80]!r} is not an account address (local@server)")
    return Address(local, server)


def server_of(address: str) -> str:
    """The server part of a valid address (empty when there is no '@')."""
    return address.partition("@")[2]


def local_of(address: str) -> str:
    """The local part of a valid address (the whole text when there is no '@')."""
    return address.partition("@")[0]


def home_of(name: str) -> str:
    """The server of an address, or ``name`` itself when it is a bare server name."""
    return server_of(name) or name


class Role(StrEnum):
    """An account's role. Stored and sent as its value (``"admin"``...)."""

    ADMIN = "admin"
    AGENT = "agent"
    CUSTOMER = "customer"
    AUTOMATION = "automation"  # the business account itself, run by the node


#: Roles the operator or an invite may give (the automation account is the node's).
GIVEN_ROLES: tuple[Role, ...] = (Role.ADMIN, Role.AGENT, Role.CUSTOMER)
#: The business's team: people who answer for the business.
TEAM_ROLES = frozenset({Role.ADMIN, Role.AGENT})
#: Who may read the business's inbox: the team and the automation account.
READER_ROLES = frozenset({Role.ADMIN, Role.AGENT, Role.AUTOMATION})
