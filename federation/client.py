"""Signed HTTP requests to other nodes.

Every request goes to the address discovery found for the destination server name
(``federation.discovery``), through a connector that refuses loopback, private and
link-local addresses unless the operator allows them, with the name resolved once and
the checked address connected to (``federation.netguard``). HTTPS with certificate
verification is the default; plain HTTP only under the development switch.

The request is signed per docs/protocol.md: RFC 9421 over ``@method``, ``@target-uri``,
``content-digest`` and ``kontor-destination``. The target URI is always
``<scheme>://<destination server name><path and query>``, and the ``Host`` header names
the destination server, whatever address it was reached at, so the receiver can rebuild
the URI from its own server name.
"""

from __future__ import annotations

import json
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yarl

from federation.discovery import Destination, Discovery, DiscoveryError
from federation.errors import FederationError
from federation.policy import DestinationDenied, ServerPolicy
from federation.sender import DeliveryError
from federation.servername import InvalidServerName
from federation.signatures import sign_kontor_request

MAX_RESPONSE = 4 * 1024 * 1024
FED_PREFIX = "/_kontor/federation/v1"


class RemoteError(FederationError):
    """The remote node answered with an error (``remote_status``, ``code``) or not at
    all (``remote_status`` 0). Answered 502 when it ends a request of ours."""

    status = 502

    def __init__(self, destination: str, remote_status: int, code: str, message: str) -> None:
        super().__init__(f"{destination}: {remote_status or 'unreachable'} {code}: {message}",
                         code=code)
        self.destination, self.remote_status = destination, remote_status


class DeniedRemote(RemoteError):
    """Not sent: the local ``[federation]`` policy does not federate with it (403
    ``DESTINATION_DENIED``)."""

    status = 403


@dataclass(frozen=True)
class Identity:
    """Who we are when we sign: server name, key id and a signing function."""

    server_name: str
    key_id: str
    sign: Callable[[bytes], bytes]


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificate-verifying TLS context, trusting ``ca_file`` in addition if given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context


