"""Operator configuration: one INI file loaded into frozen, validated dataclasses.

Every setting is declared exactly once, in ``node.settings``, with its type, default,
limits and help text; ``Config`` gathers the sections. The loader, ``kontor
check-config`` and the shipped ``node.example.ini`` (see ``render_example``) all derive
from these declarations, so a setting cannot exist without documentation. Errors name
the file, the section, the key and what is wrong.
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
from node.protocol.names import is_local_part, is_server_name
from node.settings import (
    AccountSettings,
    BusinessSettings,
    FederationSettings,
    HostPort,
    HttpSettings,
    LimitSettings,
    LoggingSettings,
    NameList,
    NodeSettings,
    Path_,
    RetentionSettings,
    TlsSettings,
    WebchatSettings,
)

MAX_CONFIG_BYTES = 256 * 1024
CONFIG_ENV = "KONTOR_CONFIG"
SEARCH_PATHS = (Path("node.ini"), Path("/etc/kontor/node.ini"))
_INLINE_COMMENT_RE = re.compile(r"\s[#;]")



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
    webchat: WebchatSettings = field(default_factory=WebchatSettings)
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
        return is_server_name(host)


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
    _check_node(config)
    _check_files(config)
    _check_business(config)
    if config.federation.retry_initial_seconds > config.federation.retry_max_seconds:
        raise ConfigError(config.source, "federation", "retry_initial_seconds",
                          "must not exceed retry_max_seconds")
    webchat = config.webchat
    if webchat.guests_per_address_hour > webchat.guests_per_address_day:
        raise ConfigError(config.source, "webchat", "guests_per_address_hour",
                          f"must not exceed guests_per_address_day "
                          f"({webchat.guests_per_address_day}), got "
                          f"{webchat.guests_per_address_hour}")
    return config


def _check_node(config: Config) -> None:
    if not is_server_name(config.node.server_name):
        raise ConfigError(config.source, "node", "server_name",
                          f"must be a DNS name with an optional port, got "
                          f"{config.node.server_name!r}")
    if config.node.public_url and not re.match(r"^https?://[^/\s]+/?$", config.node.public_url):
        raise ConfigError(config.source, "node", "public_url",
                          "must be an http(s) URL with no path, like https://shop.example")


def _check_files(config: Config) -> None:
    src = config.source
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


def _check_business(config: Config) -> None:
    if not _known_zone(config.business.timezone):
        raise ConfigError(config.source, "business", "timezone",
                          f"unknown time zone {config.business.timezone!r}; use an IANA "
                          "name such as Europe/Berlin or UTC")
    if not is_local_part(config.business.account):
        raise ConfigError(config.source, "business", "account",
                          "must be a lower-case local part like 'shop' "
                          f"([a-z0-9._-], at most 64), got {config.business.account!r}")


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
