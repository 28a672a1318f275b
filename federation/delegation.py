"""What DNS SRV records and the well-known document say about where a server lives:
choosing among SRV records (RFC 2782), checking each, and reading a well-known answer
(its body and its cache lifetime). No I/O here; ``federation.discovery`` asks.
"""

from __future__ import annotations

import json
import logging
import random
import re
from dataclasses import dataclass
from typing import Any

from federation.servername import InvalidServerName, ServerName, parse_server_name

log = logging.getLogger("kontor.federation.discovery")

WELL_KNOWN_TTL = (60.0, 86400.0, 3600.0)  # min, max, default
_MAX_AGE = re.compile(r"^\s*max-age\s*=\s*\"?([0-9]{1,10})\"?\s*$", re.IGNORECASE)


class InvalidWellKnown(InvalidServerName):
    """A well-known answer that is not a JSON object with a valid ``"server"``."""

    code = "INVALID_WELL_KNOWN"


@dataclass(frozen=True)
class SrvRecord:
    """One usable SRV record (target without the final dot)."""

    priority: int
    weight: int
    port: int
    target: str


def choose_srv(records: list[SrvRecord], rng: random.Random) -> SrvRecord:
    """RFC 2782: lowest priority, then a weighted random pick.

    A number in [0, sum of weights] picks the first record, zero weights first, whose
    running sum reaches it; so a weight-0 record has the RFC's small 1/(sum+1) chance."""
    best = min(r.priority for r in records)
    group = sorted((r for r in records if r.priority == best), key=lambda r: r.weight != 0)
    point = rng.randint(0, sum(r.weight for r in group))
    running = 0
    for record in group:
        running += record.weight
        if running >= point:
            return record
    return group[-1]


def cache_ttl(cache_control: str | None) -> float:
    """Seconds to keep a well-known answer, from Cache-Control max-age, bounded."""
    low, high, default = WELL_KNOWN_TTL
    for directive in (cache_control or "").split(","):
        match = _MAX_AGE.match(directive)
        if match:
            return min(max(float(match.group(1)), low), high)
    return default


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise InvalidWellKnown("duplicate key in JSON object")
    return dict(pairs)


def _reject_constant(name: str) -> Any:
    raise InvalidWellKnown(f"{name} is not JSON")


def parse_well_known(body: bytes) -> ServerName:
    """The delegated server name from a well-known body; ``InvalidServerName`` (or its
    ``InvalidWellKnown``) when there is none."""
    try:
        doc = json.loads(body.decode("utf-8"), object_pairs_hook=_strict_object,
                         parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # also UnicodeDecodeError
        raise InvalidWellKnown(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("server"), str):
        raise InvalidWellKnown('well-known must be a JSON object with a string "server"')
    return parse_server_name(doc["server"])


def srv_record(rdata: Any) -> SrvRecord | None:
    """One SRV rdata as a record, or None (logged) when its target or port is unusable."""
    target = rdata.target.to_text(omit_final_dot=True)
    try:
        parsed = parse_server_name(target)
    except InvalidServerName:
        parsed = None
    if parsed is None or parsed.port is not None or not 1 <= rdata.port <= 65535:
        log.warning("ignoring SRV record with target %r port %s", target[:300], rdata.port)
        return None
    return SrvRecord(rdata.priority, rdata.weight, rdata.port, parsed.host)