class FederationClient:
    """Signed requests to other nodes over one aiohttp session."""

    def __init__(self, identity: Identity, discovery: Discovery,
                 session: aiohttp.ClientSession, *, scheme: str = "https",
                 tls: ssl.SSLContext | None = None, timeout: float = 30.0,
                 clock: Callable[[], float] = time.time,
                 policy: ServerPolicy | None = None) -> None:
        self.policy = policy or ServerPolicy()
        self.identity = identity
        self.discovery = discovery
        self.session = session
        self.scheme = scheme
        self.tls = tls
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=10)
        self.clock = clock

    async def request(self, destination: str, method: str, path: str,
                      body: dict[str, Any] | None = None) -> Any:
        """A signed request; the decoded JSON answer, or RemoteError (DeniedRemote when
        the policy does not federate with ``destination``)."""
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        path = yarl.URL(path).raw_path_qs  # exactly the path aiohttp will put on the wire
        headers = self._signed(method, destination, path, raw)
        if body is not None:
            headers["Content-Type"] = "application/json"
        return await self._send(destination, method, path, raw, headers)

    async def fetch_keys(self, destination: str) -> Any:
        """The destination's key document (an unsigned request)."""
        return await self._send(destination, "GET", FED_PREFIX + "/keys", b"", {})

    async def get_public(self, destination: str, path: str) -> Any:
        """An unsigned GET of a public document (profile, catalog)."""
        return await self._send(destination, "GET", path, b"", {})

    def _permit(self, destination: str) -> None:
        if not self.policy.permits(destination):
            denied = DestinationDenied(destination)
            raise DeniedRemote(destination, denied.status, denied.code, str(denied))

    async def _resolve(self, destination: str) -> tuple[Destination, dict[str, Any]]:
        """Where ``destination`` lives, and the TLS arguments for the connection."""
        self._permit(destination)
        try:
            found = await self.discovery.resolve(destination)
        except (DiscoveryError, InvalidServerName) as exc:
            raise RemoteError(destination, 0, "DISCOVERY_FAILED", str(exc)) from None
        kwargs: dict[str, Any] = {}
        if self.scheme == "https":
            kwargs["ssl"] = self.tls or True
            kwargs["server_hostname"] = found.tls_name
        return found, kwargs

    def _signed(self, method: str, destination: str, path: str, raw: bytes) -> dict[str, str]:
        return sign_kontor_request(method, f"{self.scheme}://{destination}{path}", raw,
                                   self.identity.server_name, destination,
                                   self.identity.key_id, self.identity.sign,
                                   int(self.clock()))

    async def _send(self, destination: str, method: str, path: str, raw: bytes,
                    headers: dict[str, str]) -> Any:
        found, kwargs = await self._resolve(destination)
        url = yarl.URL(found.base_url + path, encoded=True)
        headers = {**headers, "Host": destination}
        try:
            async with self.session.request(method, url, data=raw or None, headers=headers,
                                            timeout=self.timeout, allow_redirects=False,
                                            **kwargs) as resp:
                body = await _read_limited(resp, MAX_RESPONSE)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RemoteError(destination, 0, "UNREACHABLE",
                              f"{type(exc).__name__}: {exc}") from None
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            raise RemoteError(destination, status, "BAD_RESPONSE",
                              "the answer is not JSON") from None
        if status >= 400:
            error = data.get("error", {}) if isinstance(data, dict) else {}
            error = error if isinstance(error, dict) else {}
            raise RemoteError(destination, status, str(error.get("code", "HTTP_ERROR"))[:64],
                              str(error.get("message", ""))[:300])
        return data

    async def fetch_media(self, destination: str, media_id: str, out: Path,
                          limit: int) -> int:
        """Download a media blob (signed request) into ``out``; returns its size.
        RemoteError on an error answer or when it is larger than ``limit``."""
        path = f"{FED_PREFIX}/media/{media_id}"
        headers = self._signed("GET", destination, path, b"")
        found, kwargs = await self._resolve(destination)
        try:
            async with self.session.get(yarl.URL(found.base_url + path, encoded=True),
                                        headers={**headers, "Host": destination},
                                        timeout=aiohttp.ClientTimeout(total=None,
                                                                      sock_read=60),
                                        allow_redirects=False, **kwargs) as resp:
                if resp.status != 200:
                    body = await _read_limited(resp, 64 * 1024)
                    raise RemoteError(destination, resp.status, "MEDIA_UNAVAILABLE",
                                      body[:200].decode(errors="replace"))
                return await _save(resp, out, limit, destination)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RemoteError(destination, 0, "UNREACHABLE",
                              f"{type(exc).__name__}: {exc}") from None

    async def send_transaction(self, destination: str, txn_id: str,
                               body: dict[str, Any]) -> dict[str, Any]:
        """Deliver one outbox transaction (the ``Sender``'s transport)."""
        try:
            answer = await self.request(destination, "PUT", f"{FED_PREFIX}/send/{txn_id}",
                                        body)
        except RemoteError as exc:
            status = exc.remote_status
            permanent = 400 <= status < 500 and status not in (401, 408, 421, 429)
            raise DeliveryError(str(exc), permanent=permanent, code=exc.code) from None
        return answer if isinstance(answer, dict) else {}


async def _save(resp: aiohttp.ClientResponse, out: Path, limit: int, destination: str) -> int:
    """Stream the body into the new file ``out`` (synced); its size. RemoteError 413
    when it grows past ``limit``."""
    size = 0
    with open(out, "xb") as fh:
        async for chunk in resp.content.iter_chunked(256 * 1024):
            size += len(chunk)
            if size > limit:
                raise RemoteError(destination, 413, "TOO_LARGE",
                                  f"media larger than {limit} bytes")
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    return size


async def _read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        part = await resp.content.read(65536)
        if not part:
            return b"".join(parts)
        size += len(part)
        if size > limit:
            raise RemoteError(resp.url.host or "?", resp.status, "RESPONSE_TOO_LARGE",
                              f"answer larger than {limit} bytes")
        parts.append(part)
