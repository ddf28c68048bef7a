"""The reports page in headless Chromium, over a day of calls.

Today has real calls (Rahim and Tania answer, Jamal gives up waiting); yesterday and the
day before are contact records written into the server's store as the call centre would
have written them (answered in and out of the 20 s target, abandoned, rated, with a MOS,
a mood at the end and categories), at hours of the centre's day (Asia/Dhaka).

Guards:
- a supervisor signs in from the link fragment; the page opens on the last 7 days by day,
  "Last 7 days" pressed, its table equal to GET /api/reports for the same range;
- "Yesterday" by hour: 24 rows, each figure as the API counts it, in words (m:ss, %, "—"
  with a title saying why); the totals row and the headline figures likewise; each chart
  has one bar group per hour and a bar for every non-zero figure;
- by agent: a row and a bar group per agent;
- "Download CSV" saves the API's CSV of the range shown, row for row;
- a range the API refuses (by hour over more than 31 days) is said in words, naming the
  field; an agent's token is refused in words and the sign-in form shows;
- on a 414 px phone nothing but the chart and table boxes scrolls sideways; screenshots
  at 1366x900 and 414x860.
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from analytics.contact import ContactRecord
from callcenter.identity import Role
from tests.conftest import Server, api_request

from .conftest import PageLog, poll_state
from .figures_text import figure_text
from .test_floor_figures_page import abandoned_call, answered_call

pytestmark = pytest.mark.e2e

WAIT_S = 20.0
LAPTOP: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 414, "height": 860}
DHAKA = ZoneInfo("Asia/Dhaka")
COLUMNS = (
    "offered",
    "answered",
    "abandoned",
    "service_level",
    "average_speed_of_answer_s",
    "abandonment_rate",
    "abandoned_wait_s",
    "handled",
    "average_handle_time_s",
    "average_hold_time_s",
    "occupancy",
    "mos_average",
    "negative_share",
    "csat_average",
    "csat_count",
)


def at(day: datetime, clock: str) -> float:
    """Unix time of ``clock`` (HH:MM:SS) on ``day`` in Dhaka."""
    h, m, s = (int(v) for v in clock.split(":"))
    return day.replace(hour=h, minute=m, second=s, microsecond=0).timestamp()


async def stored_call(
    server: Server,
    call_id: str,
    queued: float,
    *,
    wait_s: float,
    talk_s: float | None = None,
    agent: tuple[str, str] | None = None,
    language: str = "bn",
    csat: int | None = None,
    comment: str | None = None,
    mos: float | None = None,
    mood: str | None = None,
    categories: tuple[str, ...] = (),
) -> None:
    """A contact as the server writes it: answered after ``wait_s`` and ended ``talk_s`` later
    (abandoned after ``wait_s`` without an agent); then the later facts."""
    store = server.switchboard.contacts.store
    answered = agent is not None and talk_s is not None
    await store.put(
        ContactRecord(
            call_id=call_id,
            language=language,
            queued_at=queued,
            answered_at=queued + wait_s if answered else None,
            ended_at=queued + wait_s + (talk_s or 0.0),
            end_reason="hung_up",
            agent_subject=agent[0] if agent else None,
            agent_name=agent[1] if agent else None,
            customer_name=f"Customer {call_id}",
        )
    )
    facts: dict[str, Any] = {}
    if mos is not None:
        facts["mos_average"] = mos
    if mood is not None:
        facts["customer_end_sentiment"] = mood
    if categories:
        facts["categories"] = list(categories)
    if facts:
        assert await store.annotate(call_id, **facts)
    if csat is not None:
        assert await store.rate(call_id, csat, comment, queued + wait_s + (talk_s or 0) + 30)


async def a_day_of_calls(server: Server, yesterday: datetime) -> None:
    """Yesterday's calls at several hours, and two the day before."""
    rahim, sumi = ("rahim", "Rahim"), ("sumi", "Sumi")
    day = yesterday
    await stored_call(
        server,
        "y0905",
        at(day, "09:05:00"),
        wait_s=12,
        talk_s=241,
        agent=rahim,
        csat=5,
        comment="Quick and kind",
        mos=4.3,
        mood="positive",
        categories=("delivery",),
    )
    await stored_call(server, "y0940", at(day, "09:40:00"), wait_s=45)
    await stored_call(
        server,
        "y1115",
        at(day, "11:15:30"),
        wait_s=35,
        talk_s=390,
        agent=sumi,
        csat=2,
        comment="Too long a wait",
        mos=3.4,
        mood="negative",
        categories=("refund", "delivery"),
    )
    await stored_call(
        server,
        "y1420",
        at(day, "14:20:00"),
        wait_s=5,
        talk_s=190,
        agent=rahim,
        language="en",
        mos=4.1,
        mood="neutral",
        categories=("payment",),
    )
    await stored_call(server, "y1450", at(day, "14:50:10"), wait_s=61)
    await stored_call(
        server,
        "y1650",
        at(day, "16:50:00"),
        wait_s=8,
        talk_s=120,
        agent=sumi,
        csat=4,
        categories=("refund",),
    )
    before = yesterday - timedelta(days=1)
    await stored_call(
        server, "b1000", at(before, "10:00:00"), wait_s=18, talk_s=300, agent=sumi, csat=3, mos=3.9
    )
    await stored_call(server, "b2330", at(before, "23:30:00"), wait_s=25)


