"""The customer's rating of a call: 1 to 5 and a comment, once, after it ended.

``POST /api/calls/{call_id}/rating`` with the customer's own token for that call.
The rating is kept with the call's contact record (the floor's CSAT, the replay).
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BeforeValidator, Field, StringConstraints

from callcenter.errors import CallStateError, ForbiddenError, NotFoundError
from callcenter.identity import Role
from signaling.keys import SWITCHBOARD
from signaling.schemas import CallId, Message, PlainText, parse

from .calls import bearer_identity, read_body

MAX_COMMENT = 500


def _one_line(value: object) -> object:
    """A comment's lines and runs of spaces as single spaces (typed on a phone, pasted)."""
    return " ".join(value.split()) if isinstance(value, str) else value


class Rating(Message):
    score: Annotated[int, Field(ge=1, le=5, strict=True)]
    comment: (
        Annotated[
            str,
            BeforeValidator(_one_line),
            StringConstraints(max_length=MAX_COMMENT),
            PlainText,
        ]
        | None
    ) = None


class _CallIdOnly(Message):
    call_id: CallId


async def rate_call(request: web.Request) -> web.Response:
    identity = bearer_identity(request)
    identity.require(Role.CUSTOMER)
    call_id = parse(_CallIdOnly, dict(request.match_info)).call_id
    if identity.call_id != call_id:
        raise ForbiddenError("a customer rates their own call only")
    rating = await read_body(request, Rating)
    comment = rating.comment or None
    contacts = request.app[SWITCHBOARD].contacts
    await contacts.settle()  # the call's end is written before it is rated
    contact = await contacts.store.get(call_id)
    if contact is None:
        raise NotFoundError("this call never reached an agent's queue: there is nothing to rate")
    if not contact.handled:
        raise CallStateError("a call can be rated once an agent answered it and it has ended")
    if not await contacts.rate(call_id, rating.score, comment):
        raise CallStateError("this call has been rated already: thank you")
    return web.json_response({"call_id": call_id, "score": rating.score, "comment": comment})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/calls/{call_id}/rating", rate_call)
