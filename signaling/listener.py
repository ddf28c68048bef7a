"""The HTTP listener of ``kotha serve``: connection limits, idle timeouts, a bounded stop.

aiohttp's own ``run_app`` keeps an idle connection (or one whose headers never
end) for 75 s, takes any number of connections from one address, and waits up
to 60 s for open requests on SIGTERM. A server on the open internet needs:

- at most ``max_connections`` connections, and ``max_connections_per_address``
  from one address (a trusted proxy is not counted per address: it carries
  everyone); a connection over the limit has its request answered ``503`` in
  JSON, and is closed after a second whatever it sends;
- a connection that sends nothing for ``http_idle_timeout_s`` closed, whether it
  never finished its headers or sits idle between requests;
- SIGTERM handled in order, within ``shutdown_timeout_s``: stop listening, end
  the calls and tell everyone (the app's ``on_shutdown``), give open requests a
  moment, finish recordings (``on_cleanup``), exit. Past the deadline the
  process exits anyway: a recording left unfinished is recovered at the next
  start, as after a crash.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from node.config import Config
from node.limits import RateLimiter, Tally

from .remote import is_trusted

logger = logging.getLogger(__name__)

__all__ = ["GUARD", "ConnectionGuard", "GuardedRunner", "connection_limits", "serve"]

# After the calls ended and the sockets closed, open requests get this long.
REQUEST_GRACE_S = 1.0


# A connection over the limits is closed this long after it opened.
REFUSED_LIFETIME_S = 1.0


class ConnectionGuard:
    """Counts connections, in all and per address, and marks those over the limits."""

    def __init__(self, config: Config) -> None:
        self._total = Tally(config.max_connections)
        self._per_address = Tally(config.max_connections_per_address)
        self._proxies = config.proxy_networks
        self._held: dict[Any, str | None] = {}  # handler -> the address counted for it
        self.refused: set[Any] = set()
        """Connections over the limits: their requests are answered 503."""

    @property
    def open_connections(self) -> int:
        return len(self._held)

    def admit(self, handler: Any, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        counted = None if is_trusted(address, self._proxies) else address
        if not self._total.acquire("*"):
            self._refuse(handler, transport, address, "the server is at its connection limit")
        elif counted is not None and not self._per_address.acquire(counted):
            self._total.release("*")
            self._refuse(handler, transport, address, "the address is at its connection limit")
        else:
            self._held[handler] = counted

    def release(self, handler: Any) -> None:
        self.refused.discard(handler)
        if handler not in self._held:
            return
        counted = self._held.pop(handler)
        self._total.release("*")
        if counted is not None:
            self._per_address.release(counted)

    def _refuse(
        self, handler: Any, transport: asyncio.BaseTransport, address: str, why: str
    ) -> None:
        logger.debug("connection from %s over the limits: %s", address, why)
        self.refused.add(handler)
        asyncio.get_running_loop().call_later(REFUSED_LIFETIME_S, transport.close)


GUARD = web.AppKey("connection_guard", ConnectionGuard)


@web.middleware
async def connection_limits(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer a request on a connection over the limits with 503, in words."""
    guard = request.app.get(GUARD)
    if guard is not None and request.protocol in guard.refused:
        return web.json_response(
            {
                "error": {
                    "code": "too_many_connections",
                    "message": "too many connections from your address (or to this server); "
                    "try again in a few seconds",
                }
            },
            status=503,
            headers={"Retry-After": "10", "Connection": "close"},
        )
    response: web.StreamResponse = await handler(request)
    return response


class BadRequestFilter(logging.Filter):
    """aiohttp logs a request it cannot parse (a header over 8 KB, say) with a traceback:
    one line per address now and then instead, so no client can fill the log."""

    def __init__(self) -> None:
        super().__init__()
        self._budget = RateLimiter(0.1, 5)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        remote = str(record.args[0]) if isinstance(record.args, tuple) and record.args else "?"
        if not self._budget.take(remote):
            return False
        record.msg, record.args = (
            "refused a malformed HTTP request from %s: %s",
            (
                remote,
                (exc.message or type(exc).__name__)[:120],
            ),
        )
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class GuardedRunner(web.AppRunner):
    """An AppRunner whose server admits connections through a :class:`ConnectionGuard`."""

    def __init__(self, app: web.Application, config: Config) -> None:
        self.guard = ConnectionGuard(config)
        app[GUARD] = self.guard
        http_logger = logging.getLogger("signaling.http")
        if not any(isinstance(f, BadRequestFilter) for f in http_logger.filters):
            http_logger.addFilter(BadRequestFilter())
        super().__init__(
            app,
            handle_signals=False,
            access_log=None,
            logger=http_logger,
            keepalive_timeout=config.http_idle_timeout_s,
            shutdown_timeout=REQUEST_GRACE_S,
        )

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp builds its Server inside the app; its two connection hooks are
        # the one place that sees every connection before a byte is read.
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: Any, transport: asyncio.Transport) -> None:
            self.guard.admit(handler, transport)
            made(handler, transport)

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            self.guard.release(handler)
            lost(handler, exc)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]
        return server


async def serve(
    app: web.Application, config: Config, *, ready: Callable[[], None] | None = None
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then stop within ``shutdown_timeout_s``."""
    runner = GuardedRunner(app, config)
    await runner.setup()
    site = web.TCPSite(
        runner, config.host, config.port, backlog=1024, reuse_port=config.reuse_port or None
    )
    await site.start()
    if ready is not None:
        ready()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    deadline = config.shutdown_timeout_s
    logger.info("stopping: calls end now, then the server exits (at most %.0f s)", deadline)
    _exit_by(deadline + 2.0)
    try:
        await asyncio.wait_for(runner.cleanup(), deadline)
    except TimeoutError:
        logger.warning(
            "stopping took longer than %.0f s; what was still running is cut off "
            "(an unfinished recording is recovered at the next start)",
            deadline,
        )
    else:
        logger.info("stopped")


def _exit_by(seconds: float) -> None:
    """Make sure the process is gone ``seconds`` from now, whatever a thread still does.

    A daemon thread: if the process ends first, it ends with it.
    """

    def watchdog() -> None:
        threading.Event().wait(seconds)
        logger.warning("exiting now: a worker thread would not stop in time")
        logging.shutdown()
        os._exit(0)

    threading.Thread(target=watchdog, name="exit-watchdog", daemon=True).start()
