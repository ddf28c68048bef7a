"""The admins' audit API: who watched, listened, whispered, barged in, played or downloaded.

``GET /api/audit`` is for admin tokens only: the audit log is how a contact
centre checks its supervisors and reviewers, so none of them reads it.
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from callcenter.identity import Role
from node.audit import AuditQuery
from signaling.keys import SWITCHBOARD
from signaling.schemas import CallId, Message, parse, unix_day

from .calls import bearer_identity

DAY_S = 86400
Date = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Subject = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w.@:+-]+$")]
# Actions are written by the server (playback, download, monitor_started, ...); a prefix
# ("monitor") finds a family of them, and a comma-separated list any of several.
Actions = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[a-z_]+(,[a-z_]+){0,9}$")]


class AuditSearch(Message):
    """Query string of ``GET /api/audit`` (numbers arrive as text)."""

    call_id: CallId | None = None
    actor: Subject | None = None
    action: Actions | None = None
    since: Date | None = None
    until: Date | None = None
    """Up to and including this day (UTC)."""
    limit: Annotated[str, Field(pattern=r"^\d{1,3}$")] | None = None
    offset: Annotated[str, Field(pattern=r"^\d{1,6}$")] | None = None


async def list_audit(request: web.Request) -> web.Response:
    bearer_identity(request).require(Role.ADMIN)
    search = parse(AuditSearch, dict(request.query))
    query = AuditQuery(
        call_id=search.call_id,
        actor=search.actor,
        actions=tuple(search.action.split(",")) if search.action else (),
        since=unix_day(search.since, "since") if search.since else None,
        until=unix_day(search.until, "until") + DAY_S if search.until else None,
        limit=max(1, min(500, int(search.limit or 100))),
        offset=int(search.offset or 0),
    )
    records, total = await request.app[SWITCHBOARD].audit.query(query)
    return web.json_response({"records": records, "total": total})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/audit", list_audit)
