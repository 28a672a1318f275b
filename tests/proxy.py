"""Forwarding proxies on loopback between a device and its node, for tests of a flaky
network: ``ForwardingProxy`` passes everything on; subclasses lose or refuse answers.
Each runs for an ``async with`` block (or between ``start()`` and ``stop()``)."""

from __future__ import annotations

import asyncio
from typing import Self

import aiohttp
from aiohttp import web

from tests.nodes import free_port

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length",
               "content-encoding", "host"}


class ForwardingProxy:
    """Forwards every request to ``upstream`` and its answer back; override ``_forward``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> Self:
        """``async with SomeProxy(node.url) as proxy:`` runs it for the block."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def relay(self, request: web.Request) -> web.Response:
        """The node's answer to ``request``, as a response for the device."""
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with self._session.request(request.method, self.upstream + request.path_qs,
                                         headers=headers, data=await request.read(),
                                         allow_redirects=False) as answer:
            body = await answer.read()
            out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
        return web.Response(status=answer.status, body=body, headers=out)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        return await self.relay(request)


class AnswerLosingProxy(ForwardingProxy):
    """After the node handled a send, loses its answer as ``losing`` says, one entry a
    send: ``"504"`` or ``"drop"`` (the connection closes; aiohttp retries that once by
    itself, so a drop the app sees takes two)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.losing, self.lost, self.sends = list[str](), 0, 0

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        answer = await self.relay(request)
        if request.method == "PUT" and "/send/" in request.path:
            self.sends += 1
            if answer.status == 200 and self.losing:
                self.lost += 1
                if self.losing.pop(0) == "504":
                    return web.Response(status=504, text="<html>504 Gateway Time-out</html>",
                                        content_type="text/html")
                assert request.transport is not None
                request.transport.close()  # the connection drops before the answer
                raise ConnectionResetError("answer lost")
        return answer


class UploadProxy(ForwardingProxy):
    """Acts on ``PUT /history/items`` (the upload of sealed history copies): while
    ``refusing``, answers 503 without passing it on; after ``hold()``, keeps the node's
    answer to the next one until ``release()`` (30 s at most). ``puts`` counts those
    that reached the node. Requests named in ``cut`` (``"GET /history/devices"``) lose
    their connection before they reach the node, as when the network goes away; those
    named in ``garble`` get a 200 with an HTML page instead of the node's answer (a
    captive portal, a misconfigured proxy)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.refusing, self.refused, self.held, self.puts = False, 0, 0, 0
        self._hold_next, self._released = False, asyncio.Event()
        self.cut: set[str] = set()
        self.garble: set[str] = set()

    def hold(self) -> None:
        self._hold_next, self._released = True, asyncio.Event()

    def release(self) -> None:
        self._released.set()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if _named(request, self.cut):
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError("cut")
        if _named(request, self.garble):
            return web.Response(text="<html>Sign in to the Wi-Fi</html>",
                                content_type="text/html")
        if request.method != "PUT" or not request.path.endswith("/history/items"):
            return await self.relay(request)
        if self.refusing:
            self.refused += 1
            return web.Response(status=503, text="<html>503</html>", content_type="text/html")
        answer = await self.relay(request)
        self.puts += 1
        if self._hold_next:
            self._hold_next, self.held = False, self.held + 1
            async with asyncio.timeout(30):
                await self._released.wait()
        return answer


def _named(request: web.Request, names: set[str]) -> bool:
    """Whether ``names`` holds the request's method and path ending (``"GET /x"``)."""
    return any(request.method == name.split()[0] and request.path.endswith(name.split()[1])
               for name in names)
