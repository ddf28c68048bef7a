"""The numbers a support floor is run by, from contact records and agents' time.

Definitions (as Amazon Connect's and Twilio Flex's metrics define them):

- a contact counts in the period in which it entered the queue;
- *answered* contacts have a wait (queued to answered); *abandoned* ones were given up
  by the customer while waiting (hung up, or their connection never came back);
- **service level**: the share of contacts that left the queue (answered or abandoned)
  which were answered within the target (20 s by default);
- **average speed of answer**: the mean wait of answered contacts;
- **abandonment rate**: abandoned over contacts that left the queue, and how long the
  abandoned waited on average;
- **average handle time**: answered to ended, over handled contacts (answered and over);
- **average hold time**: the customer's time on hold, over handled contacts (Amazon
  Connect's average customer hold time: calls never held count as 0), and how many were held;
- **occupancy**: of an agent's time taking calls (available, ringing or on a call), the
  share spent on calls; Away is not counted;
- **MOS**, **negative share** (handled contacts whose customer's sentiment at the end was
  negative, of those with a sentiment) and **CSAT** (the mean 1-5 rating, and how many).
Pure: the same records give the same numbers live, in a report or after a restart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .contact import ContactRecord
from .transitions import AgentSpan

DEFAULT_TARGET_S = 20.0
WORKING = frozenset({"available", "ringing", "on_call"})


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True, slots=True)
class Figures:
    """One period's (or one group's) numbers; None where there is nothing to count."""

    offered: int
    answered: int
    abandoned: int
    handled: int
    answered_in_target: int
    service_level: float | None
    average_speed_of_answer_s: float | None
    abandonment_rate: float | None
    abandoned_wait_s: float | None
    average_handle_time_s: float | None
    average_hold_time_s: float | None
    held: int
    occupancy: float | None
    mos_average: float | None
    negative_share: float | None
    csat_average: float | None
    csat_count: int
    csat_distribution: tuple[int, int, int, int, int]

    def to_wire(self) -> dict[str, Any]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "handled": self.handled,
            "answered_in_target": self.answered_in_target,
            "service_level": _round(self.service_level, 3),
            "average_speed_of_answer_s": _round(self.average_speed_of_answer_s),
            "abandonment_rate": _round(self.abandonment_rate, 3),
            "abandoned_wait_s": _round(self.abandoned_wait_s),
            "average_handle_time_s": _round(self.average_handle_time_s),
            "average_hold_time_s": _round(self.average_hold_time_s),
            "held": self.held,
            "occupancy": _round(self.occupancy, 3),
            "mos_average": _round(self.mos_average, 2),
            "negative_share": _round(self.negative_share, 3),
            "csat_average": _round(self.csat_average, 2),
            "csat_count": self.csat_count,
            "csat_distribution": list(self.csat_distribution),
        }


def occupancy_of(spans: Iterable[AgentSpan], since: float, until: float) -> float | None:
    """On-call time over working time, of the spans' parts inside ``since..until``."""
    working = on_call = 0.0
    for span in spans:
        if span.state not in WORKING:
            continue
        length = min(span.end, until) - max(span.start, since)
        if length <= 0:
            continue
        working += length
        if span.state == "on_call":
            on_call += length
    return on_call / working if working > 0 else None