async def api_report(server: Server, query: str, path: str = "/api/reports") -> Any:
    token = server.token(Role.SUPERVISOR, "Nasrin")
    status, body, _ = await api_request(server, "GET", f"{path}?{query}", token)
    assert status == 200, body
    return body


def rows_of(report: dict[str, Any]) -> list[dict[str, str]]:
    """The table's rows as the page should show them: each figure in words, by group key."""
    return [{"key": g["key"], **{k: figure_text(k, g) for k in COLUMNS}} for g in report["groups"]]


def shown_rows(state: dict[str, Any]) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k != "label"} for row in state["table"]["rows"]]


async def shown(page: Page, log: PageLog, since: str, until: str, by: str) -> dict[str, Any]:
    """The page's state once it shows the report of ``since..until`` by ``by``."""
    want = {"since": since, "until": until, "by": by}
    return await poll_state(
        page,
        log,
        f"the report {want}",
        lambda s: s.get("shown") == want and not s["loading"],
        WAIT_S,
    )


def check_table(state: dict[str, Any], report: dict[str, Any]) -> None:
    assert shown_rows(state) == rows_of(report), (state["table"]["rows"], report["groups"])
    totals = state["table"]["totals"]
    assert {k: totals[k] for k in COLUMNS} == {
        k: figure_text(k, report["totals"]) for k in COLUMNS
    }, totals


def check_charts(state: dict[str, Any], report: dict[str, Any]) -> None:
    groups = report["groups"]
    charts = state["charts"]
    assert charts["calls"]["groups"] == len(groups), charts
    assert charts["times"]["groups"] == len(groups), charts
    # A stacked bar a group: answered, abandoned, and the rest of those offered.
    stacked = [
        (g["answered"], g["abandoned"], g["offered"] - g["answered"] - g["abandoned"])
        for g in groups
    ]
    assert charts["calls"]["bars"] == sum(1 for parts in stacked for v in parts if v > 0), charts
    times = ("average_handle_time_s", "average_speed_of_answer_s")
    assert charts["times"]["bars"] == sum(1 for g in groups for k in times if (g[k] or 0) > 0)
    assert charts["calls"]["points"] == sum(1 for g in groups if g["service_level"] is not None)


@dataclass
class Days:
    """The days the test reads, in Dhaka."""

    today: str
    yesterday: str
    week_start: str

    @classmethod
    def now(cls) -> Days:
        now = datetime.now(DHAKA)
        day = lambda d: (now - timedelta(days=d)).strftime("%Y-%m-%d")  # noqa: E731
        return cls(day(0), day(1), day(6))


