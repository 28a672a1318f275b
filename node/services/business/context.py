"""What every business service needs: the database, wake-ups, configuration, node key,
and who may do what."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from node.config import Config
from node.errors import Forbidden
from node.nodekey import NodeKey
from node.protocol.names import READER_ROLES, TEAM_ROLES, Role
from node.services.accounts import Requester
from node.services.notifier import Notifier
from node.storage.db import Database

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Business:
    """The business this node hosts."""

    db: Database
    notifier: Notifier
    config: Config
    node_key: NodeKey

    @property
    def server_name(self) -> str:
        return self.config.node.server_name

    @property
    def address(self) -> str:
        return f"{self.config.business.account}@{self.config.node.server_name}"


def operator(biz: Business) -> Requester:
    """The operator at the node's shell (``kontor business ...``): an admin speaking for
    the business, without a device."""
    return Requester(address=biz.address, device_id="operator", device_pk=0, role=Role.ADMIN)


def require_admin(who: Requester) -> None:
    """403 FORBIDDEN_ROLE unless ``who`` is an admin."""
    if who.role != Role.ADMIN:
        raise Forbidden("only the business's admins may do this", code="FORBIDDEN_ROLE")


def require_team(who: Requester) -> None:
    """403 FORBIDDEN_ROLE unless ``who`` is an admin or an agent."""
    if who.role not in TEAM_ROLES:
        raise Forbidden("only the business's admins and agents may do this",
                        code="FORBIDDEN_ROLE")


def require_reader(who: Requester) -> None:
    """403 FORBIDDEN_ROLE unless ``who`` is on the team (or the automation account)."""
    if who.role not in READER_ROLES:
        raise Forbidden("only the business's team may see this", code="FORBIDDEN_ROLE")


@lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    """IANA zone names this machine knows (the system database or the tzdata package)."""
    return frozenset(zoneinfo.available_timezones())


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone ``name``; UTC for an unknown or empty name."""
    if name and name in known_timezones():
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo("UTC")


def local_day(ts_ms: int, tz: zoneinfo.ZoneInfo) -> str:
    """``YYYY-MM-DD`` of ``ts_ms`` in ``tz``."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(tz).date().isoformat()
