"""How the SDK reaches a node: the ``Transport`` interface and its HTTP implementation.

``Transport`` is what ``Client``'s core needs (account, keys, device lists, sending,
receiving); the node's own automation device implements it in-process
(``node.services.automation_device``). ``HttpTransport`` implements it over the client
API, one method per route, and adds what only apps use (media, the WebSocket, the
business routes through ``request``). Errors become ``ApiError``.
"""

from __future__ import annotations

import contextlib
import json
import ssl as ssl_module
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

from node.client.errors import (
    BadResponse,
    ConnectionFailed,
    DeviceRevoked,
    ServerError,
    api_error,
)

PREFIX = "/_kontor/client/v1"
MAX_RESPONSE = 16 * 1024 * 1024
WS_CLOSE_DEVICE_REVOKED = 4001


class Transport(Protocol):
    """What the SDK's core needs of a node; errors are the SDK's (``ApiError``)."""

    base_url: str
    token: str | None

    async def close(self) -> None: ...
    async def logout(self) -> None: ...
    async def account(self) -> dict[str, Any]: ...
    async def upload_keys(self, body: dict[str, Any]) -> int: ...
    async def prekey_count(self) -> int: ...
    async def devices(self, address: str) -> list[dict[str, Any]]: ...
    async def claim(self, address: str, device_ids: list[str] | None = None
                    ) -> list[dict[str, Any]]: ...
    async def send(self, txn_id: str, sender: str, to: str,
                   envelopes: dict[str, dict[str, str]],
                   repair: str | None = None) -> dict[str, Any]: ...
    async def sync(self, since: int, timeout_ms: int = 0, limit: int = 100,
                   epoch: str | None = None) -> dict[str, Any]: ...
    async def ack(self, up_to: int, epoch: str | None = None) -> None: ...


class HttpTransport:
    """A node's client API over one aiohttp session."""

    def __init__(self, base_url: str, token: str | None = None,
                 session: aiohttp.ClientSession | None = None,
                 ssl: ssl_module.SSLContext | None = None) -> None:
        """``ssl``: a context to trust a private CA (default: the system's CAs)."""
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._own_session = session is None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        #: Called (once per answer) when the node says ``DEVICE_REVOKED``, before the
        #: ``DeviceRevoked`` error is raised: the ``Client`` wipes its store there.
        self.on_revoked: Callable[[], None] | None = None
        self._session = session or aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl if ssl is not None else True),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60))

    async def close(self) -> None:
        if self._own_session:
            await self._session.close()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(self, method: str, path: str, body: Any = None,
                      params: dict[str, Any] | None = None) -> Any:
        """One JSON call of the client API; ApiError (a subclass per status) or
        ConnectionFailed."""
        with _wrapped(self.on_revoked):
            async with self._session.request(method, self.base_url + PREFIX + path,
                                             json=body, params=params,
                                             headers=self._headers()) as resp:
                return _decode(resp, await _read_all(resp, MAX_RESPONSE + 1))

    async def register(self, username: str, password: str, invite: str | None,
                       device_name: str) -> dict[str, Any]:
        body = {"username": username, "password": password, "device_name": device_name}
        if invite:
            body["invite"] = invite
        return await self.request("POST", "/register", body)

    async def login(self, username: str, password: str, device_name: str) -> dict[str, Any]:
        return await self.request("POST", "/login", {
            "username": username, "password": password, "device_name": device_name})

    async def logout(self) -> None:
        await self.request("POST", "/logout", {})

    async def account(self) -> dict[str, Any]:
        return await self.request("GET", "/account")

    async def upload_keys(self, body: dict[str, Any]) -> int:
        return (await self.request("PUT", "/keys", body))["one_time_prekeys"]

    async def prekey_count(self) -> int:
        return (await self.request("GET", "/keys/count"))["one_time_prekeys"]

    async def devices(self, address: str) -> list[dict[str, Any]]:
        return (await self.request("GET", f"/keys/devices/{quote(address)}"))["devices"]

    async def claim(self, address: str, device_ids: list[str] | None = None
                    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"address": address}
        if device_ids is not None:
            body["device_ids"] = device_ids
        return (await self.request("POST", "/keys/claim", body))["devices"]

    async def send(self, txn_id: str, sender: str, to: str,
                   envelopes: dict[str, dict[str, str]],
                   repair: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"from": sender, "to": to, "envelopes": envelopes}
        if repair is not None:  # complete an earlier message for the devices named
            body["repair"] = repair
        return await self.request("PUT", f"/send/{txn_id}", body)

    async def sync(self, since: int, timeout_ms: int = 0, limit: int = 100,
                   epoch: str | None = None) -> dict[str, Any]:
        """``epoch``: the node's stream epoch the device last saw (docs/protocol.md)."""
        params: dict[str, Any] = {"since": since, "timeout": timeout_ms, "limit": limit}
        if epoch:
            params["epoch"] = epoch
        return await self.request("GET", "/sync", params=params)

    async def ack(self, up_to: int, epoch: str | None = None) -> None:
        await self.request("POST", "/sync/ack",
                           {"up_to": up_to, **({"epoch": epoch} if epoch else {})})

    async def upload_media(self, data: bytes | AsyncIterator[bytes]) -> dict[str, Any]:
        """Upload encrypted bytes, whole or as they are produced (no file in memory)."""
        with _wrapped(self.on_revoked):
            async with self._session.post(
                    self.base_url + PREFIX + "/media", data=data,
                    headers={**self._headers(),
                             "Content-Type": "application/octet-stream"}) as r:
                return _decode(r, await _read_all(r, MAX_RESPONSE + 1))

    async def download_media_to(self, media_id: str, out: Path, limit: int,
                                server: str | None = None) -> int:
        """Stream a blob into the new file ``out``; returns its size."""
        params = {"server": server} if server else None
        with _wrapped(self.on_revoked):
            async with self._session.get(self.base_url + PREFIX + f"/media/{quote(media_id)}",
                                         params=params, headers=self._headers()) as r:
                if r.status != 200:
                    _decode(r, await _read_all(r, MAX_RESPONSE + 1))
                size = 0
                with open(out, "xb") as fh:
                    async for chunk in r.content.iter_chunked(256 * 1024):
                        size += len(chunk)
                        if size > limit:
                            raise BadResponse(r.status, "TOO_LARGE",
                                              f"media larger than {limit} bytes")
                        fh.write(chunk)
                return size

    async def download_media(self, media_id: str, limit: int,
                             server: str | None = None) -> bytes:
        params = {"server": server} if server else None
        with _wrapped(self.on_revoked):
            async with self._session.get(self.base_url + PREFIX + f"/media/{quote(media_id)}",
                                         params=params, headers=self._headers()) as r:
                raw = await _read_all(r, limit + 1)
            if r.status != 200:
                _decode(r, raw)
        if len(raw) > limit:
            raise BadResponse(r.status, "TOO_LARGE", f"media larger than {limit} bytes")
        return raw

    async def websocket(self, since: int,
                        epoch: str | None = None) -> AsyncIterator[dict[str, Any]]:
        """Yield pushed event batches until the socket closes (ConnectionFailed when it
        breaks, BadResponse for a frame that is not JSON)."""
        params: dict[str, Any] = {"since": since, **({"epoch": epoch} if epoch else {})}
        with _wrapped(self.on_revoked):
            async with self._session.ws_connect(
                    self.base_url + PREFIX + "/ws", params=params,
                    headers=self._headers(), heartbeat=30.0, max_msg_size=MAX_RESPONSE) as ws:
                self._ws = ws
                try:
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        yield _json_frame(msg.data)
                finally:
                    self._ws = None
                if ws.close_code == WS_CLOSE_DEVICE_REVOKED:
                    raise api_error(401, "DEVICE_REVOKED", "the node revoked this device")

    async def ws_ack(self, up_to: int, epoch: str | None = None) -> bool:
        """Acknowledge over the open socket; False when there is none."""
        ws = self._ws
        if ws is None or ws.closed:
            return False
        with _wrapped(self.on_revoked):
            await ws.send_json({"type": "ack", "up_to": up_to,
                                **({"epoch": epoch} if epoch else {})})
        return True