async def the_last_7_days(page: Page, log: PageLog, server: Server, days: Days) -> None:
    """The page opens on the last 7 days by day, as the API counts them."""
    state = await shown(page, log, days.week_start, days.today, "day")
    assert "token" not in page.url, page.url
    assert state["quick"] == "last_7_days" and state["zone"] == "Asia/Dhaka", state
    week = await api_report(server, f"since={days.week_start}&until={days.today}&by=day")
    assert len(week["groups"]) == 7
    check_table(state, week)
    offered = week["totals"]["offered"]
    assert state["summary"].endswith(f"by day: {offered} calls reached the queue."), state


async def yesterday_by_hour(page: Page, log: PageLog, server: Server, days: Days) -> None:
    """Yesterday by hour: 24 rows and bar groups, every figure as the API's, in words."""
    await page.locator("#q-by").select_option("hour")
    await page.get_by_role("button", name="Yesterday").click()
    state = await shown(page, log, days.yesterday, days.yesterday, "hour")
    assert state["quick"] == "yesterday", state
    by_hour = await api_report(server, f"since={days.yesterday}&until={days.yesterday}&by=hour")
    assert len(by_hour["groups"]) == 24 and by_hour["totals"]["offered"] == 6, by_hour["totals"]
    check_table(state, by_hour)
    check_charts(state, by_hour)
    totals = by_hour["totals"]
    assert state["tiles"]["service_level"] == (
        f"{figure_text('service_level', totals)} answered within 20 s"
    )
    assert state["tiles"]["csat_average"] == (
        f"{figure_text('csat_average', totals)} of 5, from {totals['csat_count']} ratings"
    )
    assert state["tiles"]["abandonment_rate"] == (
        f"{figure_text('abandonment_rate', totals)} {totals['abandoned']} gave up, after "
        f"{figure_text('abandoned_wait_s', totals)} on average"
    )
    # An hour without calls: "—", and the cell says why.
    quiet = page.locator('#table-rows tr[data-key$=" 03:00"] td[data-figure="service_level"]')
    await expect(quiet).to_have_text("—")
    await expect(quiet).to_have_attribute(
        "title", "No call left the queue (answered or abandoned), so there is no service level"
    )
    # The 14:00 bar group says its numbers in words.
    group = page.locator('#chart-calls .rc-group[data-key$=" 14:00"] title')
    await expect(group).to_have_text(
        "14:00\u201315:00: 2 offered, 1 answered, 1 abandoned; service level 50%"
    )


async def the_csv(page: Page, server: Server, days: Days) -> None:
    """ "Download CSV" saves the API's CSV of the range shown, row for row."""
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download CSV").click()
    download = await download_info.value
    name = f"kotha-report-{days.yesterday}-{days.yesterday}-by-hour.csv"
    assert download.suggested_filename == name
    path = Path(await download.path())
    saved = await asyncio.to_thread(path.read_text, encoding="utf-8")
    token = server.token(Role.SUPERVISOR, "Nasrin")
    query = f"since={days.yesterday}&until={days.yesterday}&by=hour"
    status, body, _ = await api_request(server, "GET", f"/api/reports.csv?{query}", token)
    assert status == 200
    rows = list(csv.reader(io.StringIO(saved)))
    assert rows == list(csv.reader(io.StringIO(body.decode()))), saved[:400]
    assert len(rows) == 1 + 24 + 1 and rows[-1][:2] == ["total", "6"], rows[-1]
    by_hour = await api_report(server, query)
    assert [r[1] for r in rows[1:-1]] == [str(g["offered"]) for g in by_hour["groups"]]


