"""Running the node: listen, serve until SIGTERM/SIGINT, then shut down cleanly.

Every connection is counted and timed by the connection manager (node.connections).
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
from node.connections import ConnectionManager, Limits, ManagedSite

log = logging.getLogger("kontor.server")


def ssl_context(config: Config) -> ssl.SSLContext | None:
    """A server TLS context when [tls] is configured."""
    if not config.tls.cert_file:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(config.tls.cert_file, config.tls.key_file)
    return ctx


async def start(app: web.Application, config: Config,
                shutdown_timeout: float | None = None) -> web.AppRunner:
    """Start ``app`` listening as ``config`` says, every connection managed by a
    ``ConnectionManager`` (node.connections); stop it with ``runner.cleanup()``."""
    grace = float(config.http.shutdown_grace_seconds if shutdown_timeout is None
                  else shutdown_timeout)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=grace)
    await runner.setup()
    try:
        assert runner.server is not None
        manager = ConnectionManager(runner.server, Limits.from_settings(config.http))
        site = ManagedSite(runner, manager, config.http.listen_host, config.http.listen_port,
                           ssl_context=ssl_context(config))
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def serve(config: Config, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set or a SIGTERM/SIGINT arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        runner = await start(create_app(config), config)
        try:
            log.info("kontor node %s listening on %s", config.node.server_name,
                     ", ".join(_bound(runner)))
            await stop.wait()
            log.info("stop requested; finishing in-flight requests")
        finally:
            await runner.cleanup()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped cleanly")


def _bound(runner: web.AppRunner) -> list[str]:
    return [f"{address[0]}:{address[1]}" for address in runner.addresses]
