"""Running the node: listen, serve until SIGTERM/SIGINT, then shut down cleanly.

On a stop signal the listener closes first, in-flight requests get
``[http] shutdown_grace_seconds`` to finish, then background work stops and the
database closes (``app.cleanup_ctx`` teardown).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl

from aiohttp import web

from node.app import create_app
from node.config import Config

log = logging.getLogger("kontor.server")


def ssl_context(config: Config) -> ssl.SSLContext | None:
    """A server TLS context when [tls] is configured."""
    if not config.tls.cert_file:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(config.tls.cert_file, config.tls.key_file)
    return ctx


async def serve(config: Config, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set or a SIGTERM/SIGINT arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None,
                           shutdown_timeout=float(config.http.shutdown_grace_seconds))
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.http.listen_host, config.http.listen_port,
                           ssl_context=ssl_context(config), reuse_address=True)
        await site.start()
        log.info("kontor node %s listening on %s", config.node.server_name,
                 ", ".join(_bound(runner)))
        await stop.wait()
        log.info("stop requested; finishing in-flight requests")
    finally:
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped cleanly")


def _bound(runner: web.AppRunner) -> list[str]:
    out = []
    for server in runner.sites:
        sockets = getattr(getattr(server, "_server", None), "sockets", None) or []
        for sock in sockets:
            host, port = sock.getsockname()[:2]
            out.append(f"{host}:{port}")
    return out
