"""Structured logging: text for people, JSON for machines, a request id on every line.

The request id lives in a context variable set by the request middleware, so every log
line written while serving a request carries it, whatever module writes it. Nothing
here ever formats secrets: callers log ids and counts, never tokens, keys or bodies.

Values in log lines often come from outside (a request path, a peer's error text), so
no line can be forged through them: the text format escapes CR, LF and every other
control, line-separating or bidi-override character of the message and the extras
(``escape``) and marks traceback lines with ``  | ``; the JSON format carries every value
as a JSON string, one object a line. A flood of one warning or error (a peer failing the
same way 10,000 times a second, ``accept()`` out of file descriptors) is cut to
``FLOOD_BURST`` lines a second per message; the next line that passes says how many
were suppressed (``suppressed=N``).

Account addresses are written as a short keyed hash (``acct:3f9a1c07d2``, ``pseudonym``),
stable per node (keyed by a secret the node keeps in its database), unless the operator
sets ``[logging] addresses = true``: every line is passed through ``pseudonymise``, and
the request line names a route by its template, with addresses and order ids hashed.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import re
import sys
import time
from collections.abc import Callable

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime"}
FLOOD_BURST = 5
FLOOD_WINDOW_SECONDS = 1.0
FLOOD_MAX_KEYS = 1000

# C0 and C1 controls, DEL, backslash, line/paragraph separators, bidi embeddings,
# overrides and isolates, lone surrogates.
_UNSAFE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


# An account address as it may appear in a line: local@server[:port].
_ADDRESS = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
                      r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}"
                      r"(?:\.[A-Za-z0-9-]{1,63})*)?)(?::[0-9]{1,5})?")


class _Pseudonyms:
    """The node's keyed hashes for the names of people in log lines (one per process:
    logging is process-wide; the last node started in a process sets it)."""

    key: bytes | None = None
    clear = False


def configure_pseudonyms(secret: bytes, *, clear: bool = False) -> None:
    """Key the pseudonyms with the node's secret (``[logging] addresses`` = ``clear``)."""
    _Pseudonyms.key = hmac.new(secret, b"kontor log pseudonyms v1", hashlib.sha256).digest()
    _Pseudonyms.clear = clear


def pseudonym(value: str, kind: str = "acct") -> str:
    """``kind:`` and 10 hex digits of a keyed hash of ``value`` (case-insensitive); the
    value itself when the operator logs addresses in the clear."""
    if _Pseudonyms.clear:
        return value
    if _Pseudonyms.key is None:
        return f"{kind}:?"
    digest = hmac.new(_Pseudonyms.key, value.lower().encode("utf-8", "backslashreplace"),
                      hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:10]}"


def pseudonymise(text: str) -> str:
    """``text`` with every account address replaced by its pseudonym."""
    if _Pseudonyms.clear or "@" not in text:
        return text
    return _ADDRESS.sub(lambda m: pseudonym(m.group()), text)


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def escape(value: object) -> str:
    """``value`` as one printable line: controls and separators become escapes."""
    return _UNSAFE.sub(_escape_char, str(value))


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class FloodFilter(logging.Filter):
    """At most ``burst`` records a ``window`` for each (logger, level, message template)
    at WARNING and above; the first record let through after a suppression carries
    ``suppressed`` (how many were dropped). Request lines (INFO) are never dropped."""

    def __init__(self, burst: int = FLOOD_BURST, window: float = FLOOD_WINDOW_SECONDS,
                 max_keys: int = FLOOD_MAX_KEYS, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        super().__init__()
        self.burst, self.window, self.max_keys, self.clock = burst, window, max_keys, clock
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # key: [start, n, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg)[:200])
        now = self.clock()
        state = self._seen.get(key)
        if state is None or now - state[0] >= self.window:
            dropped = int(state[2]) if state else 0
            if state is None and len(self._seen) >= self.max_keys:
                self._forget(now)
            self._seen[key] = [now, 1, 0]
            if dropped:
                record.suppressed = dropped
            return True
        state[1] += 1
        if state[1] > self.burst:
            state[2] += 1
            return False
        return True

    def _forget(self, now: float) -> None:
        for key, state in list(self._seen.items()):
            if now - state[0] >= self.window and not state[2]:
                del self._seen[key]
        if len(self._seen) >= self.max_keys:  # everything is flooding: start over
            self._seen.clear()


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in record.__dict__.items()
            if k not in _RESERVED and k != "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, msg, request_id and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": pseudonymise(record.getMessage()),
            "request_id": str(getattr(record, "request_id", "-")),
        }
        for key, value in _extras(record).items():
            if key not in out:
                value = value if isinstance(value, int | float | bool) else str(value)
                out[key] = pseudonymise(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = pseudonymise(self.formatException(record.exc_info))
        text = json.dumps(out, ensure_ascii=False)
        # Lone surrogates as \\uXXXX (valid JSON); U+2028/9 escaped for line readers.
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class TextFormatter(logging.Formatter):
    """``time level [request id] logger: message key=value ...``, one line a record
    (a traceback follows on lines that start with ``  | ``)."""

    def format(self, record: logging.LogRecord) -> str:
        head = (f"{self.formatTime(record)} {record.levelname:<7} "
                f"[{escape(getattr(record, 'request_id', '-'))}] {escape(record.name)}: "
                f"{escape(pseudonymise(record.getMessage()))}")
        extras = [f"{escape(k)}={escape(pseudonymise(str(v)))}"
                  for k, v in _extras(record).items()]
        line = head + (" " + " ".join(extras) if extras else "")
        trace = ""
        if record.exc_info:
            trace = self.formatException(record.exc_info)
        if record.stack_info:
            trace += ("\n" if trace else "") + self.formatStack(record.stack_info)
        if trace:
            line += "".join(f"\n  | {escape(part)}"
                            for part in pseudonymise(trace).splitlines())
        return line


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    """Route the root logger to stderr in the chosen format (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    handler.addFilter(FloodFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_kontor", False):
            root.removeHandler(old)
    handler._kontor = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
