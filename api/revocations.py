"""Revoking sign-ins: ``POST /api/revocations`` and ``GET /api/revocations`` (admins only).

An admin ends one sign-in (by pasting its token, or by the grant id the audit
log and the token's ``gid`` show), everything of one person (``subject``), or
everything of a role. Each revocation is audited before it takes effect (and
refused if the record cannot be written), and every open socket it ends is told
``session_ended`` and closed at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from callcenter.errors import InvalidMessageError
from callcenter.identity import Role
from node.audit import AuditRecord
from signaling.keys import AUTHORITY, REVOCATIONS, SWITCHBOARD
from signaling.revocation import RevocationKind
from signaling.schemas import Message

from .calls import bearer_identity, read_body, remote_address

Subject = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w.@:+-]+$")]
GrantId = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class RevokeBody(Message):
    """Exactly one of ``token``, ``grant_id``, ``subject`` or ``role``."""

    token: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    grant_id: GrantId | None = None
    subject: Subject | None = None
    role: Literal["customer", "agent", "supervisor", "reviewer", "admin"] | None = None
    reason: Annotated[str, Field(max_length=200)] = ""


async def revoke(request: web.Request) -> web.Response:
    admin = bearer_identity(request)
    admin.require(Role.ADMIN)
    body = await read_body(request, RevokeBody)
    given = [f for f in ("token", "grant_id", "subject", "role") if getattr(body, f) is not None]
    if len(given) != 1:
        raise InvalidMessageError("name exactly one of token, grant_id, subject or role", field="$")
    revocations = request.app[REVOCATIONS]
    until = 0.0
    if body.token is not None:
        identity = request.app[AUTHORITY].grant_of(body.token)
        kind, value, until = RevocationKind.GRANT, identity.grant_id, identity.grant_expires_at
    elif body.grant_id is not None:
        kind, value = RevocationKind.GRANT, body.grant_id
    elif body.subject is not None:
        kind, value = RevocationKind.SUBJECT, body.subject
    else:
        assert body.role is not None
        kind, value = RevocationKind.ROLE, body.role
    revocation = revocations.make(kind, value, by=admin.subject, reason=body.reason, until=until)
    await request.app[SWITCHBOARD].audit.record(
        AuditRecord(
            actor=admin.subject,
            role=admin.role.value,
            action="revoke",
            call_id=None,
            source=remote_address(request),
            details={"kind": kind.value, "value": value, "reason": body.reason},
            name=admin.name,
        )
    )
    await revocations.add(revocation)
    return web.json_response({"revocation": revocation.to_wire()}, status=201)


async def list_revocations(request: web.Request) -> web.Response:
    bearer_identity(request).require(Role.ADMIN)
    entries = request.app[REVOCATIONS].entries()
    return web.json_response({"revocations": [e.to_wire() for e in entries]})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/revocations", revoke)
    app.router.add_get("/api/revocations", list_revocations)
