"""The webhooks as an admin sees them: each endpoint's state, and its failures retried.

``GET /api/webhooks``: per endpoint, what is pending, delivered, given up (each with
its error in words) and when it is tried next. ``POST /api/webhooks/{name}/retry``
sends its given-up events again (``{"event_id": ...}`` for one). Admins only: the
shop's endpoints are configuration.
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from callcenter.errors import NotFoundError
from callcenter.identity import Role
from signaling.keys import SWITCHBOARD
from signaling.schemas import Message, parse
from webhooks import NotFoundError as UnknownEventError

from .calls import bearer_identity, read_body

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


class _EndpointName(Message):
    name: Name


class RetryRequest(Message):
    event_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None


async def get_webhooks(request: web.Request) -> web.Response:
    bearer_identity(request).require(Role.ADMIN)
    dispatcher = request.app[SWITCHBOARD].webhooks.dispatcher
    endpoints = [s.to_dict() for s in dispatcher.status()] if dispatcher else []
    return web.json_response({"endpoints": endpoints})


async def retry_webhooks(request: web.Request) -> web.Response:
    bearer_identity(request).require(Role.ADMIN)
    name = parse(_EndpointName, dict(request.match_info)).name
    dispatcher = request.app[SWITCHBOARD].webhooks.dispatcher
    if dispatcher is None or name not in {e.name for e in dispatcher.endpoints}:
        raise NotFoundError(f"there is no webhook endpoint named {name}")
    body = await read_body(request, RetryRequest) if request.can_read_body else RetryRequest()
    try:
        if body.event_id is None:
            count = await dispatcher.retry_failed(name)
        else:
            await dispatcher.retry(name, body.event_id)
            count = 1
    except UnknownEventError:
        raise NotFoundError(f"{name} has no given-up event {body.event_id}") from None
    return web.json_response({"endpoint": name, "retried": count})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/webhooks", get_webhooks)
    app.router.add_post("/api/webhooks/{name}/retry", retry_webhooks)
