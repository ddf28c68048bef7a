"""The floor's numbers from contact records a person counted by hand.

Guards: service level, speed of answer, abandonment and handle time by their
definitions; occupancy only over the time an agent was taking calls; negative share
and CSAT over the contacts that have them; hours and days in the centre's time zone;
groups by agent, language and category.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from analytics.contact import ContactRecord
from analytics.figures import figures_of, grouped, occupancy_of
from analytics.transitions import AgentSpan

DHAKA = ZoneInfo("Asia/Dhaka")
NINE = datetime(2026, 12, 1, 9, 0, tzinfo=DHAKA).timestamp()  # 09:00 in Dhaka


def contact(
    n: int, queued: float, wait: float | None, handle: float | None, **kw: object
) -> ContactRecord:
    answered = None if handle is None or wait is None else queued + wait
    ended = (
        answered + handle
        if answered is not None and handle is not None
        else (queued + wait if wait is not None else None)
    )
    values: dict[str, object] = {
        "call_id": f"c_{n:010d}",
        "language": "bn",
        "queued_at": queued,
        "answered_at": answered,
        "ended_at": ended,
        "end_reason": "hung_up" if ended is not None else None,
        "agent_subject": "rahim" if answered is not None else None,
        "agent_name": "Rahim" if answered is not None else None,
    }
    values.update(kw)
    return ContactRecord(**values)  # type: ignore[arg-type]


CONTACTS = [
    contact(1, NINE + 60, wait=5, handle=100, customer_end_sentiment="negative", csat=2),
    contact(
        2,
        NINE + 120,
        wait=15,
        handle=200,
        customer_end_sentiment="positive",
        csat=5,
        categories=("Refund",),
    ),
    contact(
        3,
        NINE + 180,
        wait=40,
        handle=300,
        agent_subject="sumi",
        agent_name="Sumi",
        language="en",
        categories=("Refund", "Long hold"),
    ),
    contact(4, NINE + 240, wait=30, handle=None),  # gave up after 30 s
    contact(5, NINE + 3700, wait=10, handle=60, mos_average=4.2),  # 10:01
    contact(6, NINE + 3800, wait=None, handle=None),  # still waiting: offered only
]


def test_the_hand_counted_morning() -> None:
    f = figures_of(CONTACTS, since=NINE, until=NINE + 7200)
    assert (f.offered, f.answered, f.abandoned, f.handled) == (6, 4, 1, 4)
    # Answered within 20 s: 5, 15, 10 (not 40); left the queue: 4 answered + 1 abandoned.
    assert f.answered_in_target == 3
    assert f.service_level == pytest.approx(3 / 5)
    assert f.average_speed_of_answer_s == pytest.approx((5 + 15 + 40 + 10) / 4)
    assert f.abandonment_rate == pytest.approx(1 / 5)
    assert f.abandoned_wait_s == pytest.approx(30)
    assert f.average_handle_time_s == pytest.approx((100 + 200 + 300 + 60) / 4)
    assert f.negative_share == pytest.approx(1 / 2)  # of the two with a sentiment
    assert (f.csat_average, f.csat_count, f.csat_distribution) == (3.5, 2, (0, 1, 0, 0, 1))
    assert f.mos_average == pytest.approx(4.2)
    # A 40 s target counts the fourth answer too.
    assert figures_of(CONTACTS, since=NINE, until=NINE + 7200, target_s=40).answered_in_target == 4


def test_hold_time_is_averaged_over_the_handled_calls() -> None:
    """Amazon Connect's average customer hold time: a call never held counts as 0:00."""
    held = [
        contact(1, NINE + 60, wait=5, handle=100, hold_s=30.0, holds=1),
        contact(2, NINE + 120, wait=5, handle=200, hold_s=90.0, holds=2),
        contact(3, NINE + 180, wait=5, handle=300),
        contact(4, NINE + 240, wait=30, handle=None),  # abandoned: no hold to count
    ]
    f = figures_of(held, since=NINE, until=NINE + 3600)
    assert f.average_hold_time_s == pytest.approx((30 + 90 + 0) / 3)
    assert f.held == 2
    assert f.to_wire()["average_hold_time_s"] == 40.0
    assert figures_of(held[3:], since=NINE, until=NINE + 3600).average_hold_time_s is None


def test_occupancy_counts_only_the_time_taking_calls() -> None:
    spans = [
        AgentSpan("rahim", "Rahim", "available", NINE, NINE + 600),
        AgentSpan("rahim", "Rahim", "on_call", NINE + 600, NINE + 1800),
        AgentSpan("rahim", "Rahim", "away", NINE + 1800, NINE + 3600),  # lunch: not counted
    ]
    assert occupancy_of(spans, NINE, NINE + 3600) == pytest.approx(1200 / 1800)
    # Only the part inside the range: 09:15-09:30 is all on a call.
    assert occupancy_of(spans, NINE + 900, NINE + 1800) == pytest.approx(1.0)
    assert occupancy_of(spans, NINE + 1800, NINE + 3600) is None


def test_hours_and_days_are_the_centres() -> None:
    hours = grouped(CONTACTS, [], since=NINE, until=NINE + 7200, by="hour", zone=DHAKA)
    assert [(g.label, g.figures.offered) for g in hours] == [
        ("2026-12-01 09:00", 4),
        ("2026-12-01 10:00", 2),
    ]
    days = grouped(CONTACTS, [], since=NINE - 9 * 3600, until=NINE + 86400, by="day", zone=DHAKA)
    assert [(g.label, g.figures.offered) for g in days] == [("2026-12-01", 6), ("2026-12-02", 0)]


def test_groups_by_agent_language_and_category() -> None:
    kw = {"since": NINE, "until": NINE + 7200, "zone": DHAKA}
    agents = grouped(CONTACTS, [], by="agent", **kw)  # type: ignore[arg-type]
    assert [(g.label, g.figures.handled) for g in agents] == [("Rahim", 3), ("Sumi", 1)]
    languages = grouped(CONTACTS, [], by="language", **kw)  # type: ignore[arg-type]
    assert [(g.key, g.figures.offered) for g in languages] == [("bn", 5), ("en", 1)]
    categories = grouped(CONTACTS, [], by="category", **kw)  # type: ignore[arg-type]
    assert [(g.label, g.figures.offered) for g in categories] == [("Long hold", 1), ("Refund", 2)]
    with pytest.raises(ValueError, match="group by one of"):
        grouped(CONTACTS, [], by="week", **kw)  # type: ignore[arg-type]
