"""The application factory: wires config, auth, the switchboard, socket.io and the pages.

``create_app`` does no I/O; the switchboard starts and stops with the app
(``cleanup_ctx``). Shutdown (``on_shutdown``, before aiohttp waits for open
requests) goes in this order: new calls are refused, every live call ends with
``call_ended`` (reason ``shutdown``) sent to its parties while their sockets are
still open, the sockets close, then the cleanup contexts finish the recordings
and close the peers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from api import audit, calls, metrics, nodes, pages, ratings, recordings, reports, webhook_status
from api import revocations as revocation_routes
from api.metrics import METRICS, Metrics
from callcenter.errors import ConfigError
from callcenter.open_registry import open_registry
from media.room import MediaPlane
from media.router import Router
from node.config import Config
from node.limits import RateLimiter
from node.switchboard import Switchboard

from .auth import TokenAuthority
from .hub import CallNamespace
from .keys import (
    API_LIMITER,
    AUTHORITY,
    CALL_NAMESPACE,
    CONFIG,
    GUEST_LIMITER,
    MEDIA_SIGNER,
    REVOCATIONS,
    SOCKETIO,
    SWITCHBOARD,
)
from .listener import connection_limits
from .media_urls import MediaSigner
from .memory import trim_periodically
from .revocation import RevocationList
from .rooms import RoomNotifier
from .socket_server import SocketServer

MAX_REST_BODY = 64 * 1024


def create_app(
    config: Config, *, plane_factory: Callable[[], MediaPlane] = Router
) -> web.Application:
    """The server: every part wired; ``plane_factory`` makes each call's media plane
    (the forwarding router; a benchmark passes its transcoding baseline)."""
    if not config.jwt_secret:
        raise ConfigError("jwt_secret is empty; call Config.with_secret() first")
    app = web.Application(
        client_max_size=MAX_REST_BODY,
        middlewares=[connection_limits, calls.error_middleware],
    )
    app[CONFIG] = config
    revocations = RevocationList(
        config.data_dir / "revocations.jsonl", max_session_s=config.token_max_session_s
    )
    app[REVOCATIONS] = revocations
    app[AUTHORITY] = TokenAuthority(
        config.jwt_secret, max_session_s=config.token_max_session_s, revocations=revocations
    )
    app[GUEST_LIMITER] = RateLimiter(config.guest_calls_per_min / 60, config.guest_calls_per_min)
    app[API_LIMITER] = RateLimiter(
        config.api_calls_per_min / 60, max(1.0, config.api_calls_per_min / 10)
    )
    app[MEDIA_SIGNER] = MediaSigner(config.jwt_secret)

    sio = SocketServer(config)
    sio.attach(app)
    app[SOCKETIO] = sio
    registry = open_registry(
        config.redis_url,
        prefix=config.redis_prefix,
        ended_retention_s=config.ended_call_retention_s,
    )
    switchboard = Switchboard(config, plane_factory=plane_factory, registry=registry)
    hub = CallNamespace(switchboard, app[AUTHORITY])
    switchboard.notifier = RoomNotifier(hub, switchboard.calls)
    sio.register_namespace(hub)
    app[SWITCHBOARD] = switchboard
    app[CALL_NAMESPACE] = hub
    app[METRICS] = Metrics(switchboard)

    # The REST edge (api/): calls and their ratings, recordings, the floor's reports, the
    # webhooks' state, the audit log, revocations, the nodes, /metrics, pages.
    for routes in (
        calls,
        ratings,
        recordings,
        reports,
        webhook_status,
        audit,
        revocation_routes,
        nodes,
        metrics,
        pages,
    ):
        routes.add_routes(app)
    app.on_shutdown.append(_drain)
    app.cleanup_ctx.append(_revocations_ctx)
    app.cleanup_ctx.append(_sockets_ctx)
    app.cleanup_ctx.append(_switchboard_ctx)
    app.cleanup_ctx.append(_metrics_ctx)
    app.cleanup_ctx.append(_memory_ctx)
    return app


async def _memory_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.get_running_loop().create_task(trim_periodically(), name="malloc_trim")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _drain(app: web.Application) -> None:
    """Refuse new calls, end the live ones telling everyone why, then close the sockets."""
    await app[SWITCHBOARD].drain()
    await app[SOCKETIO].close()


async def _revocations_ctx(app: web.Application) -> AsyncIterator[None]:
    """Revocations are read before the first socket is let in, and re-read as they change."""
    revocations = app[REVOCATIONS]
    await asyncio.get_running_loop().run_in_executor(None, revocations.load)
    watcher = asyncio.get_running_loop().create_task(revocations.watch(), name="revocations")
    yield
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    revocations.close()


async def _sockets_ctx(app: web.Application) -> AsyncIterator[None]:
    app[SOCKETIO].start_fanout()
    yield
    await app[CALL_NAMESPACE].close()
    await app[SOCKETIO].close()


async def _switchboard_ctx(app: web.Application) -> AsyncIterator[None]:
    switchboard = app[SWITCHBOARD]
    await switchboard.restore()
    switchboard.start()
    yield
    await switchboard.close()
    await switchboard.registry.close()


async def _metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """The loop-lag watchdog and the quality listener; stopped before the switchboard closes."""
    app_metrics = app[METRICS]
    app_metrics.start()
    yield
    await app_metrics.stop()