def figures_of(
    contacts: Sequence[ContactRecord],
    spans: Sequence[AgentSpan] = (),
    *,
    since: float,
    until: float,
    target_s: float = DEFAULT_TARGET_S,
    with_occupancy: bool = True,
) -> Figures:
    """The figures of the contacts queued in ``since..until`` (and the agents' time there)."""
    inside = [c for c in contacts if since <= c.queued_at < until]
    answered = [c for c in inside if c.answered]
    abandoned = [c for c in inside if c.abandoned]
    handled = [c for c in inside if c.handled]
    left_queue = len(answered) + len(abandoned)
    in_target = [c for c in answered if (c.wait_s or 0.0) <= target_s]
    sentiments = [c.customer_end_sentiment for c in handled if c.customer_end_sentiment]
    rated = [c.csat for c in inside if c.csat is not None]
    distribution = tuple(sum(1 for r in rated if r == score) for score in range(1, 6))
    return Figures(
        offered=len(inside),
        answered=len(answered),
        abandoned=len(abandoned),
        handled=len(handled),
        answered_in_target=len(in_target),
        service_level=len(in_target) / left_queue if left_queue else None,
        average_speed_of_answer_s=_mean(c.wait_s or 0.0 for c in answered),
        abandonment_rate=len(abandoned) / left_queue if left_queue else None,
        abandoned_wait_s=_mean(c.wait_s or 0.0 for c in abandoned),
        average_handle_time_s=_mean(c.handle_s or 0.0 for c in handled),
        average_hold_time_s=_mean(c.hold_s for c in handled),
        held=sum(1 for c in handled if c.holds),
        occupancy=occupancy_of(spans, since, until) if with_occupancy else None,
        mos_average=_mean(c.mos_average for c in inside if c.mos_average is not None),
        negative_share=(
            sum(1 for s in sentiments if s == "negative") / len(sentiments) if sentiments else None
        ),
        csat_average=_mean(float(r) for r in rated),
        csat_count=len(rated),
        csat_distribution=distribution,  # type: ignore[arg-type]
    )


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    label: str
    figures: Figures

    def to_wire(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, **self.figures.to_wire()}


GROUPINGS = ("hour", "day", "agent", "language", "category")


def periods(since: float, until: float, by: str, zone: ZoneInfo) -> list[tuple[float, float, str]]:
    """The hours or days (in the centre's time zone) that cover ``since..until``."""
    step = timedelta(hours=1) if by == "hour" else timedelta(days=1)
    start = datetime.fromtimestamp(since, zone)
    start = start.replace(minute=0, second=0, microsecond=0)
    if by == "day":
        start = start.replace(hour=0)
    out: list[tuple[float, float, str]] = []
    while start.timestamp() < until and len(out) < 24 * 400:
        # Wall-clock steps, made aware again, so a day is a day also across a clock change.
        end = (start.replace(tzinfo=None) + step).replace(tzinfo=zone)
        label = start.strftime("%Y-%m-%d %H:00") if by == "hour" else start.strftime("%Y-%m-%d")
        out.append((start.timestamp(), end.timestamp(), label))
        start = end
    return out


def grouped(
    contacts: Sequence[ContactRecord],
    spans: Sequence[AgentSpan],
    *,
    since: float,
    until: float,
    by: str,
    zone: ZoneInfo,
    target_s: float = DEFAULT_TARGET_S,
) -> list[Group]:
    """The figures per hour, day, agent, language or category, in order."""
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}, not {by!r}")
    if by in ("hour", "day"):
        return [
            Group(
                label,
                label,
                figures_of(
                    contacts,
                    spans,
                    since=max(start, since),
                    until=min(end, until),
                    target_s=target_s,
                ),
            )
            for start, end, label in periods(since, until, by, zone)
        ]
    keyed: dict[str, list[ContactRecord]] = defaultdict(list)
    labels: dict[str, str] = {}
    key_of: Callable[[ContactRecord], Iterable[tuple[str, str]]]
    if by == "agent":

        def key_of(c: ContactRecord) -> Iterable[tuple[str, str]]:
            return [(c.agent_subject, c.agent_name or c.agent_subject)] if c.agent_subject else []

    elif by == "language":

        def key_of(c: ContactRecord) -> Iterable[tuple[str, str]]:
            return [(c.language, c.language)]

    else:

        def key_of(c: ContactRecord) -> Iterable[tuple[str, str]]:
            return [(name, name) for name in c.categories]

    for contact in contacts:
        if since <= contact.queued_at < until:
            for key, label in key_of(contact):
                keyed[key].append(contact)
                labels[key] = label
    if by == "agent":
        for span in spans:
            if span.end > since and span.start < until:
                labels.setdefault(span.subject, span.name or span.subject)
                keyed.setdefault(span.subject, [])
    groups = []
    for key in sorted(keyed, key=lambda k: labels[k].casefold()):
        own = [s for s in spans if s.subject == key] if by == "agent" else []
        figures = figures_of(
            keyed[key],
            own,
            since=since,
            until=until,
            target_s=target_s,
            with_occupancy=by == "agent",
        )
        groups.append(Group(key, labels[key], figures))
    return groups