async def on_a_phone(page: Page, log: PageLog, artifacts: Path, name: str) -> None:
    """The page itself never scrolls sideways (the chart and table boxes do); big buttons."""
    await page.set_viewport_size(PHONE)
    await poll_state(
        page, log, "redrawn for the phone", lambda s: s["charts"]["calls"]["box"] < 400, WAIT_S
    )
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the phone layout scrolls sideways ({width} px)"
    for button in ("Today", "Yesterday", "Last 7 days", "This month", "Download CSV"):
        box = await page.get_by_role("button", name=button).bounding_box()
        assert box and box["height"] >= 44, (button, box)
    await page.screenshot(path=artifacts / f"reports-{name}-phone.png", full_page=True)
    await page.set_viewport_size(LAPTOP)


async def yesterday_by_agent(page: Page, log: PageLog, server: Server, days: Days) -> None:
    await page.locator("#q-by").select_option("agent")
    await page.locator("#query-form").get_by_role("button", name="Show").click()
    state = await shown(page, log, days.yesterday, days.yesterday, "agent")
    assert state["quick"] == "yesterday"
    by_agent = await api_report(server, f"since={days.yesterday}&until={days.yesterday}&by=agent")
    assert [g["label"] for g in by_agent["groups"]] == ["Rahim", "Sumi"]
    check_table(state, by_agent)
    check_charts(state, by_agent)
    assert [r["label"] for r in state["table"]["rows"]] == ["Rahim", "Sumi"]


async def a_refused_range(page: Page, log: PageLog) -> None:
    """A range the API refuses, said in words naming the field."""
    await page.locator("#q-by").select_option("hour")
    await page.locator("#q-since").fill("2026-01-01")
    await page.locator("#q-until").fill("2026-03-01")
    await page.locator("#query-form").get_by_role("button", name="Show").click()
    await expect(page.locator("#error")).to_have_text(
        "Check “To”: a report covers at most 31 days by hour; choose a shorter range."
    )
    state = await poll_state(page, log, "the error", lambda s: bool(s["error"]), WAIT_S)
    assert state["error"]["field"] == "until", state["error"]


async def test_a_supervisor_reads_a_day_by_hour_and_by_agent_and_downloads_it(
    server: Server, browser: Browser, artifacts: Path
) -> None:
    days = Days.now()
    await answered_call(server, "Karim", "Rahim", agent_hangs_up=True)
    await answered_call(server, "Laila", "Tania", agent_hangs_up=False)
    await abandoned_call(server, "Jamal")
    yesterday = datetime.fromisoformat(days.yesterday).replace(tzinfo=DHAKA)
    await a_day_of_calls(server, yesterday)
    await server.switchboard.contacts.settle()

    context = await browser.new_context(locale="en-US", viewport=LAPTOP, accept_downloads=True)
    page = await context.new_page()
    log = PageLog("reports", page)
    nasrin = server.token(Role.SUPERVISOR, "Nasrin")
    await page.goto(f"{server.url}/reports#token={nasrin}")
    await the_last_7_days(page, log, server, days)
    await page.screenshot(path=artifacts / "reports-week-laptop.png", full_page=True)

    await yesterday_by_hour(page, log, server, days)
    await page.screenshot(path=artifacts / "reports-hour-laptop.png", full_page=True)
    await the_csv(page, server, days)
    await on_a_phone(page, log, artifacts, "hour")

    await yesterday_by_agent(page, log, server, days)
    await page.screenshot(path=artifacts / "reports-agent-laptop.png", full_page=True)
    await on_a_phone(page, log, artifacts, "agent")

    await a_refused_range(page, log)
    await page.screenshot(path=artifacts / "reports-refused-laptop.png")


async def test_an_agents_token_is_refused_in_words(server: Server, browser: Browser) -> None:
    page = await browser.new_page()
    log = PageLog("reports", page)
    await page.goto(f"{server.url}/reports#token={server.token(Role.AGENT, 'Rahim')}")
    await expect(page.locator("#signin")).to_be_visible(timeout=WAIT_S * 1000)
    await expect(page.locator("#error")).to_have_text(
        "This token may not read the floor's numbers: only supervisors and admins may. "
        "Sign in with a supervisor's token."
    )
    state = await poll_state(page, log, "signed out", lambda s: s["phase"] == "signin", WAIT_S)
    assert not state["signedIn"], state
