"""What ``kontor check-config`` (and ``kontor run`` before it serves) checks beyond
parsing the file: that the files and folders it names are usable, that it agrees with
the database it points at, and what is risky.

``check`` raises ConfigError (file, section, key, what is wrong) for a problem and
returns warnings, one sentence each, for what works but should not stay so.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sqlite3
import ssl
from pathlib import Path

from node.config import Config
from node.errors import ConfigError
from node.services.setup import identity_problem
from node.storage import connection

_PEM_KEY_RE = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".test", ".lan", ".home.arpa",
                  ".invalid", ".example")  # never public (RFC 6761, 6762, 8375)


def check(config: Config) -> list[str]:
    """Raise ConfigError for the first problem; return the warnings."""
    _check_tls(config)
    _check_ca_file(config)
    _check_data_dir(config)
    _check_database(config)
    return warnings(config)


def _read(config: Config, section: str, key: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise ConfigError(config.source, section, key,
                          f"{path} cannot be read: {exc.strerror}") from None


def _check_tls(config: Config) -> None:
    cert, key = config.tls.cert_file, config.tls.key_file
    if not cert:
        return
    _check_certificates(config, "tls", "cert_file", cert)
    if not _PEM_KEY_RE.search(_read(config, "tls", "key_file", key)):
        raise ConfigError(config.source, "tls", "key_file",
                          f"{key} is not a PEM private key (no '-----BEGIN ... PRIVATE "
                          "KEY-----' block)")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise ConfigError(config.source, "tls", "key_file",
                          f"{key} is not a valid PEM private key for {cert} "
                          f"({exc.reason or exc})") from None


def _check_certificates(config: Config, section: str, key: str, path: str) -> None:
    text = _read(config, section, key, path)
    try:
        ssl.create_default_context().load_verify_locations(cadata=text)
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ConfigError(config.source, section, key,
                          f"{path} is not a PEM certificate file ({reason})") from None


def _check_ca_file(config: Config) -> None:
    if config.federation.ca_file:
        _check_certificates(config, "federation", "ca_file", config.federation.ca_file)


def _check_data_dir(config: Config) -> None:
    """The data directory exists as a writable folder, or can be created."""
    data_dir = config.data_dir
    target = data_dir
    while not target.exists() and target != target.parent:
        target = target.parent
    if not target.is_dir():
        what = "is not a folder" if target == data_dir else f"cannot be created: {target} " \
            "is a file, not a folder"
        raise ConfigError(config.source, "node", "data_dir", f"{data_dir} {what}")
    if not os.access(target, os.W_OK | os.X_OK):
        what = "is not writable" if target == data_dir else \
            f"cannot be created: {target} is not writable"
        raise ConfigError(config.source, "node", "data_dir",
                          f"{data_dir} {what} by this user; choose another folder or fix "
                          "its owner")


def _check_database(config: Config) -> None:
    """An existing database was set up with this server name and business account."""
    path = config.database_path
    if not path.is_file():
        return
    try:
        db = connection.connect_readonly(path)
    except sqlite3.Error as exc:
        raise ConfigError(config.source, "node", "database",
                          f"{path} cannot be opened: {exc}") from None
    try:
        problem = identity_problem(config, db)
    except sqlite3.Error:  # no tables yet: a database that was never set up
        problem = None
    finally:
        db.close()
    if problem is not None:
        raise problem


def warnings(config: Config) -> list[str]:
    """What works but is risky."""
    out = []
    host = config.http.listen_host
    if not config.tls.cert_file and not _is_loopback(host):
        out.append(f"[http] listen_host = {host} is not a loopback address and [tls] is not "
                   "set: passwords, tokens and metadata cross the network unencrypted. Set "
                   "[tls] cert_file and key_file, or listen on 127.0.0.1 behind a "
                   "TLS-terminating reverse proxy")
    name = config.node.server_name
    if config.federation.allow_plain_http and not is_local_name(name):
        out.append(f"[federation] allow_plain_http is on, but the server name {name} is a "
                   "public name: traffic with other nodes may go unencrypted and unchecked. "
                   "It is meant for development on loopback; turn it off in production")
    out.extend(_webchat_warnings(config))
    return out


def _webchat_warnings(config: Config) -> list[str]:
    """Guests are counted per client address; behind a proxy they all share its one."""
    webchat = config.webchat
    proxied = bool(config.node.public_url) and not config.tls.cert_file
    if not (webchat.enabled and proxied and webchat.guests_per_address_hour < 100):
        return []
    return [f"[webchat] is on behind a reverse proxy (public_url is set and [tls] is not): "
            f"every visitor then has the proxy's address, so only "
            f"{webchat.guests_per_address_hour} guests an hour can start a chat in all. "
            "Raise guests_per_address_hour and guests_per_address_day (the proof of work "
            "and max_guests still limit mass sign-ups)"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_local_name(server_name: str) -> bool:
    """A server name that only means something on this machine or a private network."""
    host = server_name.lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    try:
        address = ipaddress.ip_address(host)
        return address.is_loopback or address.is_private or address.is_link_local
    except ValueError:
        pass
    return host == "localhost" or "." not in host or host.endswith(LOCAL_SUFFIXES)
