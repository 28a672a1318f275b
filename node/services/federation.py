"""The node's outbound side of federation: remote device lists and claims.

``FederationLink`` is what the rest of the node uses to reach other nodes: it holds the
remote device lists (``devices``, a ``RemoteDevices``: fetched, verified, cached),
proxies one-time prekey claims, and wakes the outbox.
``remote_failure`` is the one translation of a failed request to another node into
what a local client is told. (The inbound side is ``node.services.inbound``; which of
local or remote answers a client is ``node.services.routing``.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from federation.client import DeniedRemote, RemoteError
from federation.errors import FederationError
from federation.policy import DestinationDenied
from federation.sender import Sender
from node.errors import BadRequest, Forbidden, KontorError, Unavailable
from node.protocol.names import server_of
from node.services import keycheck
from node.services.remote_devices import RemoteDevices
from node.storage.db import Database

log = logging.getLogger("kontor.federation")

FED_PREFIX = "/_kontor/federation/v1"
MAX_DEVICES = 100


class FederationClient(Protocol):
    """Signed requests to other nodes (``federation.client.FederationClient``)."""

    async def request(self, destination: str, method: str, path: str,
                      body: dict[str, Any] | None = None) -> Any: ...


@dataclass
class FederationLink:
    """Reaching other nodes on behalf of local clients."""

    db: Database
    client: FederationClient
    sender: Sender
    server_name: str
    devices: RemoteDevices = field(init=False)  # the one owner of remote device lists

    def __post_init__(self) -> None:
        self.devices = RemoteDevices(self.db, self._fetch_devices)

    def wake(self, destination: str) -> None:
        self.sender.wake(destination)

    async def close(self) -> None:
        """Stop the device-list fetches under way (before the client's session closes)."""
        await self.devices.close()

    async def _fetch_devices(self, address: str) -> list[dict[str, Any]]:
        """The remote account's devices from its node, verified (``RemoteDevices``
        calls this; everyone else asks ``devices``)."""
        answer = await self._call(server_of(address), "GET",
                                  f"{FED_PREFIX}/devices/{quote(address)}")
        return self._checked_devices(address, answer)

    async def claim(self, address: str, device_ids: list[str] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"address": address}
        if device_ids is not None:
            body["device_ids"] = device_ids
        answer = await self._call(server_of(address), "POST", f"{FED_PREFIX}/claim", body)
        devices = self._checked_devices(address, answer, claimed=True)
        return {"address": address, "devices": devices}

    async def _call(self, destination: str, method: str, path: str,
                    body: dict[str, Any] | None = None) -> Any:
        try:
            return await self.client.request(destination, method, path, body)
        except FederationError as exc:
            unknown = Forbidden(f"{destination} does not know that account",
                                code="UNKNOWN_ACCOUNT", status=404)
            raise remote_failure(exc, destination, unknown, keep_code=True) from None

    def _checked_devices(self, address: str, answer: Any,
                         claimed: bool = False) -> list[dict[str, Any]]:
        devices = answer.get("devices") if isinstance(answer, dict) else None
        if not isinstance(devices, list) or len(devices) > MAX_DEVICES:
            raise Unavailable(f"{server_of(address)} sent a malformed device list",
                              code="REMOTE_MALFORMED")
        out = []
        for device in devices:
            try:
                keycheck.check_bundle(device, address, claimed)
            except BadRequest as exc:
                log.warning("dropping a device of %s with bad keys: %s", address, exc.message)
                continue
            out.append(device)
        return out


def remote_failure(exc: FederationError, destination: str, not_found: KontorError, *,
                   gone: tuple[int, ...] = (404,), keep_code: bool = False) -> KontorError:
    """What a local client is told when a request to ``destination`` failed: our own
    policy refused it (403 ``DESTINATION_DENIED``, nothing was sent); the peer has no
    such thing (``not_found``, for the peer's statuses in ``gone``); the peer refused
    (403 with the peer's code, such as ``BLOCKED`` or ``ORIGIN_DENIED``); else 503, with
    the failure's own code when ``keep_code`` (``UNREACHABLE``, ``DISCOVERY_FAILED``,
    ...), ``REMOTE_UNAVAILABLE`` otherwise."""
    status = exc.remote_status if isinstance(exc, RemoteError) else 0
    if isinstance(exc, DeniedRemote | DestinationDenied):
        return Forbidden(str(DestinationDenied(destination)), code="DESTINATION_DENIED")
    if status in gone:
        return not_found
    if status == 403:
        return Forbidden(f"{destination} refuses this: {exc}", code=exc.code)
    code = exc.code if keep_code and exc.code else "REMOTE_UNAVAILABLE"
    return Unavailable(f"cannot reach {destination}: {exc}", code=code)
