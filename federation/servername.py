"""Server names: ``host`` or ``host:port``, where host is a DNS name, an IPv4 address or
an IPv6 address in brackets. ``parse_server_name`` validates one and raises
``InvalidServerName`` with the reason.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from federation.errors import FederationError

MAX_SERVER_NAME = 255
MAX_HOST = 253

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z", re.IGNORECASE)
_PORT = re.compile(r"^[0-9]{1,5}\Z")


class InvalidServerName(FederationError):
    """A server name that is not ``host`` or ``host:port`` by the rules."""

    status, code = 400, "INVALID_SERVER_NAME"


@dataclass(frozen=True)
class ServerName:
    """A parsed server name: host (IPv6 without brackets), optional port."""

    host: str
    port: int | None
    is_ip: bool


def parse_server_name(server_name: str) -> ServerName:
    """Validate ``host[:port]``; raise InvalidServerName with the reason."""
    if not isinstance(server_name, str) or not 0 < len(server_name) <= MAX_SERVER_NAME:
        raise InvalidServerName("server name must be 1..255 characters")
    return _parse(server_name)


@functools.lru_cache(maxsize=4096)  # names recur on every request; errors are not kept
def _parse(server_name: str) -> ServerName:
    if server_name.startswith("["):
        end = server_name.find("]")
        if end < 0:
            raise InvalidServerName(f"{server_name!r}: unclosed '['")
        host, rest = server_name[1:end], server_name[end + 1 :]
        if "%" in host or not _is_ip(host, 6):
            raise InvalidServerName(f"{server_name!r}: not an IPv6 address in brackets")
        if rest and not rest.startswith(":"):
            raise InvalidServerName(f"{server_name!r}: junk after ']'")
        return ServerName(str(ipaddress.IPv6Address(host)), _port(rest[1:], rest), True)
    host, sep, port_text = server_name.partition(":")
    port = _port(port_text, sep)
    if ":" in port_text:
        raise InvalidServerName(f"{server_name!r}: IPv6 addresses need brackets")
    if re.fullmatch(r"[0-9.]+", host):
        if not _is_ip(host, 4):
            raise InvalidServerName(f"{server_name!r}: not a valid IPv4 address")
        return ServerName(host, port, True)
    if not is_dns_name(host):
        raise InvalidServerName(f"{server_name!r}: host is not a valid DNS name")
    return ServerName(host, port, False)


def is_dns_name(host: str) -> bool:
    """A DNS host name: LDH labels of 1..63, total <= 253, no trailing dot."""
    return 0 < len(host) <= MAX_HOST and all(_LABEL.match(lab) for lab in host.split("."))


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _port(text: str, sep: str) -> int | None:
    if not sep:
        return None
    if not _PORT.match(text) or not 1 <= int(text) <= 65535:
        raise InvalidServerName(f"port {text!r} is not 1..65535")
    return int(text)
