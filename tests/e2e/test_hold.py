"""Hold, in headless Chromium against a real server: the agent holds a live call and resumes it.

Guards:
- the agent console's Hold button (beside Pause recording) is usable in a live call; pressed,
  it says "Resume call" and a bar above the controls counts "On hold 0:0x", ticking, and
  tells a screen reader once what the hold means; the second hold also shows the time on
  hold in all and the number of holds; resumed, the button says "Hold" and the bar goes;
- the customer, whose browser prefers Bengali, reads "you are on hold" in Bengali in a
  status region, in English after switching language, and nothing once resumed;
- while held the agent's page receives no sound from the customer (who keeps talking),
  and hears them again after the resume;
- the supervisor's dashboard row shows an "On hold 0:0x" chip that ticks, gone on resume;
- the ended call's summary on the console says how long the customer was on hold;
- the replay of a call held twice shades both holds on every lane of "Who talked when",
  with a legend key, says the time on hold and the number of holds in words (and in the
  call's details), and lists each hold under "What happened, in order".
Screenshots at a laptop's (1366x800) and a phone's (390x844) size go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, ViewportSize, expect

from callcenter.identity import Role
from node.events import ClientEvent, ServerEvent
from tests.conftest import Server, api_request, connect_call
from tests.support import participant_media

from .conftest import PageLog, Pages, PagesFactory, page_state, poll_state
from .test_browser_call import SILENT_LEVEL, SPEAKING_LEVEL, both_connect, describe, sample_levels
from .test_replay import new_page, open_first_recording

pytestmark = pytest.mark.e2e

LAPTOP: ViewportSize = {"width": 1366, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
WAIT_MS = 15_000
ON_HOLD_BN = "আপনাকে হোল্ডে রাখা হয়েছে। লাইনে থাকুন — আপনার এজেন্ট শিগগিরই ফিরে আসবেন।"
ON_HOLD_EN = "You are on hold. Please stay on the line — your agent will be back shortly."
HOLD_TIMER = re.compile(r"^On hold 0:\d\d$")
# After a hold starts or ends, what the agent's page still plays (its jitter buffer) or
# has not played yet is left out of the levels compared.
SETTLE_S = 1.5


async def screenshot(page: Page, size: ViewportSize, path: Path) -> None:
    await page.set_viewport_size(size)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.wait_for_timeout(300)
    await page.screenshot(path=path, full_page=True)


async def start_call(pages: Pages) -> None:
    """The customer (browser in Bengali) calls by voice; Rahim takes the call."""
    customer, agent = pages.customer, pages.agent
    await customer.goto(f"{pages.server.url}/support")
    await expect(customer.locator("html")).to_have_attribute("lang", "bn")
    await customer.locator("#name").fill("করিম")
    await customer.locator("#call-support").click()
    await customer.locator("#choose-voice").click()
    await expect(customer.locator("#waiting")).to_be_visible()
    await agent.goto(f"{pages.server.url}/agent#token={pages.server.token(Role.AGENT, 'Rahim')}")
    await agent.locator("#availability").click()
    await agent.locator("#accept-next").click()
    await both_connect(pages)


async def open_dashboard(pages: Pages) -> tuple[Page, PageLog]:
    browser = pages.agent.context.browser
    assert browser is not None
    context = await browser.new_context(locale="en-US", viewport=LAPTOP)
    page = await context.new_page()
    log = PageLog("dashboard", page)
    await page.goto(
        f"{pages.server.url}/dashboard#token={pages.server.token(Role.SUPERVISOR, 'Sumi')}"
    )
    await expect(page.locator("#call-rows > li")).to_have_count(1, timeout=WAIT_MS)
    return page, log


async def ticks(page: Page, selector: str) -> None:
    """The text at `selector` changes within 3 s (a clock that counts)."""
    shown = await page.locator(selector).inner_text()
    await expect(page.locator(selector)).not_to_have_text(shown, timeout=3_000)


async def agent_hears_customer(pages: Pages) -> list[float]:
    levels = await sample_levels(pages.agent, 4.0)
    assert max(levels) > SPEAKING_LEVEL, (
        f"the agent's page received no speech from the customer ({describe(levels)})\n"
        f"{pages.logs()}"
    )
    return levels


@dataclass
class Held:
    """The three pages of a held call, and what the test looks at on each."""

    pages: Pages
    dashboard: Page
    dashboard_log: PageLog

    @property
    def button(self) -> Locator:
        return self.pages.agent.locator("#hold")

    @property
    def notice(self) -> Locator:
        return self.pages.customer.locator("#hold-status")

    @property
    def chip(self) -> Locator:
        return self.dashboard.locator("#call-rows > li").first.locator(".fc-hold")


async def nobody_is_on_hold(held: Held) -> None:
    """A live call: the button says Hold; nobody is told of a hold; the agent hears."""
    agent = held.pages.agent
    await expect(held.button).to_be_enabled()
    await expect(held.button).to_have_text("Hold")
    await expect(held.button).to_have_attribute("aria-pressed", "false")
    await expect(agent.locator("#hold-bar")).to_have_attribute("data-on", "false")
    await expect(agent.locator("#hold-timer")).to_have_text("")
    await expect(held.notice).to_have_attribute("role", "status")
    await expect(held.notice).to_have_text("")
    await expect(held.chip).to_be_hidden(timeout=WAIT_MS)
    await agent_hears_customer(held.pages)


async def first_hold(held: Held, artifacts: Path) -> None:
    """On hold (from the keyboard): the button, the ticking bar, the customer told in
    Bengali, the dashboard's chip; the agent's page receives no sound from the customer."""
    pages = held.pages
    agent = pages.agent
    await held.button.focus()
    await agent.keyboard.press("Enter")
    await expect(held.button).to_have_text("Resume call")
    await expect(held.button).to_have_attribute("aria-pressed", "true")
    await expect(agent.locator("#hold-bar")).to_be_visible()
    await expect(agent.locator("#hold-said")).to_have_attribute("role", "status")
    await expect(agent.locator("#hold-timer")).to_have_text(HOLD_TIMER)
    await expect(agent.locator("#hold-total")).to_have_text("")
    await expect(agent.locator("#hold-said")).to_contain_text("The customer is on hold")
    await expect(held.notice).to_have_text(ON_HOLD_BN)
    await expect(held.chip).to_be_visible(timeout=WAIT_MS)
    await expect(held.chip).to_have_text(re.compile(r"On hold 0:\d\d"))
    state = await poll_state(agent, pages.agent_log, "hold", lambda s: bool(s["hold"]), 5)
    assert state["hold"]["on"] is True and state["hold"]["count"] == 1, state["hold"]
    await ticks(agent, "#hold-timer")
    await ticks(held.dashboard, "#call-rows > li .fc-hold-words")

    # Neither hears the other: the customer talks on, the agent's page receives silence.
    await asyncio.sleep(SETTLE_S)
    levels = await sample_levels(agent, 3.0)
    assert max(levels) < SILENT_LEVEL, (
        f"the agent heard the customer on hold ({describe(levels)})\n{pages.logs()}"
    )
    for name, size in (("laptop", LAPTOP), ("phone", PHONE)):
        await screenshot(agent, size, artifacts / f"hold-agent-{name}.png")
        await screenshot(pages.customer, size, artifacts / f"hold-customer-bn-{name}.png")
        await screenshot(held.dashboard, size, artifacts / f"hold-dashboard-{name}.png")


async def resume(held: Held) -> None:
    """Resumed: the button says Hold again; the bar, the notice and the chip go."""
    await held.button.click()
    await expect(held.button).to_have_text("Hold")
    await expect(held.button).to_have_attribute("aria-pressed", "false")
    await expect(held.pages.agent.locator("#hold-bar")).to_have_attribute("data-on", "false")
    await expect(held.pages.agent.locator("#hold-said")).to_have_text("")
    await expect(held.notice).to_have_text("")
    await expect(held.chip).to_be_hidden(timeout=WAIT_MS)


async def test_agent_holds_the_call_and_everyone_sees_it_until_resumed(
    open_pages: PagesFactory, artifacts: Path
) -> None:
    pages = await open_pages(customer_locale="bn-BD")
    await start_call(pages)
    held = Held(pages, *await open_dashboard(pages))
    agent, customer = pages.agent, pages.customer
    await nobody_is_on_hold(held)
    await first_hold(held, artifacts)

    # The customer switches to English: the notice follows.
    await customer.locator(".lang-switch button[data-lang=en]").click()
    await expect(held.notice).to_have_text(ON_HOLD_EN)
    await screenshot(customer, PHONE, artifacts / "hold-customer-en-phone.png")

    await resume(held)
    await asyncio.sleep(SETTLE_S)
    await agent_hears_customer(pages)

    # A second hold: the bar also says the time on hold in all and how many holds.
    await held.button.click()
    await expect(agent.locator("#hold-total")).to_have_text(
        re.compile(r"^Held 2 times, 0:\d\d in all$")
    )
    await expect(held.notice).to_have_text(ON_HOLD_EN)
    await screenshot(agent, PHONE, artifacts / "hold-agent-second-hold-phone.png")
    await resume(held)
    state = await poll_state(
        agent, pages.agent_log, "two holds", lambda s: (s["hold"] or {}).get("count") == 2, 5
    )
    assert state["hold"]["on"] is False and state["hold"]["total_s"] > 2, state["hold"]
    assert state["error"] is None, state
    assert (await page_state(held.dashboard)).get("error") is None, held.dashboard_log

    # The call ends: its summary on the console says how long the customer was on hold.
    await agent.locator("#hangup").click()
    await expect(agent.locator("#summary-detail")).to_contain_text(
        re.compile(r"On hold 0:\d\d in 2 holds")
    )


async def hold_twice(server: Server) -> str:
    """A call of two tones the agent holds twice (2 s, then 1.5 s); returns its id once recorded."""
    pair = await connect_call(
        server, customer_sources=participant_media(440), agent_sources=participant_media(660)
    )

    async def hold(on: bool, count: int) -> dict[str, Any]:
        verb = ClientEvent.HOLD_CALL if on else ClientEvent.RESUME_CALL
        ack = await pair.agent.request(verb, {"call_id": pair.call_id})
        assert ack["hold"]["on"] is on and ack["hold"]["count"] == count, ack
        # The customer is told too (call_updated), with the same hold.
        await pair.customer.wait_for(
            ServerEvent.CALL_UPDATED, lambda p: p["call"]["hold"] == ack["hold"]
        )
        hold_now: dict[str, Any] = ack["hold"]
        return hold_now

    await asyncio.sleep(1.5)
    await hold(True, 1)
    await asyncio.sleep(2.0)
    await hold(False, 1)
    await asyncio.sleep(1.5)
    await hold(True, 2)
    await asyncio.sleep(1.5)
    ended = await hold(False, 2)
    assert ended["total_s"] == pytest.approx(3.5, abs=0.5), ended
    await asyncio.sleep(1.0)
    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()
    return pair.call_id


async def check_talk_strip(page: Page) -> None:
    """Both holds shaded on every lane, the legend's key, the words."""
    talk = page.locator("#talk")
    await talk.scroll_into_view_if_needed()
    strips = talk.locator(".tk-strip")
    count = await strips.count()
    assert count == 3, f"want the customer's, the agent's and the silence lane: {count}"
    for n in range(count):
        await expect(strips.nth(n).locator(".tk-hold")).to_have_count(2)
    await expect(strips.first.locator(".tk-hold").first).to_have_attribute(
        "title", re.compile(r"^On hold 0:0\d\u20130:0\d: the parties could not hear each other$")
    )
    await expect(talk.locator(".tk-hold-key")).to_be_visible()
    await expect(page.locator("#talk-summary")).to_contain_text(
        re.compile(r"On hold \d\.\d s in 2 holds\.")
    )
    await expect(page.locator("#p-details")).to_contain_text(
        re.compile(r"on hold 0:0\d \(2 holds\)")
    )
    events = page.locator("#events")
    await expect(events.locator("button", has_text="Customer put on hold")).to_have_count(2)
    await expect(events.locator("button", has_text="Customer taken off hold")).to_have_count(2)
    await expect(events).to_contain_text("Customer put on hold by the agent Rahim")


