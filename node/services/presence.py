"""Who on the team has which conversation open: ephemeral, in memory, never stored.

A team device announces that it shows a conversation (``POST
/business/conversations/{address}/viewing``); the node sends one ``viewing`` frame to
every other live WebSocket of the team on this node at once, and keeps only the latest
announcement of each connected device: a socket that opens is told what the others
show now, and when a device's last socket closes (its tab closed) its announcement ends
for the others. Nothing reaches a device that is not connected (no stream event, no
long-poll answer): being late about who is looking is useless. An announcement holds
for ``TTL_MS``; apps repeat it while the conversation stays open, send ``viewing:
false`` when they leave it, and treat one past its ``expires_ms`` as ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from node.services.accounts import Requester, now_ms
from node.services.business.context import require_team

log = logging.getLogger("kontor.presence")

TTL_MS = 30_000
SEND_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Viewing:
    account: str
    device_id: str
    conversation: str
    expires_ms: int

    def frame(self, viewing: bool) -> dict[str, Any]:
        return {"type": "viewing", "conversation": self.conversation, "account": self.account,
                "device_id": self.device_id, "viewing": viewing,
                "expires_ms": self.expires_ms if viewing else now_ms()}


class Presence:
    """The team's live sockets by device, and each device's latest announcement."""

    def __init__(self) -> None:
        self._sockets: dict[int, set[web.WebSocketResponse]] = {}
        self._viewing: dict[int, Viewing] = {}

    async def attach(self, device_pk: int, ws: web.WebSocketResponse) -> None:
        """A team device's socket is open (call for team members' sockets only); it is
        told at once what the other devices show now."""
        self._sockets.setdefault(device_pk, set()).add(ws)
        now = now_ms()
        for pk, entry in list(self._viewing.items()):
            if pk != device_pk and entry.expires_ms > now:
                await self._send(ws, entry.frame(True))

    async def detach(self, device_pk: int, ws: web.WebSocketResponse) -> None:
        """The socket closed; the device's announcement ends with its last socket."""
        sockets = self._sockets.get(device_pk, set())
        sockets.discard(ws)
        if sockets:
            return
        self._sockets.pop(device_pk, None)
        last = self._viewing.pop(device_pk, None)
        if last is not None and last.expires_ms > now_ms():
            await self._fan_out(device_pk, last.frame(False))

    def live(self, device_pk: int) -> int:
        """How many sockets of the device are attached (for tests)."""
        return len(self._sockets.get(device_pk, ()))

    async def announce(self, who: Requester, conversation: str, viewing: bool) -> dict[str, Any]:
        """Tell the rest of the team that ``who`` shows (or left) ``conversation``. Kept
        only while the device has a socket open (else nobody could end it)."""
        require_team(who)
        entry = Viewing(who.address, who.device_id, conversation, now_ms() + TTL_MS)
        if viewing and who.device_pk in self._sockets:
            self._viewing[who.device_pk] = entry
        elif (self._viewing.get(who.device_pk) or entry).conversation == conversation:
            self._viewing.pop(who.device_pk, None)
        sent = await self._fan_out(who.device_pk, entry.frame(viewing))
        return {"conversation": conversation, "viewing": viewing,
                "expires_ms": entry.expires_ms if viewing else None, "sockets": sent}

    async def _fan_out(self, sender_pk: int, frame: dict[str, Any]) -> int:
        targets = [ws for pk, sockets in self._sockets.items() if pk != sender_pk
                   for ws in sockets if not ws.closed]
        results = await asyncio.gather(*(self._send(ws, frame) for ws in targets))
        return sum(results)

    @staticmethod
    async def _send(ws: web.WebSocketResponse, frame: dict[str, Any]) -> bool:
        """One frame to one socket; a slow or broken socket is skipped, not waited for."""
        with contextlib.suppress(ConnectionError, RuntimeError, TimeoutError):
            await asyncio.wait_for(ws.send_json(frame), SEND_TIMEOUT_SECONDS)
            return True
        log.info("a viewing frame was not sent to a team socket")
        return False
