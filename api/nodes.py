"""The nodes of the call centre as operators see them, and whether this one takes calls.

``GET /api/nodes`` (supervisors and admins): every live node, what it carries, its capacity
and headroom, how late its event loop runs and when it was last heard from, read from this
node's last heartbeat (no round trip). ``GET /readyz`` is a load balancer's readiness check:
503, with the reason in words, while this node should get no new calls (draining, full, or
not heard by the directory: its shared state out of reach). ``/healthz`` (liveness) stays
200 through all of these: the node's calls keep their media.
"""

from __future__ import annotations

import time

from aiohttp import web

from callcenter.identity import FLOOR_ROLES
from callcenter.nodes import NodeValue
from node.switchboard import Switchboard
from signaling.keys import SWITCHBOARD

from .calls import bearer_identity


def node_payload(node: NodeValue, now: float) -> dict[str, object]:
    return {
        "node_id": node.node_id,
        "url": node.url,
        "calls": node.calls,
        "capacity": node.capacity,
        "headroom": round(node.headroom, 3),
        "loop_lag_ms": node.loop_lag_ms,
        "draining": node.draining,
        "started_at": node.started_at,
        "heard_s_ago": round(max(0.0, now - node.heard_at), 1),
    }


async def list_nodes(request: web.Request) -> web.Response:
    bearer_identity(request).require(*FLOOR_ROLES)
    board = request.app[SWITCHBOARD]
    now = time.time()
    return web.json_response(
        {
            "node_id": board.node_id,
            "nodes": [node_payload(n, now) for n in board.heartbeat.nodes],
        }
    )


async def readyz(request: web.Request) -> web.Response:
    board = request.app[SWITCHBOARD]
    reason = _unready_reason(board)
    if reason is None:
        return web.json_response({"status": "ready", "node_id": board.node_id})
    return web.json_response(
        {"status": "not_ready", "node_id": board.node_id, "reason": reason}, status=503
    )


def _unready_reason(board: Switchboard) -> str | None:
    """Why this node should get no new calls now (None: it should)."""
    if board.draining:
        return "this node is shutting down"
    if board.media.full():
        return f"this node carries as many calls as it may ({board.media.capacity})"
    if not board.heartbeat.ready:
        return "the call centre's shared state has not heard from this node lately"
    return None


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/nodes", list_nodes)
    app.router.add_get("/readyz", readyz)
