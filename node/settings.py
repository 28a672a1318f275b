"""The operator's settings: every section of the INI file, declared once.

Each setting is declared here with its type, default, limits and help text
(``setting``); ``node.config`` loads a file into these frozen dataclasses, and
``kontor check-config`` and the shipped ``node.example.ini`` derive from them, so a
setting cannot exist without documentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
class WebchatSettings:
    """[webchat]: the chat page at /chat and its guest accounts."""

    enabled: bool = setting(
        False, "Let anyone who opens https://<server_name>/chat start a chat with the "
        "business without signing up: the page creates a guest account (guest-...@"
        "server_name, role customer) after a proof of work. Off by default, because it "
        "lets strangers create accounts on this node; turn it on for a shop's chat link "
        "and QR code (kontor business link).")
    guests_per_address_hour: int = setting(
        5, "Guest accounts one client IP address (an IPv6 /64) may create per hour; more "
        "get 429 GUEST_LIMIT. Counted in memory: a restart forgets the counts. Behind a "
        "reverse proxy every visitor has the proxy's address: raise both limits there.",
        lo=1, hi=1_000_000)
    guests_per_address_day: int = setting(
        20, "Guest accounts one client IP address (an IPv6 /64) may create per day.",
        lo=1, hi=1_000_000)
    max_guests: int = setting(
        10_000, "Live guest accounts (those without a password) on this node in all; "
        "when reached, new guests get 429 GUEST_LIMIT until idle ones expire.",
        lo=1, hi=10_000_000)
    guest_expiry_days: int = setting(
        30, "A guest without a password whose devices were not seen for this many days "
        "is removed with everything about it (as by kontor customer erase). A guest that "
        "set a password is kept like any customer account.", lo=1, hi=3650)
    pow_difficulty: int = setting(
        17, "Proof of work a browser must do before a guest account is created: leading "
        "zero bits of a SHA-256. 17 takes about one second in Chromium on a small "
        "laptop (each bit doubles it); the node checks a proof with one hash.",
        lo=8, hi=28)
