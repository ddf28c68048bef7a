"""The application factory: wires config, auth, the switchboard, socket.io and the pages.

``create_app`` does no I/O; the switchboard starts and stops with the app
(``cleanup_ctx``), and shutdown ends every live call so no peer is left open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import socketio
from aiohttp import web

from . import api, audit_api, metrics, recordings_api
from .auth import TokenAuthority
from .config import Config
from .errors import ConfigError
from .hub import CallNamespace
from .keys import (
    AUTHORITY,
    CALL_NAMESPACE,
    CONFIG,
    GUEST_LIMITER,
    MEDIA_SIGNER,
    SOCKETIO,
    SWITCHBOARD,
)
from .media_urls import MediaSigner
from .metrics import METRICS, Metrics
from .switchboard import Switchboard

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
PAGES = {
    "/": "index.html",
    "/support": "support.html",
    "/agent": "agent.html",
    "/replay": "replay.html",
    "/dashboard": "dashboard.html",
    "/audit": "audit.html",
}
# engine.io closes a connection that sends a bigger message (LiveKit does the
# same with a 1009 close); SDP with screen share stays well below this.
MAX_SOCKET_MESSAGE = 256 * 1024
MAX_REST_BODY = 64 * 1024


def create_app(config: Config) -> web.Application:
    if not config.jwt_secret:
        raise ConfigError("jwt_secret is empty; call Config.with_secret() first")
    app = web.Application(client_max_size=MAX_REST_BODY, middlewares=[api.error_middleware])
    app[CONFIG] = config
    app[AUTHORITY] = TokenAuthority(config.jwt_secret)
    app[GUEST_LIMITER] = {}
    app[MEDIA_SIGNER] = MediaSigner(config.jwt_secret)

    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        # None is same-origin only; an empty list would turn the check off.
        cors_allowed_origins=config.allowed_origins or None,
        max_http_buffer_size=MAX_SOCKET_MESSAGE,
        # A phone that changes networks leaves a dead socket behind; notice it in
        # about 15 s rather than engine.io's default 45 s, well inside rejoin_grace_s.
        ping_interval=10,
        ping_timeout=5,
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app)
    app[SOCKETIO] = sio
    switchboard = Switchboard(config)
    hub = CallNamespace(switchboard, app[AUTHORITY])
    switchboard.notifier = hub
    sio.register_namespace(hub)
    app[SWITCHBOARD] = switchboard
    app[CALL_NAMESPACE] = hub
    app[METRICS] = Metrics(switchboard)

    api.add_routes(app)
    recordings_api.add_routes(app)
    audit_api.add_routes(app)
    metrics.add_routes(app)
    _add_pages(app)
    app.cleanup_ctx.append(_switchboard_ctx)
    app.cleanup_ctx.append(_metrics_ctx)
    return app


async def _switchboard_ctx(app: web.Application) -> AsyncIterator[None]:
    switchboard = app[SWITCHBOARD]
    switchboard.start()
    yield
    await switchboard.close()


async def _metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """The loop-lag watchdog and the quality listener; stopped before the switchboard closes."""
    app_metrics = app[METRICS]
    app_metrics.start()
    yield
    await app_metrics.stop()


def _add_pages(app: web.Application) -> None:
    for path, filename in PAGES.items():
        app.router.add_get(path, _page(WEB_ROOT / filename))
    # add_static refuses paths outside the folder and does not follow symlinks.
    app.router.add_static("/static/", WEB_ROOT, follow_symlinks=False, append_version=False)


def _page(path: Path) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    async def handler(request: web.Request) -> web.FileResponse:
        response = web.FileResponse(path)
        response.headers["Cache-Control"] = "no-cache"
        return response

    return handler