async def test_replay_shows_the_holds_on_the_talk_strip_and_in_words(
    server: Server, browser: Browser, artifacts: Path
) -> None:
    call_id = await hold_twice(server)
    reviewer = server.token(Role.REVIEWER, "Rina")
    status, detail, _ = await api_request(server, "GET", f"/api/recordings/{call_id}", reviewer)
    assert status == 200, detail
    conversation = detail["conversation"]
    assert conversation["holds"] == 2 and len(conversation["hold_spans"]) == 2, conversation
    assert conversation["hold_ms"] == pytest.approx(3500, abs=600), conversation

    page, log = await new_page(browser)
    await page.set_viewport_size(PHONE)
    await page.goto(f"{server.url}/replay#token={reviewer}")
    opened = await open_first_recording(page, log, call_id, "talk")
    spans = [(s["start_ms"] / 1000, s["end_ms"] / 1000) for s in conversation["hold_spans"]]
    holds = opened["talk"]["holds"]
    assert len(holds) == len(spans), opened["talk"]
    for (start, end), drawn in zip(spans, holds, strict=True):
        assert drawn["start"] == pytest.approx(start, abs=0.05), holds
        assert drawn["end"] == pytest.approx(end, abs=0.05), holds
    await check_talk_strip(page)

    await page.screenshot(path=artifacts / "hold-replay-phone.png", full_page=True)
    await page.locator("#talk").screenshot(path=artifacts / "hold-replay-talk-phone.png")
    await page.set_viewport_size(LAPTOP)
    await page.locator("#talk").scroll_into_view_if_needed()
    await page.screenshot(path=artifacts / "hold-replay-laptop.png", full_page=True)
    await page.locator("#talk").screenshot(path=artifacts / "hold-replay-talk-laptop.png")
    assert opened["error"] is None, opened
