"""The floor's numbers on the supervisors' dashboard, in headless Chromium, over real calls.

The day so far: Rahim answers Karim and hangs up, Tania answers Laila and Laila hangs up
(and rates the call 4), Jamal gives up waiting (abandoned). Sumi, a supervisor, opens
the dashboard.

Guards:
- the panel shows today's figures as GET /api/reports/live returns them, in words:
  calls handled of offered, the service level against its target, the abandonment rate
  with how many gave up and after how long, the handle time, the rating (average and
  how many), "—" (with a title saying why) where there is nothing to count;
- one row per agent who took calls today, with calls handled, AHT, occupancy and CSAT;
- "Last 15 minutes" shows that period's figures;
- the numbers are read again every 5 s: a call handled while the page is open shows up;
- a hidden page asks for nothing, and asks at once when it shows again; signing out stops it;
- the header's "Reports" link opens the reports page in the same tab, signed in already;
- on a 414 px phone the page has no sideways scroll and the period buttons are thumb-sized;
  screenshots at 1366x900 and 414x860.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from callcenter.identity import Role
from tests.conftest import Server, api_request, connect_call

from .conftest import PageLog, poll_state
from .figures_text import NONE, figure_text

pytestmark = pytest.mark.e2e

WAIT_S = 20.0
LAPTOP: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 414, "height": 860}
POLL_S = 5.0


async def answered_call(server: Server, customer: str, agent: str, *, agent_hangs_up: bool) -> str:
    """A call answered at once, a moment of talk, hung up; the agent then goes Away."""
    pair = await connect_call(server, join=False, customer_name=customer, agent_name=agent)
    await asyncio.sleep(1.2)  # a call of a second or so: its handle time shows as 0:01
    await (pair.agent if agent_hangs_up else pair.customer).hang_up()
    await pair.agent.set_availability("away")
    if not agent_hangs_up:
        status, body, _ = await api_request(
            server,
            "POST",
            f"/api/calls/{pair.call_id}/rating",
            pair.customer.token,
            json={"score": 4, "comment": "Helpful"},
        )
        assert status == 200, body
    return pair.call_id


async def abandoned_call(server: Server, customer: str) -> None:
    """A customer who gives up waiting (nobody is available)."""
    _, token = await server.customer_call(customer)
    client = server.client(token)
    await client.connect()
    await client.request_call()
    await asyncio.sleep(0.4)
    await client.hang_up()


async def live(server: Server) -> dict[str, Any]:
    await server.switchboard.contacts.settle()
    token = server.token(Role.SUPERVISOR, "Nasrin")
    status, body, _ = await api_request(server, "GET", "/api/reports/live", token)
    assert status == 200, body
    return body


def tiles_of(figures: dict[str, Any], target_s: float) -> dict[str, str]:
    """What the tiles say of these figures (the ones worth comparing word for word)."""
    abandoned = (
        f"{figure_text('abandonment_rate', figures)} {figures['abandoned']} gave up, "
        f"after {figure_text('abandoned_wait_s', figures)} on average"
        if figures["abandoned"]
        else f"{figure_text('abandonment_rate', figures)} nobody gave up waiting"
    )
    ratings = figures["csat_count"]
    return {
        "handled": f"{figures['handled']} of {figures['offered']} offered",
        "service_level": f"{figure_text('service_level', figures)} answered within {target_s:g} s",
        "abandonment_rate": abandoned,
        "average_handle_time_s": f"{figure_text('average_handle_time_s', figures)} answer to end",
        "csat": f"{figure_text('csat_average', figures)} of 5, from {ratings} rating"
        + ("" if ratings == 1 else "s"),
    }


def agent_rows(agents: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "key": a["key"],
            "name": a["label"],
            **{
                k: figure_text(k, a)
                for k in ("handled", "average_handle_time_s", "occupancy", "csat_average")
            },
        }
        for a in agents
    ]


def shown(state: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = state["figures"]
    return figures


async def wait_for_figures(page: Page, log: PageLog, what: str, check: Any) -> dict[str, Any]:
    state = await poll_state(page, log, what, lambda s: bool(s.get("figures")) and check(s), WAIT_S)
    return shown(state)


def compare(figures: dict[str, Any], truth: dict[str, Any], period: str) -> None:
    want = tiles_of(truth[period], truth["service_level_target_s"])
    got = {key: figures["tiles"][key] for key in want}
    assert got == want, (period, figures["tiles"], truth[period])


async def the_first_figures(page: Page, log: PageLog, truth: dict[str, Any]) -> None:
    """Today's tiles and agents as the API counts them; "—" where nothing is counted."""
    figures = await wait_for_figures(
        page, log, "the first figures", lambda s: s["figures"]["fetches"] >= 1
    )
    assert figures["polling"] and figures["shown"], figures
    compare(figures, truth, "today")
    assert figures["agents"] == agent_rows(truth["agents"]), figures["agents"]
    assert [a["name"] for a in figures["agents"]] == ["Rahim", "Tania"]
    panel = page.locator("#figures")
    # No recording was finished, so no MOS: "—", with a title saying why.
    if truth["today"]["mos_average"] is None:
        mos = panel.locator('[data-figure="mos_average"] .ff-value')
        await expect(mos).to_have_text(NONE)
        await expect(mos).to_have_attribute(
            "title",
            "No call has its sound quality measured yet (it is added when the recording is "
            "finished)",
        )
    rahim_csat = panel.locator(".ff-agent-rows tr", has_text="Rahim").locator(
        'td[data-figure="csat_average"]'
    )
    await expect(rahim_csat).to_have_text(NONE)
    await expect(rahim_csat).to_have_attribute("title", "No customer rated a call")
    await expect(panel.locator('[data-figure="service_level"]')).to_contain_text(
        "answered within 20 s"
    )