@contextlib.contextmanager
def _wrapped(on_revoked: Callable[[], None] | None = None) -> Iterator[None]:
    """Network failures become ConnectionFailed; an upgrade refused, an ApiError;
    ``DeviceRevoked`` first calls ``on_revoked``."""
    try:
        yield
    except DeviceRevoked:
        if on_revoked is not None:
            on_revoked()
        raise
    except aiohttp.WSServerHandshakeError as exc:
        raise api_error(exc.status, "WEBSOCKET_REFUSED", exc.message or "refused") from None
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        raise ConnectionFailed(f"connection to the node failed: {exc or type(exc).__name__}"
                               ) from exc


def _json_frame(data: str) -> dict[str, Any]:
    try:
        frame = json.loads(data)
    except ValueError:
        raise BadResponse(200, "BAD_RESPONSE", "a WebSocket frame is not JSON") from None
    if not isinstance(frame, dict):
        raise BadResponse(200, "BAD_RESPONSE", "a WebSocket frame is not an object")
    return frame


async def _read_all(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or its first ``limit`` bytes when it is longer."""
    parts, size = [], 0
    while size < limit:
        part = await resp.content.read(min(65536, limit - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _decode(resp: aiohttp.ClientResponse, raw: bytes) -> Any:
    """The JSON body of an answer; the ApiError subclass for an error status."""
    status = resp.status
    if len(raw) > MAX_RESPONSE:
        raise BadResponse(status, "RESPONSE_TOO_LARGE", "the node's answer is too large")
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        if status >= 500:
            raise ServerError(status, "BAD_RESPONSE", f"HTTP {status} without JSON") from None
        raise BadResponse(status, "BAD_RESPONSE", "the node did not answer with JSON") from None
    if status >= 400:
        err = body.get("error", {}) if isinstance(body, dict) else {}
        err = err if isinstance(err, dict) else {}
        details = {k: v for k, v in err.items() if k not in ("code", "message")}
        raise api_error(status, str(err.get("code", "HTTP_ERROR")),
                        str(err.get("message", f"HTTP {status}")), details,
                        _retry_after(resp.headers.get("Retry-After")))
    return body


def _retry_after(header: str | None) -> float | None:
    try:
        return min(max(float(header), 0.0), 3600.0) if header else None
    except ValueError:
        return None
