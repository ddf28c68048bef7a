"""The floor's numbers over HTTP: live (today, the last 15 minutes) and by period.

``GET /api/reports/live``: the supervisor dashboard's figures, now.
``GET /api/reports?since&until&by``: a period's figures in total and by hour, day,
agent, language or category; ``GET /api/reports.csv`` the same as a spreadsheet.
Days and times are the centre's (``timezone`` in the config). Supervisors and
admins only: these are the numbers the floor is run by.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import Field

from analytics.figures import Figures, Group
from callcenter.errors import InvalidMessageError
from callcenter.identity import FLOOR_ROLES
from signaling.keys import SWITCHBOARD
from signaling.schemas import Message, parse

from .calls import bearer_identity

MOMENT = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$"
MAX_DAYS = 400  # a report covers at most this long (hours: MAX_HOURS)
MAX_HOURS = 24 * 31
CSV_COLUMNS = (
    "offered",
    "answered",
    "abandoned",
    "handled",
    "answered_in_target",
    "service_level",
    "average_speed_of_answer_s",
    "abandonment_rate",
    "abandoned_wait_s",
    "average_handle_time_s",
    "average_hold_time_s",
    "held",
    "occupancy",
    "mos_average",
    "negative_share",
    "csat_average",
    "csat_count",
)


class ReportQuery(Message):
    """Query string of ``GET /api/reports``: the range in the centre's time zone."""

    since: Annotated[str, Field(pattern=MOMENT)]
    until: Annotated[str, Field(pattern=MOMENT)] | None = None
    by: Literal["hour", "day", "agent", "language", "category"] = "day"


def moment(text: str, zone: ZoneInfo, field: str) -> float:
    """``YYYY-MM-DD`` (its midnight) or ``YYYY-MM-DDTHH:MM`` in ``zone``, as Unix time."""
    try:
        value = datetime.fromisoformat(text).replace(tzinfo=zone)
    except ValueError:
        raise InvalidMessageError(f"{field}: no such day or time: {text}", field=field) from None
    return value.timestamp()


def _range(query: ReportQuery, zone: ZoneInfo, now: float) -> tuple[float, float]:
    since = moment(query.since, zone, "since")
    if query.until is None:
        until = now
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", query.until):
        # A day "until" includes that day, as a person reads "1 to 7 December".
        day = datetime.fromisoformat(query.until).replace(tzinfo=zone)
        until = (day.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone).timestamp()
    else:
        until = moment(query.until, zone, "until")
    if until <= since:
        raise InvalidMessageError("until: the range must end after it starts", field="until")
    longest = MAX_HOURS * 3600 if query.by == "hour" else MAX_DAYS * 86400
    if until - since > longest:
        span = "31 days by hour" if query.by == "hour" else f"{MAX_DAYS} days"
        raise InvalidMessageError(
            f"until: a report covers at most {span}; choose a shorter range", field="until"
        )
    return since, until


async def _report(request: web.Request) -> tuple[ReportQuery, float, float, Figures, list[Group]]:
    bearer_identity(request).require(*FLOOR_ROLES)
    board = request.app[SWITCHBOARD]
    query = parse(ReportQuery, dict(request.query))
    since, until = _range(query, board.config.zone, board.contacts.now())
    totals, groups = await board.contacts.report(since, until, query.by)
    return query, since, until, totals, groups


async def get_report(request: web.Request) -> web.Response:
    query, since, until, totals, groups = await _report(request)
    board = request.app[SWITCHBOARD]
    return web.json_response(
        {
            "since": since,
            "until": until,
            "by": query.by,
            "timezone": board.config.timezone,
            "service_level_target_s": board.config.service_level_target_s,
            "totals": totals.to_wire(),
            "groups": [g.to_wire() for g in groups],
        }
    )


async def get_report_csv(request: web.Request) -> web.Response:
    query, _, _, totals, groups = await _report(request)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([query.by, *CSV_COLUMNS])
    for group in groups:
        writer.writerow([_cell(group.label), *_values(group.figures)])
    writer.writerow(["total", *_values(totals)])
    name = f"kotha-report-{query.since}-{query.until or 'now'}-by-{query.by}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name.replace(":", "")}"'},
    )


def _cell(text: str) -> str:
    """A label as a spreadsheet cell: never a formula (an agent's name is theirs to choose)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _values(figures: Figures) -> list[Any]:
    wire = figures.to_wire()
    return ["" if wire[c] is None else wire[c] for c in CSV_COLUMNS]


async def get_live(request: web.Request) -> web.Response:
    bearer_identity(request).require(*FLOOR_ROLES)
    board = request.app[SWITCHBOARD]
    live = await board.contacts.live()
    return web.json_response(
        {
            **live.to_wire(),
            "timezone": board.config.timezone,
            "service_level_target_s": board.config.service_level_target_s,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/reports/live", get_live)
    app.router.add_get("/api/reports.csv", get_report_csv)
    app.router.add_get("/api/reports", get_report)