async def the_last_15_minutes(page: Page, log: PageLog, truth: dict[str, Any]) -> None:
    panel = page.locator("#figures")
    button = panel.get_by_role("button", name="Last 15 minutes")
    await button.click()
    await expect(button).to_have_attribute("aria-pressed", "true")
    figures = await wait_for_figures(
        page, log, "the last 15 minutes", lambda s: s["figures"]["period"] == "last_15_min"
    )
    compare(figures, truth, "last_15_min")
    await panel.get_by_role("button", name="Today").click()


async def set_hidden(page: Page, hidden: bool) -> None:
    """As when the supervisor switches tabs (headless Chromium's tabs are always visible)."""
    await page.evaluate(
        """(hidden) => {
          Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
          document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


async def hidden_then_shown(page: Page, log: PageLog, asked: list[str]) -> None:
    """Hidden: nothing is asked; shown again: asked at once."""
    await set_hidden(page, True)
    await asyncio.sleep(0.5)
    before = len(asked)
    await asyncio.sleep(POLL_S + 1.5)
    assert len(asked) == before, f"a hidden page asked {len(asked) - before} times\n{log}"
    await set_hidden(page, False)
    await asyncio.sleep(1.0)
    assert len(asked) == before + 1, f"shown again: {len(asked) - before} requests\n{log}"


async def on_a_phone(page: Page, artifacts: Path) -> None:
    """One column, no sideways scroll, thumb-sized period buttons."""
    panel = page.locator("#figures")
    await page.set_viewport_size(PHONE)
    await panel.scroll_into_view_if_needed()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the phone layout scrolls sideways ({width} px)"
    for name in ("Today", "Last 15 minutes"):
        box = await panel.get_by_role("button", name=name).bounding_box()
        assert box and box["height"] >= 44 and box["width"] >= 44, (name, box)
    agents_box = await panel.locator(".ff-agents").bounding_box()
    assert agents_box and agents_box["x"] + agents_box["width"] <= PHONE["width"], agents_box
    await page.screenshot(path=artifacts / "floor-figures-phone.png", full_page=True)
    await panel.screenshot(path=artifacts / "floor-figures-phone-panel.png")


async def test_the_dashboard_shows_the_floors_numbers_as_the_api_counts_them(
    server: Server, browser: Browser, artifacts: Path
) -> None:
    await answered_call(server, "Karim", "Rahim", agent_hangs_up=True)
    await answered_call(server, "Laila", "Tania", agent_hangs_up=False)
    await abandoned_call(server, "Jamal")
    truth = await live(server)
    today = truth["today"]
    assert (today["offered"], today["handled"], today["abandoned"]) == (3, 2, 1), today
    assert today["csat_count"] == 1, today

    context = await browser.new_context(locale="en-US", viewport=LAPTOP)
    page = await context.new_page()
    log = PageLog("dashboard", page)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/reports/live" in r.url else None)
    sumi = server.token(Role.SUPERVISOR, "Sumi")
    await page.goto(f"{server.url}/dashboard#token={sumi}")
    await the_first_figures(page, log, truth)
    await page.screenshot(path=artifacts / "floor-figures-laptop.png", full_page=True)
    await the_last_15_minutes(page, log, truth)

    # A call handled while the page is open shows up within a poll.
    await answered_call(server, "Salma", "Rahim", agent_hangs_up=True)
    truth = await live(server)
    figures = await wait_for_figures(
        page,
        log,
        "the new call counted",
        lambda s: s["figures"]["tiles"]["handled"].startswith("3 of"),
    )
    compare(figures, truth, "today")
    assert figures["agents"] == agent_rows(truth["agents"]), figures["agents"]

    await hidden_then_shown(page, log, asked)
    await on_a_phone(page, artifacts)

    # The header's "Reports" opens the reports page in this tab, signed in already.
    await page.set_viewport_size(LAPTOP)
    await page.locator("#reports-link").click()
    await page.wait_for_url(f"{server.url}/reports**")
    reports = await poll_state(
        page, log, "the reports page signed in", lambda s: s.get("shown") is not None, WAIT_S
    )
    assert reports["role"] == "supervisor" and reports["error"] is None, reports
    await page.go_back()
    await wait_for_figures(page, log, "back on the dashboard", lambda s: s["figures"]["polling"])

    # Signed out: no more asking, nothing left on screen.
    await page.locator("#sign-out").click()
    await poll_state(page, log, "signed out", lambda s: not s["figures"]["polling"], WAIT_S)
    stopped = len(asked)
    await asyncio.sleep(POLL_S + 1.0)
    assert len(asked) == stopped, f"asked {len(asked) - stopped} times after signing out"
    assert await page.locator("#figures").is_hidden(), "the numbers stayed on screen"
