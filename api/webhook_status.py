"""The webhooks as an admin sees them: each endpoint's state, and its failures retried.

``GET /api/webhooks``: per endpoint, what is pending, delivered, given up (each with
its error in words) and when it is tried next. ``POST /api/webhooks/{name}/retry``
sends its given-up events again (``{"event_id": ...}`` for one). Admins only: the
shop's endpoints are configuration.

With many nodes each node keeps and sends the events it made: the view has every
live node's endpoints (each row names its ``node``; nodes that did not answer are
listed in ``unreachable``), and a retry goes to the node that has the event (the
``node`` given, or each node in turn).
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from callcenter.errors import NotFoundError
from callcenter.identity import Role
from node.bus import BusError
from node.switchboard import Switchboard
from signaling.keys import SWITCHBOARD
from signaling.schemas import Message, parse
from webhooks import NotFoundError as UnknownEventError

from .calls import bearer_identity, read_body

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


class _EndpointName(Message):
    name: Name


class RetryRequest(Message):
    event_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None
    node: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] | None = None


async def _others(board: Switchboard, body: dict[str, Any]) -> dict[str, Any]:
    """Every other live node's reply (a BusError for one that gave none); none alone."""
    if board.cluster.bus is None:
        return {}
    try:
        return await board.cluster.ask_others(body)
    except BusError as error:
        return {"": error}


async def get_webhooks(request: web.Request) -> web.Response:
    bearer_identity(request).require(Role.ADMIN)
    board = request.app[SWITCHBOARD]
    endpoints = board.webhooks.status()
    unreachable = []
    for node, reply in (await _others(board, {"verb": "webhook_status"})).items():
        if isinstance(reply, BusError):
            unreachable.append({"node": node or None, "reason": str(reply)})
        else:
            endpoints += list(reply.get("endpoints") or [])
    endpoints.sort(key=lambda e: (e["name"], e.get("node") or ""))
    return web.json_response({"endpoints": endpoints, "unreachable": unreachable})


async def retry_webhooks(request: web.Request) -> web.Response:
    bearer_identity(request).require(Role.ADMIN)
    name = parse(_EndpointName, dict(request.match_info)).name
    board = request.app[SWITCHBOARD]
    body = await read_body(request, RetryRequest) if request.can_read_body else RetryRequest()
    retried: int | None = None  # None: no node has the endpoint (or the event)
    if body.node in (None, board.node_id):
        with contextlib.suppress(UnknownEventError):
            retried = await board.webhooks.retry(name, body.event_id)
    done = retried is not None and body.event_id is not None  # an event is on one node
    if body.node != board.node_id and not done:
        ask = {"verb": "webhook_retry", "name": name, "event_id": body.event_id}
        for node, reply in (await _others(board, ask)).items():
            if body.node in (None, node) and isinstance(reply, dict) and reply.get("found"):
                retried = (retried or 0) + int(reply.get("retried") or 0)
    if retried is None and body.event_id is None:
        raise NotFoundError(f"there is no webhook endpoint named {name}")
    if retried is None:
        raise NotFoundError(f"{name} has no given-up event {body.event_id}")
    return web.json_response({"endpoint": name, "retried": retried})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/webhooks", get_webhooks)
    app.router.add_post("/api/webhooks/{name}/retry", retry_webhooks)
