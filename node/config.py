"""Operator configuration: one INI file loaded into frozen, validated dataclasses.

Every setting is declared exactly once, below, with its type, default, limits and help
text. The loader, ``kontor check-config`` and the shipped ``node.example.ini`` (see
``render_example``) all derive from these declarations, so a setting cannot exist
without documentation. Errors name the file, the section, the key and what is wrong.
"""

from __future__ import annotations

import configparser
import dataclasses
import ipaddress
import re
import textwrap
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from node.errors import ConfigError
from node.protocol.names import SERVER_NAME_RE, is_server_name

MAX_CONFIG_BYTES = 256 * 1024
CONFIG_ENV = "KONTOR_CONFIG"
SEARCH_PATHS = (Path("node.ini"), Path("/etc/kontor/node.ini"))
_INLINE_COMMENT_RE = re.compile(r"\s[#;]")



class Path_(str):
    """Marker type: a filesystem path, resolved against the config file's folder."""


class HostPort(str):
    """Marker type: ``host:port`` (an empty string means unset)."""


class NameList(tuple):
    """Marker type: a comma-separated list of server names or addresses."""


def setting(default: Any, help: str, *, lo: int | None = None, hi: int | None = None,
            choices: tuple[str, ...] | None = None, required: bool = False) -> Any:
    """Declare one setting: its default (used when no file is given), help text, limits,
    and whether a config file must set it."""
    meta = {"help": help, "lo": lo, "hi": hi, "choices": choices, "required": required}
    if isinstance(default, tuple):
        return field(default_factory=lambda: NameList(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class NodeSettings:
    """[node]: identity and where data lives."""

    server_name: str = setting(
        "localhost:8448",
        "The node's server name: a DNS name with an optional port. Account addresses end in "
        "it (anna@shop.example). Changing it later orphans every account. Every config "
        "file must set it: replace localhost:8448 with your domain.",
        required=True)
    public_url: str = setting(
        "", "The URL clients and peers reach this node at (https://shop.example). Empty: "
        "derived from listen_host and listen_port (for loopback development).")
    data_dir: Path_ = setting(
        Path_("kontor-data"), "Folder for the database, keys and media (created 0700). "
        "Relative paths resolve against this file's folder.")
    database: Path_ = setting(
        Path_(""), "SQLite database file. Empty: kontor.db inside data_dir.")


@dataclass(frozen=True)
class HttpSettings:
    """[http]: the listener."""

    listen_host: str = setting("127.0.0.1", "Address to listen on. Loopback by default; put "
                               "a TLS reverse proxy in front, or set [tls] below.")
    listen_port: int = setting(8448, "TCP port to listen on.", lo=1, hi=65535)
    shutdown_grace_seconds: int = setting(
        10, "On SIGTERM/SIGINT, the longest the whole stop takes: WebSockets are closed "
        "(1001) and long-polls answered at once, other requests may finish until 2 s "
        "(a quarter, for short graces) before the end and are then cancelled.", lo=0,
        hi=300)
    idle_timeout_seconds: int = setting(
        60, "Close a keep-alive connection that sends no new request for this long (also "
        "counts from the moment a connection opens).", lo=1, hi=3600)
    header_timeout_seconds: int = setting(
        10, "A request head (request line and headers) must arrive whole within this many "
        "seconds of its first byte, else the connection closes.", lo=1, hi=300)
    body_timeout_seconds: int = setting(
        30, "While a request body is still arriving, the longest gap between two of its "
        "chunks; then the request fails with 408 BODY_TIMEOUT.", lo=1, hi=3600)
    max_connections: int = setting(
        1000, "Open client connections (HTTP and WebSocket) in all. When full, a new "
        "connection closes the one idle longest, or gets 503 TOO_MANY_CONNECTIONS when "
        "none is idle. Lowered at start when the file descriptor limit is smaller.",
        lo=16, hi=1_000_000)
    max_connections_per_address: int = setting(
        128, "Open connections from one client IP address; more get 503 "
        "TOO_MANY_CONNECTIONS. Raise it when many devices share one address (NAT).",
        lo=1, hi=1_000_000)
    websocket_heartbeat_seconds: int = setting(
        30, "Ping every WebSocket this often; one that does not answer a ping within half "
        "of it is closed.", lo=2, hi=600)


@dataclass(frozen=True)
class TlsSettings:
    """[tls]: serve HTTPS directly instead of behind a reverse proxy."""

    cert_file: Path_ = setting(Path_(""), "PEM certificate chain. Empty: serve plain HTTP "
                               "(only sensible behind a TLS-terminating reverse proxy).")
    key_file: Path_ = setting(Path_(""), "PEM private key for cert_file (keep it 0600).")


@dataclass(frozen=True)
class FederationSettings:
    """[federation]: talking to other nodes."""

    enabled: bool = setting(True, "Accept and send federation traffic.")
    allow_plain_http: bool = setting(
        False, "DEVELOPMENT ONLY: talk to peers over plain HTTP and skip TLS. Never in "
        "production.")
    allow_private_addresses: bool = setting(
        False, "Allow outgoing connections to loopback, private and link-local addresses "
        "(tests and private networks).")
    dns_nameserver: HostPort = setting(
        HostPort(""), "Resolve peers through this DNS server (host:port) instead of the "
        "system resolver.")
    ca_file: Path_ = setting(Path_(""), "Extra CA bundle (PEM) to trust for peers' "
                             "certificates. Empty: the system store.")
    batch_max_envelopes: int = setting(100, "Most envelopes in one outgoing transaction.",
                                       lo=1, hi=1000)
    batch_max_bytes: int = setting(512 * 1024, "Most bytes in one outgoing transaction.",
                                   lo=4096, hi=8 * 1024 * 1024)
    retry_initial_seconds: int = setting(2, "First retry delay after a failed delivery.",
                                         lo=1, hi=3600)
    retry_max_seconds: int = setting(3600, "Cap on the retry delay (exponential backoff with "
                                     "jitter).", lo=1, hi=86400)
    message_expiry_hours: int = setting(
        72, "Undelivered messages older than this are dropped and their sender told.",
        lo=1, hi=24 * 60)
    clock_skew_seconds: int = setting(300, "Accepted clock difference for signed requests.",
                                      lo=5, hi=3600)
    allow: NameList = setting((), "If non-empty, only these server names are federated "
                              "with, in both directions (comma-separated): requests from "
                              "others are refused (ORIGIN_DENIED), and local calls that "
                              "would reach others are 403 DESTINATION_DENIED.")
    deny: NameList = setting((), "Server names refused outright, in both directions "
                             "(comma-separated); deny wins over allow.")
    max_inbound_per_origin: int = setting(
        4, "Concurrent inbound requests handled for one origin server, counted only once "
        "its signature verified.", lo=1, hi=64)
    max_unverified_per_address: int = setting(
        8, "Inbound federation requests from one client IP address whose body is being "
        "read and signature checked at once; more get 429. Such a body must arrive whole "
        "within [http] body_timeout_seconds.", lo=1, hi=1024)
    rate_per_origin: int = setting(
        6000, "Inbound federation requests per minute from one origin server.", lo=1,
        hi=1_000_000)


@dataclass(frozen=True)
class AccountSettings:
    """[accounts]: who may have an account here."""

    registration: str = setting(
        "closed", "closed: only the operator creates accounts (kontor account add); "
        "invite: a one-time token from kontor invite create; open: customers register "
        "themselves.", choices=("closed", "invite", "open"))


@dataclass(frozen=True)
class LimitSettings:
    """[limits]: sizes and rates."""

    max_body_bytes: int = setting(1024 * 1024, "Largest request body accepted (except "
                                  "media uploads).", lo=1024, hi=64 * 1024 * 1024)
    max_media_bytes: int = setting(64 * 1024 * 1024, "Largest media upload.",
                                   lo=1024, hi=2 * 1024 * 1024 * 1024)
    rate_per_account: int = setting(600, "Requests per minute per account.", lo=1,
                                    hi=1_000_000)
    rate_per_address: int = setting(1200, "Requests per minute per client IP address.",
                                    lo=1, hi=1_000_000)
    password_hash_workers: int = setting(
        2, "Password hashes (argon2id, 64 MiB each while it runs) computed at once for "
        "registrations and logins; the node's memory for them stays near this times "
        "64 MiB.", lo=1, hi=64)
    password_hash_queue: int = setting(
        64, "Registrations and logins that may wait for a hashing worker; beyond that "
        "they answer 429 RATE_LIMITED with Retry-After.", lo=0, hi=100_000)


@dataclass(frozen=True)
class BusinessSettings:
    """[business]: the business this node answers for."""

    account: str = setting(
        "business", "Local part of the business's public address (account@server_name). "
        "Customers write to it; every admin and agent device receives its conversations.")
    timezone: str = setting(
        "UTC", "Default IANA time zone for opening hours until the profile sets one.")
    history_approval: str = setting(
        "admin", "Who may give a new team device the team's history (its history key, "
        "over an end-to-end session): 'admin' (a device of an admin account) or 'team' "
        "(any team device that holds the key). A device not approved sees only what "
        "arrives from its login on. A customer's or person's own new device is approved "
        "by any of that account's other devices.", choices=("admin", "team"))


@dataclass(frozen=True)
class RetentionSettings:
    """[retention]: how long the node keeps what it holds."""

    undelivered_days: int = setting(
        30, "Ciphertext never acknowledged by its device is removed after this many days.",
        lo=1, hi=3650)
    resolved_conversation_days: int = setting(
        0, "Delete a resolved conversation's records after this many days of silence "
        "(0: keep until erased).", lo=0, hi=36500)
    media_days: int = setting(
        90, "Remove uploaded media this many days after upload.", lo=1, hi=36500)


@dataclass(frozen=True)
class LoggingSettings:
    """[logging]: what goes to standard error."""

    level: str = setting("info", "Log level.",
                         choices=("debug", "info", "warning", "error"))
    format: str = setting("text", "text for people, json for machines (one object a line).",
                          choices=("text", "json"))
    addresses: bool = setting(
        False, "Write account addresses and order ids in log lines as they are. Off (the "
        "default): each is written as a short keyed hash (acct:3f9a1c07d2, order:...), the "
        "same for one address on this node, so the lines of one conversation can be "
        "followed, but the log names no one and keeps nothing an erasure must remove.")


@dataclass(frozen=True)
class Config:
    """The whole operator configuration."""

    node: NodeSettings = field(default_factory=NodeSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    federation: FederationSettings = field(default_factory=FederationSettings)
    accounts: AccountSettings = field(default_factory=AccountSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    business: BusinessSettings = field(default_factory=BusinessSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    source: str = "<defaults>"

    @property
    def data_dir(self) -> Path:
        return Path(self.node.data_dir)

    @property
    def database_path(self) -> Path:
        return Path(self.node.database) if self.node.database else self.data_dir / "kontor.db"

    @property
    def business_address(self) -> str:
        return f"{self.business.account}@{self.node.server_name}"

    @property
    def public_url(self) -> str:
        if self.node.public_url:
            return self.node.public_url.rstrip("/")
        host = self.http.listen_host
        scheme = "https" if self.tls.cert_file else "http"
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{self.http.listen_port}"


def _section_types() -> dict[str, type]:
    hints = get_type_hints(Config)
    return {f.name: hints[f.name] for f in dataclasses.fields(Config) if f.name != "source"}


SECTIONS: dict[str, type] = _section_types()


def find_config(explicit: str | Path | None, environ: Mapping[str, str]) -> Path | None:
    """The config file to use: ``-c FILE``, else ``$KONTOR_CONFIG``, else ``./node.ini``,
    else ``/etc/kontor/node.ini``; None when none is given and neither file exists."""
    if explicit is not None:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return next((p for p in SEARCH_PATHS if p.is_file()), None)


def load_config(path: str | Path | None) -> Config:
    """Load and validate the INI file at ``path`` (None: embedded defaults).

    Raises ConfigError naming the file, section and key on any problem.
    """
    if path is None:
        return _finish(Config(), Path.cwd())
    path = Path(path)
    text = _read_text(path)
    parser = configparser.ConfigParser(interpolation=None, strict=True,
                                       default_section="\x00unused")
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source=str(path))
    except configparser.DuplicateOptionError as exc:
        raise ConfigError(str(path), exc.section, exc.option, "is set twice") from None
    except configparser.DuplicateSectionError as exc:
        raise ConfigError(str(path), exc.section, None, "section appears twice") from None
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(str(path), None, None, f"is not a valid INI file: {first}") from None
    sections = {}
    types = _section_types()
    for name in parser.sections():
        if name not in types:
            raise ConfigError(str(path), name, None,
                              f"unknown section; known sections: {', '.join(types)}")
    for name, cls in types.items():
        values = dict(parser.items(name)) if parser.has_section(name) else {}
        sections[name] = _parse_section(str(path), name, cls, values)
    config = Config(**sections, source=str(path))
    return _finish(config, path.resolve().parent)


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(str(path), None, None,
                              f"is larger than {MAX_CONFIG_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), None, None,
                          "does not exist; create it with `kontor example-config > FILE` "
                          "and set server_name") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), None, None, "is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(str(path), None, None, f"cannot be read: {exc.strerror}") from None


def _parse_section(file: str, section: str, cls: type, values: dict[str, str]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = get_type_hints(cls)
    for key in values:
        if key not in fields:
            raise ConfigError(file, section, key,
                              f"unknown key; known keys in [{section}]: {', '.join(fields)}")
    for name, f in fields.items():
        if f.metadata["required"] and name not in values:
            raise ConfigError(file, section, name, "is required but missing")
    parsed = {}
    for key, raw in values.items():
        if _INLINE_COMMENT_RE.search(raw):
            raise ConfigError(file, section, key,
                              f"{raw.strip()!r} has a comment after the value; comments go "
                              "on their own line (starting with # or ;), because the rest "
                              "of a line belongs to the value")
        parsed[key] = _parse_value(file, section, key, raw.strip(), hints[key],
                                   fields[key].metadata)
    return cls(**parsed)


def _parse_value(file: str, section: str, key: str, raw: str, typ: type,
                 meta: Any) -> Any:
    def fail(problem: str) -> ConfigError:
        return ConfigError(file, section, key, problem)

    if typ is bool:
        lowered = raw.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise fail(f"must be true or false, got {raw!r}")
    if typ is int:
        if not re.fullmatch(r"-?[0-9]{1,12}", raw.replace("_", "")):
            raise fail(f"must be a whole number, got {raw!r}")
        value = int(raw.replace("_", ""))
        lo, hi = meta["lo"], meta["hi"]
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise fail(f"must be between {lo} and {hi}, got {value}")
        return value
    if typ is NameList:
        items = [item.strip().lower() for item in raw.split(",") if item.strip()]
        for item in items:
            if not is_server_name(item):
                raise fail(f"{item!r} is not a server name")
        return NameList(items)
    if typ is HostPort:
        if raw and not _valid_hostport(raw):
            raise fail(f"must be host:port (for example 127.0.0.1:53), got {raw!r}")
        return HostPort(raw)
    if typ is Path_:
        return Path_(raw)
    choices = meta["choices"]
    if choices and raw not in choices:
        raise fail(f"must be one of {', '.join(choices)}, got {raw!r}")
    if len(raw) > 2048:
        raise fail("is longer than 2048 characters")
    return raw


def _valid_hostport(raw: str) -> bool:
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return False
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(SERVER_NAME_RE.match(host))


def _finish(config: Config, base: Path) -> Config:
    """Resolve relative paths against ``base`` and check cross-setting rules."""
    def resolve(value: str) -> Path_:
        if not value:
            return Path_("")
        p = Path(value).expanduser()
        return Path_(str(p if p.is_absolute() else (base / p).resolve()))

    node = dataclasses.replace(config.node, data_dir=resolve(config.node.data_dir),
                               database=resolve(config.node.database))
    tls = dataclasses.replace(config.tls, cert_file=resolve(config.tls.cert_file),
                              key_file=resolve(config.tls.key_file))
    fed = dataclasses.replace(config.federation, ca_file=resolve(config.federation.ca_file))
    config = dataclasses.replace(config, node=node, tls=tls, federation=fed)
    src = config.source
    if not is_server_name(config.node.server_name):
        raise ConfigError(src, "node", "server_name",
                          f"must be a DNS name with an optional port, got "
                          f"{config.node.server_name!r}")
    if config.node.public_url and not re.match(r"^https?://[^/\s]+/?$", config.node.public_url):
        raise ConfigError(src, "node", "public_url",
                          "must be an http(s) URL with no path, like https://shop.example")
    if bool(config.tls.cert_file) != bool(config.tls.key_file):
        missing = "key_file" if config.tls.cert_file else "cert_file"
        raise ConfigError(src, "tls", missing, "must be set together with the other TLS file")
    for key in ("cert_file", "key_file"):
        path = getattr(config.tls, key)
        if path and not Path(path).is_file():
            raise ConfigError(src, "tls", key, f"no such file: {path}")
    if config.federation.ca_file and not Path(config.federation.ca_file).is_file():
        raise ConfigError(src, "federation", "ca_file",
                          f"no such file: {config.federation.ca_file}")
    if not _known_zone(config.business.timezone):
        raise ConfigError(src, "business", "timezone",
                          f"unknown time zone {config.business.timezone!r}; use an IANA "
                          "name such as Europe/Berlin or UTC")
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", config.business.account):
        raise ConfigError(src, "business", "account",
                          "must be a lower-case local part like 'shop' "
                          f"([a-z0-9._-], at most 64), got {config.business.account!r}")
    if config.federation.retry_initial_seconds > config.federation.retry_max_seconds:
        raise ConfigError(src, "federation", "retry_initial_seconds",
                          "must not exceed retry_max_seconds")
    return config


def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def render_example() -> str:
    """The commented example INI: every setting, its help and its default."""
    lines = ["# Kontor node configuration.",
             "# Every setting the node reads is listed here, commented, with its default.",
             "# Edit what you need; check the file with: kontor check-config -c FILE", ""]
    for section, cls in _section_types().items():
        lines.append(f"[{section}]")
        summary = (cls.__doc__ or ":").split(":", 1)[1].strip()
        lines.append(f"# {summary[0].upper()}{summary[1:]}")
        hints = get_type_hints(cls)
        for f in dataclasses.fields(cls):
            lines.append("")
            lines.extend(_render_setting(f, hints[f.name]))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _factory_default(f: dataclasses.Field[Any]) -> Any:
    """The default a field's factory makes (fields here have a default or a factory)."""
    factory = f.default_factory
    assert callable(factory), f.name
    return factory()


def _render_setting(f: dataclasses.Field[Any], typ: type) -> list[str]:
    meta = f.metadata
    help_text = meta["help"]
    if meta["choices"]:
        help_text += f" One of: {', '.join(meta['choices'])}."
    if meta["lo"] is not None:
        help_text += f" Range {meta['lo']}..{meta['hi']}."
    default = f.default if f.default is not dataclasses.MISSING else _factory_default(f)
    if typ is bool:
        shown = "true" if default else "false"
    elif typ is NameList:
        shown = ", ".join(default)
    else:
        shown = str(default)
    out = [f"# {line}" for line in textwrap.wrap(help_text, 86)]
    out.append(f"{f.name} = {shown}".rstrip())
    return out
