"""Client API: send, long-poll sync, acknowledgements and the WebSocket push channel."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from crypto.canonicaljson import loads_json
from crypto.errors import CanonicalJsonError
from node import draining
from node.api.auth import WS_PROTOCOL, requester
from node.api.parsing import field, read_json_object
from node.appkeys import CONFIG, MESSAGING, PRESENCE
from node.errors import Conflict, DeviceRevoked, InvalidParameter
from node.protocol.names import TEAM_ROLES
from node.services import messaging
from node.services.accounts import Requester, split_address

log = logging.getLogger("kontor.client")
PREFIX = "/_kontor/client/v1"
routes = web.RouteTableDef()

TXN_ID_RE = re.compile(r"^[A-Za-z0-9._~-]{1,64}\Z")
B64_RE = re.compile(r"^[A-Za-z0-9_-]+\Z")
MAX_CIPHERTEXT = 64 * 1024
MAX_DEVICES = 100
WS_IDLE_WAIT = 25.0
UNACKED_KEPT = 1000  # pushed positions a socket remembers until they are acknowledged
WS_CLOSE_DEVICE_REVOKED = 4001


def _envelopes(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    raw = field(body, "envelopes", dict)
    if not raw or len(raw) > 2:
        raise InvalidParameter("envelopes maps the recipient and the sender to their devices",
                               code="INVALID_ENVELOPES")
    out: dict[str, dict[str, str]] = {}
    for address, per_device in raw.items():
        split_address(address)
        if not isinstance(per_device, dict) or not per_device or len(per_device) > MAX_DEVICES:
            raise InvalidParameter(f"envelopes[{address!r}] must map 1 to {MAX_DEVICES} "
                                   "device ids to ciphertexts", code="INVALID_ENVELOPES")
        for device_id, ciphertext in per_device.items():
            if (not isinstance(ciphertext, str) or not B64_RE.match(ciphertext)
                    or len(ciphertext) > MAX_CIPHERTEXT or len(device_id) > 64):
                raise InvalidParameter(f"envelope for {address}/{device_id[:64]} must be "
                                       f"base64url of at most {MAX_CIPHERTEXT} characters",
                                       code="INVALID_ENVELOPES")
        out[address] = per_device
    return out


@routes.put(PREFIX + "/send/{txn_id}", name="client.send")
async def send(request: web.Request) -> web.Response:
    who = await requester(request)
    txn_id = request.match_info["txn_id"]
    if not TXN_ID_RE.match(txn_id):
        raise InvalidParameter("txn_id is 1-64 characters of A-Z a-z 0-9 . _ ~ -",
                               code="INVALID_TXN_ID")
    body = await read_json_object(request)
    to = field(body, "to", str, max_len=320)
    split_address(to)
    sender = field(body, "from", str, required=False, max_len=320, default=who.address)
    envelopes = _envelopes(body)
    repair = field(body, "repair", str, required=False, max_len=64)
    if repair is not None and not TXN_ID_RE.match(repair):
        raise InvalidParameter("repair names a message id", code="INVALID_PARAMETER")
    result = await messaging.send(request.app[MESSAGING], who,
                                  messaging.Outgoing(txn_id, to, envelopes, sender, repair))
    return web.json_response(result)


def _int_query(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,16}", raw) or not lo <= int(raw) <= hi:
        raise InvalidParameter(f"query parameter {name} must be a whole number from {lo} "
                               f"to {hi}")
    return int(raw)


@routes.get(PREFIX + "/sync", name="client.sync")
async def sync(request: web.Request) -> web.Response:
    who = await requester(request)
    since = _int_query(request, "since", 0, 0, 2**62)
    limit = _int_query(request, "limit", 100, 1, messaging.MAX_SYNC_LIMIT)
    timeout = _int_query(request, "timeout", 0, 0, messaging.MAX_SYNC_TIMEOUT_MS)
    result = await messaging.sync(request.app[MESSAGING], who, since, limit, timeout,
                                  _epoch_query(request))
    return web.json_response(result)


def _epoch_query(request: web.Request) -> str | None:
    """``?epoch=`` as the device last saw it (absent: no check)."""
    return _epoch(request.query.get("epoch"))


def _epoch(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        raise InvalidParameter("epoch must be the node's stream epoch (1-64 of A-Z a-z 0-9 _ -)")
    return value


@routes.post(PREFIX + "/sync/ack", name="client.sync.ack")
async def ack(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await read_json_object(request)
    up_to = field(body, "up_to", int)
    if not 0 <= up_to <= 2**62:
        raise InvalidParameter("up_to must be a stream position")
    await messaging.ack(request.app[MESSAGING], who, up_to, _epoch(body.get("epoch")))
    return web.json_response({})


@routes.get(PREFIX + "/ws", name="client.ws")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    who = await requester(request, from_protocol=True)
    since = _int_query(request, "since", 0, 0, 2**62)
    epoch = _epoch_query(request)
    heartbeat = float(request.app[CONFIG].http.websocket_heartbeat_seconds)
    ws = web.WebSocketResponse(heartbeat=heartbeat, max_msg_size=4096,
                               protocols=(WS_PROTOCOL,))
    await ws.prepare(request)
    draining.register_socket(request, ws)
    m = request.app[MESSAGING]
    positions = _Positions(since, epoch)
    pusher = asyncio.create_task(_push(ws, m, who, positions))
    presence = request.app[PRESENCE] if who.role in TEAM_ROLES else None
    try:
        if presence is not None:  # the team's sockets carry who views which conversation
            await presence.attach(who.device_pk, ws)
        await _serve_socket(ws, m, who, pusher, positions)
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
        if presence is not None:
            await presence.detach(who.device_pk, ws)
    return ws


@dataclass
class _Positions:
    """One socket's stream: where its pushes start (``since``, ``epoch``), and the
    positions of the events it pushed that the device has not acknowledged through it
    yet (the newest ``UNACKED_KEPT``; one dropped only costs its ack the look for a
    repeat)."""

    since: int
    epoch: str | None
    unacked: deque[int] = dataclasses.field(
        default_factory=lambda: deque(maxlen=UNACKED_KEPT))

    def sent(self, batch: dict[str, Any]) -> None:
        self.unacked.extend(e["pos"] for e in batch["events"])

    def news(self, up_to: int) -> bool:
        """Whether an ack of ``up_to`` covers an event pushed here and not acknowledged
        yet: then it has something to delete (unless another connection of the device
        acknowledged it first: the write deletes nothing). Each such ack uses up at
        least one pushed event, so a device gets no more writes than events."""
        return bool(self.unacked) and self.unacked[0] <= up_to

    def acked(self, up_to: int) -> None:
        while self.unacked and self.unacked[0] <= up_to:
            self.unacked.popleft()


async def _serve_socket(ws: web.WebSocketResponse, m: messaging.Messaging, who: Requester,
                        pusher: asyncio.Task[bool], positions: _Positions) -> None:
    """Read the device's frames until the socket ends. A revocation the pusher hears of
    closes the socket from this task, once its receive is stopped: aiohttp then waits
    for the device's close reply before it ends the connection, so the device reads
    4001 rather than a connection dropped under its reply (1006)."""
    watching: asyncio.Task[bool] | None = pusher
    while not ws.closed:
        receiving = asyncio.ensure_future(ws.receive())
        if watching is not None:
            await asyncio.wait({receiving, watching}, return_when=asyncio.FIRST_COMPLETED)
            if not receiving.done():
                revoked = not watching.cancelled() and watching.exception() is None \
                    and watching.result()
                watching = None
                if revoked:
                    receiving.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await receiving
                    await close_revoked(ws)
                    return
        msg = await receiving
        if msg.type != WSMsgType.TEXT:
            return
        try:
            await _on_client_message(ws, m, who, positions, msg.data)
        except DeviceRevoked:
            await close_revoked(ws)


async def close_revoked(ws: web.WebSocketResponse) -> None:
    """Close a revoked device's socket with the documented code and reason."""
    await ws.close(code=WS_CLOSE_DEVICE_REVOKED, message=DeviceRevoked.code.encode())


async def _push(ws: web.WebSocketResponse, m: messaging.Messaging, who: Requester,
                positions: _Positions) -> bool:
    """Push the device's events as they come; True when it was revoked (the socket
    task closes it), False when the socket closed or the node is stopping."""
    batches = messaging.pushes(m, who, positions.since, positions.epoch, WS_IDLE_WAIT)
    try:
        async with contextlib.aclosing(batches):  # its waiter goes when the socket does
            async for batch in batches:
                if ws.closed:
                    break
                positions.sent(batch)  # (before the device can answer it)
                await ws.send_json({"type": "events", **batch})
    except DeviceRevoked:
        return True
    return False  # the socket closed, or the node is stopping (draining closes it)


async def _on_client_message(ws: web.WebSocketResponse, m: messaging.Messaging,
                             who: Requester, positions: _Positions, data: str) -> None:
    """One frame from the device; checked against the live device first."""
    if m.notifier.is_revoked(who.device_pk):
        raise DeviceRevoked()
    try:
        msg = loads_json(data, max_depth=4)  # strict, as every client input
        up_to = msg.get("up_to")
        if msg.get("type") != "ack" or not isinstance(up_to, int) \
                or isinstance(up_to, bool) or not 0 <= up_to < 2**62:
            raise ValueError
        epoch = _epoch(msg.get("epoch"))
    except (CanonicalJsonError, ValueError, AttributeError, InvalidParameter):
        await ws.send_json({"type": "error", "error": {
            "code": "INVALID_MESSAGE",
            "message": 'expected {"type": "ack", "up_to": POS, "epoch"?: EPOCH}'}})
        return
    try:
        await messaging.ack(m, who, up_to, epoch, pushed=positions.news(up_to))
        positions.acked(up_to)
    except Conflict as exc:
        await ws.send_json({"type": "error", "error": {"code": exc.code,
                                                       "message": exc.message}})
