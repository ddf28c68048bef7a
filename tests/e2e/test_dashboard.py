"""The supervisors' dashboard in headless Chromium, over live calls of aiortc customers and agents.

The floor: Karim (a 440 Hz tone) talks to Rahim (660 Hz), but Karim's microphone packets
stop reaching the server (one-way audio, so a no_audio alert fires); Laila talks to Tania on
a clean line; Jamal waits in the queue; Mita is available and Sabbir's console is closed.
Sumi, a supervisor whose microphone plays 880 Hz, opens the dashboard.

Guards:
- the supervisor signs in from the link fragment (which leaves the address bar);
- every live call is listed with customer, agent, duration, language, a MOS badge per
  party in words (not colour alone: a silent microphone says "no audio", not its MOS),
  the recording state and its alerts; the call that needs attention comes first;
- the queue shows the waiting customer and the longest wait; every agent's state is in
  words (on a call, available, offline); the summary counts calls, waiting and available;
- an alert is a link to its call: the panel opens (#call=<id> in the URL) with the live
  transcript, the mood and a quality chart per party that gains a point a second;
- Listen: the page hears the call (its received audio level rises above silence), the
  server keeps exactly one monitor_started audit record (mode listen), the row says who
  is listening, and nothing the customer's client received names the supervisor;
- Whisper: the supervisor's microphone reaches the agent and not the customer; Stop ends
  the session (audited) and the panel says so; closing the panel unwatches the call;
- on a 414 px wide phone the page has no sideways scroll and its buttons are big enough;
  a click anywhere on a row opens its call; when that call ends while the supervisor
  listens, the panel closes and says who hung up (the session's end audited: call_ended);
- an admin can open a call from a link (#token=…&call=…) but not monitor it, and is told
  why; when the audit log cannot be written a whisper is refused in words (the supervisor
  keeps listening, microphone closed) and so is opening a call; a refused token, and an
  agent's token, are explained in words.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from callcenter.identity import Role
from client.participant import KothaClient
from tests.conftest import Pair, Server, connect_call
from tests.support import Ear, drop_every, participant_media

from .conftest import BrowserFactory, PageLog, make_wav, page_state, poll_state

pytestmark = pytest.mark.e2e

CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ = 440, 660, 880
# Waits are generous: two cores, shared with other browser tests.
WAIT_MS = 20_000
# RMS of the received audio (0..1): a 660 Hz tone at amplitude 8000 measures ~0.17.
HEARD_LEVEL = 0.02
SILENT_LEVEL = 0.003
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 414, "height": 860}


@dataclass
class Floor:
    """What the supervisor looks at, and what the parties hear."""

    bad: Pair
    clean: Pair
    waiting: KothaClient
    customer_ear: Ear
    agent_ear: Ear


@pytest.fixture
async def floor(server: Server) -> AsyncIterator[Floor]:
    customer_ear, agent_ear = Ear(), Ear()
    bad = await connect_call(
        server,
        customer_sources=participant_media(CUSTOMER_HZ),
        agent_sources=participant_media(AGENT_HZ),
        customer_options={"on_track": customer_ear},
        agent_options={"on_track": agent_ear},
    )
    clean = await connect_call(
        server,
        customer_sources=participant_media(CUSTOMER_HZ),
        agent_sources=participant_media(AGENT_HZ),
        customer_name="Laila",
        agent_name="Tania",
    )
    _, token = await server.customer_call("Jamal")
    waiting = server.client(token)
    await waiting.connect()
    await waiting.request_call()
    mita = server.client(server.token(Role.AGENT, "Mita"))
    await mita.connect()
    await mita.set_availability("available")
    sabbir = server.client(server.token(Role.AGENT, "Sabbir"))
    await sabbir.connect()
    await sabbir.disconnect()
    # Karim's microphone goes silent at the server, while his connection stays up.
    await agent_ear.wait_for(CUSTOMER_HZ)
    assert bad.customer.peer is not None
    drop_every(bad.customer.peer.pc.getSenders()[0].transport, 1)
    yield Floor(bad, clean, waiting, customer_ear, agent_ear)
    await customer_ear.close()
    await agent_ear.close()


@pytest.fixture
async def supervisor_browser(launch_browser: BrowserFactory, tmp_path: Path) -> Browser:
    """Chromium whose microphone plays the supervisor's 880 Hz tone."""
    tone = make_wav(
        tmp_path / "supervisor.wav", "synth", "10", "sine", str(SUPERVISOR_HZ), "vol", "0.3"
    )
    return await launch_browser(tone)


OpenPage = Callable[..., Awaitable[tuple[Page, PageLog]]]


@pytest.fixture
async def open_page(
    supervisor_browser: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[OpenPage]:
    logs: list[PageLog] = []

    async def open_(name: str, url: str) -> tuple[Page, PageLog]:
        context = await supervisor_browser.new_context(locale="en-US", viewport=DESKTOP)
        page = await context.new_page()
        log = PageLog(name, page)
        logs.append(log)
        await page.goto(url)
        return page, log

    yield open_
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        for log in logs:
            print(log)  # pytest shows it with the failure: the pages' own words


async def state(page: Page) -> dict[str, Any]:
    return await page_state(page)


async def poll(
    page: Page,
    log: PageLog,
    what: str,
    check: Callable[[dict[str, Any]], bool],
    timeout: float = WAIT_MS / 1000,
) -> dict[str, Any]:
    """Poll the page's state until ``check`` holds; fail with the state and the page log."""
    return await poll_state(page, log, what, check, timeout, every=0.2)


def session(page_state: dict[str, Any]) -> dict[str, Any]:
    """The monitoring session in a page state (window.kotha.state().panel.monitor)."""
    monitor: dict[str, Any] = page_state["panel"]["monitor"]
    return monitor


def audit(server: Server, action: str) -> list[dict[str, Any]]:
    return [r for r in server.switchboard.audit.read() if r["action"] == action]


async def check_floor(page: Page, log: PageLog, floor: Floor) -> None:
    """Both calls, the bad one first, with their lines, recording and alerts; queue and agents."""
    rows = page.locator("#call-rows > li")
    await expect(rows).to_have_count(2, timeout=WAIT_MS)
    bad, clean = rows.nth(0), rows.nth(1)
    # The no_audio alert fires ~3 s after Karim's packets stop; the row moves to the top.
    chip = bad.locator('.fc-alert[data-kind="no_audio"]')
    await expect(chip).to_contain_text("No audio from the customer", timeout=WAIT_MS)
    await expect(bad.locator(".fc-open")).to_have_text("Karim with Rahim")
    await expect(bad).to_have_attribute("data-attention", "high")
    await expect(bad.locator(".fc-level")).to_have_text("Needs attention")
    await expect(clean.locator(".fc-open")).to_have_text("Laila with Tania")
    await expect(clean).to_have_attribute("data-attention", "none")

    # A MOS badge per party: a symbol, who, the figure and the rating in words.
    karim = bad.locator('.mos-badge[data-role="customer"]')
    await expect(karim).to_have_attribute("data-rating", "poor")
    await expect(karim).to_have_text(re.compile(r"Customer\s*no audio\s*Poor"))
    await expect(bad.locator('.mos-badge[data-role="agent"]')).to_have_text(
        re.compile(r"Agent\s*MOS 4\.\d\s*Good")
    )
    for role in ("Customer", "Agent"):
        badge = clean.locator(f'.mos-badge[data-role="{role.lower()}"]')
        await expect(badge).to_have_text(re.compile(rf"{role}\s*MOS 4\.\d\s*Good"), timeout=WAIT_MS)
    for row in (bad, clean):
        await expect(row.locator(".fc-recording")).to_have_text(re.compile(r"Recording$"))
        await expect(row.locator(".fc-lang")).to_have_text("Bengali · Voice")
        await expect(row.locator(".fc-duration")).to_have_text(re.compile(r"^0:\d\d$"))
        await expect(row.locator(".fc-mood")).to_contain_text("Mood")

    # The queue and the agents, in words.
    await expect(page.locator("#queue-rows > li")).to_have_count(1)
    await expect(page.locator("#queue-rows")).to_contain_text("Jamal")
    await expect(page.locator("#queue-longest")).to_have_text(re.compile(r"^Longest wait 0:\d\d$"))
    agents = page.locator("#agent-rows > li")
    expected = {
        "Rahim": "On a call",
        "Tania": "On a call",
        "Mita": "Available",
        "Sabbir": "Offline",
    }
    for name, words in expected.items():
        await expect(agents.filter(has_text=name).locator(".agent-state")).to_have_text(words)
    await expect(agents.filter(has_text="Rahim").locator(".agent-call")).to_have_text("with Karim")
    await expect(page.locator("#stat-calls")).to_have_text("2")
    await expect(page.locator("#stat-attention")).to_have_text("1")
    await expect(page.locator("#stat-waiting")).to_have_text("1")
    await expect(page.locator("#stat-agents")).to_have_text("1 of 3")

    seen = await state(page)
    calls = seen["floor"]["calls"]
    assert [c["callId"] for c in calls] == [floor.bad.call_id, floor.clean.call_id], calls
    assert calls[0]["alerts"] == ["no_audio"], calls
    assert seen["floor"]["queue"]["waiting"] == 1, seen["floor"]["queue"]
    # The durations count up on the server's clock.
    before = calls[1]["durationS"]
    later = await poll(
        page, log, "the duration counts up", lambda s: s["floor"]["calls"][1]["durationS"] > before
    )
    assert later["floor"]["calls"][1]["durationS"] <= before + 3


@dataclass
class Story:
    """The supervisor's page on the floor, for the chapters of the test below."""

    server: Server
    floor: Floor
    page: Page
    log: PageLog
    artifacts: Path

    async def until(self, what: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        return await poll(self.page, self.log, what, check)


async def open_the_alert(story: Story) -> None:
    """The alert is a link to its call: the panel opens, linkably, and charts both lines."""
    page, floor = story.page, story.floor
    await page.locator('#call-rows .fc-alert[data-kind="no_audio"]').click()
    await expect(page).to_have_url(re.compile(rf"#call={floor.bad.call_id}$"))
    panel = page.locator("#call-panel")
    await expect(panel.locator("#cp-title")).to_have_text("Karim with Rahim")
    await expect(panel.locator("#transcript")).to_be_visible()
    await expect(panel.locator("#mood")).to_be_visible()
    await expect(panel.locator("#cp-alerts")).to_contain_text("No audio from the customer")
    await story.until("the panel watches the call", lambda s: s["panel"]["watching"])
    assert len(audit(story.server, "watch")) == 1
    # A point a second on each party's chart.
    charted = await story.until(
        "both quality charts get points",
        lambda s: (
            len(s["panel"]["quality"]["parties"]) == 2
            and all(p["points"] >= 3 for p in s["panel"]["quality"]["parties"])
        ),
    )
    parties = {p["role"]: p for p in charted["panel"]["quality"]["parties"]}
    assert parties["customer"]["mos"] is None, parties  # no audio from Karim: no MOS
    assert parties["agent"]["mos"] == pytest.approx(4.4, abs=0.1), parties
    chart = panel.locator(".qt-party").first
    await expect(chart.locator(".qt-title")).to_have_text("Customer · Karim")
    await expect(chart.locator('.qt-row[data-series="mos"] .qt-now')).to_have_text("no audio")
    await expect(chart.locator(".qt-line").first).to_be_attached()
    await expect(page.locator("#mode-stop")).to_be_disabled()


async def listen(story: Story) -> str:
    """Listen: the page hears the call, one audit record; the supervisor's participant id."""
    page, server = story.page, story.server
    await page.locator("#mode-listen").click()
    listening = await story.until(
        "listening, connected",
        lambda s: session(s)["mode"] == "listen" and session(s)["state"] == "connected",
    )
    assert listening["panel"]["monitor"]["microphone"] is False
    await expect(page.locator("#mode-listen")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#monitor-words")).to_contain_text("Only you hear the call")
    heard = await story.until("the call is heard", lambda s: s["remoteAudioLevel"] > HEARD_LEVEL)
    print(f"heard the call at level {heard['remoteAudioLevel']:.3f}")
    await expect(page.locator("#call-rows > li").first.locator(".fc-monitors")).to_have_text(
        "Monitored by You · listening", timeout=WAIT_MS
    )
    records = audit(server, "monitor_started")
    assert len(records) == 1, records
    assert records[0]["details"]["mode"] == "listen", records
    assert (records[0]["actor"], records[0]["call_id"]) == ("sumi", story.floor.bad.call_id)
    await page.screenshot(path=story.artifacts / "dashboard.png", full_page=True)
    return str(listening["panel"]["monitor"]["participantId"])


async def whisper(story: Story, supervisor_pid: str) -> None:
    """Whisper: the agent hears the supervisor; the customer neither hears nor is told of them."""
    page, floor = story.page, story.floor
    whispered = time.perf_counter()
    await page.locator("#mode-whisper").click()
    await story.until(
        "whispering",
        lambda s: session(s)["mode"] == "whisper" and bool(session(s)["microphone"]),
    )
    await expect(page.locator("#monitor-words")).to_contain_text(
        "The agent hears you, the customer does not"
    )
    reached = await floor.agent_ear.wait_for(SUPERVISOR_HZ, after=whispered, timeout=15)
    print(f"the whisper reached the agent {reached - whispered:.2f} s after the click")
    await asyncio.sleep(1.0)
    assert floor.customer_ear.heard(SUPERVISOR_HZ) == [], "the customer heard a whisper"
    changed = audit(story.server, "monitor_mode_changed")
    assert [r["details"]["mode"] for r in changed] == ["whisper"], changed
    said_to_customer = json.dumps([r.payload for r in floor.bad.customer.received])
    for mention in ("Sumi", "sumi", supervisor_pid):
        assert mention not in said_to_customer, f"the customer was told {mention!r}"


async def stop_and_close(story: Story) -> None:
    """Stop ends the session (audited) and the page hears nothing; closing unwatches."""
    page = story.page
    await page.locator("#mode-stop").click()
    await story.until("stopped", lambda s: session(s)["mode"] is None)
    await expect(page.locator("#monitor-words")).to_have_text("You are not listening to this call.")
    await expect(page.locator("#mode-listen")).to_have_attribute("aria-pressed", "false")
    await story.until("silence", lambda s: s["remoteAudioLevel"] < SILENT_LEVEL)
    ended = audit(story.server, "monitor_ended")
    assert [r["details"]["reason"] for r in ended] == ["stopped"], ended
    monitors = page.locator("#call-rows > li").first.locator(".fc-monitors")
    await expect(monitors).to_be_hidden(timeout=WAIT_MS)
    await page.locator("#cp-close").click()
    await expect(page.locator("#call-panel")).to_be_hidden()
    assert "#call=" not in page.url
    await story.until("the panel is closed", lambda s: not s["panel"]["open"])


async def on_a_phone_until_the_call_ends(story: Story) -> None:
    """On a phone: one column, no sideways scroll, big buttons; a click on a row opens its
    call; the call ends while the supervisor listens and the panel says who hung up."""
    page, floor = story.page, story.floor
    await page.set_viewport_size(PHONE)
    await page.locator("#call-rows > li").nth(1).locator(".fc-duration").click()
    await expect(page).to_have_url(re.compile(rf"#call={floor.clean.call_id}$"))
    panel = page.locator("#call-panel")
    await expect(panel.locator("#cp-title")).to_have_text("Laila with Tania")
    await story.until(
        "the clean call's charts",
        lambda s: any(p["points"] >= 2 for p in s["panel"]["quality"]["parties"]),
    )
    await page.locator("#mode-listen").click()
    await story.until("listening on the phone", lambda s: session(s)["state"] == "connected")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the phone layout scrolls sideways ({width} px)"
    for button in ("#mode-listen", "#mode-whisper", "#mode-barge", "#mode-stop", "#cp-close"):
        box = await page.locator(button).bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, (button, box)
    await page.screenshot(path=story.artifacts / "dashboard-phone.png", full_page=True)

    await floor.clean.agent.hang_up()
    await expect(page.locator("#notice")).to_have_text(
        "The call between Laila and Tania ended: Tania hung up.", timeout=WAIT_MS
    )
    await expect(panel).to_be_hidden()
    await expect(page.locator("#call-rows > li")).to_have_count(1, timeout=WAIT_MS)
    assert "#call=" not in page.url
    assert (await state(page))["panel"]["monitor"]["mode"] is None
    ended = audit(story.server, "monitor_ended")
    assert [r["details"]["reason"] for r in ended] == ["stopped", "call_ended"], ended


async def test_supervisor_finds_the_call_in_trouble_listens_whispers_and_stops(
    server: Server, floor: Floor, open_page: OpenPage, artifacts: Path
) -> None:
    started = time.monotonic()
    sumi = server.token(Role.SUPERVISOR, "Sumi")
    page, log = await open_page("supervisor", f"{server.url}/dashboard#token={sumi}")
    await expect(page.locator("#floor")).to_be_visible(timeout=WAIT_MS)
    assert "token" not in page.url
    await expect(page.locator("#staff-name")).to_have_text("Sumi")
    story = Story(server, floor, page, log, artifacts)
    await check_floor(page, log, floor)
    await open_the_alert(story)
    supervisor_pid = await listen(story)
    await whisper(story, supervisor_pid)
    await stop_and_close(story)
    await on_a_phone_until_the_call_ends(story)
    await expect(page.locator("#error")).to_be_hidden()
    print(f"the dashboard story took {time.monotonic() - started:.1f} s")


async def test_admins_may_not_listen_and_every_refusal_is_said_in_words(
    server: Server, floor: Floor, open_page: OpenPage
) -> None:
    admin = server.token(Role.ADMIN, "Anis")
    link = f"{server.url}/dashboard#token={admin}&call={floor.clean.call_id}"
    page, log = await open_page("admin", link)
    panel = page.locator("#call-panel")
    await expect(panel.locator("#cp-title")).to_have_text("Laila with Tania", timeout=WAIT_MS)
    await expect(page).to_have_url(re.compile(rf"/dashboard#call={floor.clean.call_id}$"))
    await expect(page.locator("#staff-role")).to_have_text("Admin")
    for button in ("#mode-listen", "#mode-whisper", "#mode-barge", "#mode-stop"):
        await expect(page.locator(button)).to_be_disabled()
    await expect(page.locator("#monitor-why")).to_contain_text("only supervisors listen in")
    assert (await state(page))["panel"]["monitor"]["mayMonitor"] is False
    await poll(page, log, "the admin watches", lambda s: s["panel"]["watching"])

    # The audit log cannot be written: a whisper is refused and the supervisor keeps
    # listening, without a microphone; opening another call is refused too.
    sumi = server.token(Role.SUPERVISOR, "Sumi")
    page, log = await open_page(
        "supervisor", f"{server.url}/dashboard#token={sumi}&call={floor.bad.call_id}"
    )
    await expect(page.locator("#cp-title")).to_have_text("Karim with Rahim", timeout=WAIT_MS)
    await page.locator("#mode-listen").click()
    await poll(page, log, "listening", lambda s: session(s)["state"] == "connected")
    log_path = server.switchboard.audit.path
    log_path.unlink()
    log_path.mkdir()  # a directory where the log should be: every append fails
    await page.locator("#mode-whisper").click()
    error = page.locator("#error")
    await expect(error).to_contain_text("the audit log cannot be written", timeout=WAIT_MS)
    await expect(error).not_to_contain_text("Errno")  # the server's OS error is not repeated
    await poll(page, log, "the whisper refused", lambda s: not session(s)["busy"])
    after = session(await state(page))
    assert (after["mode"], after["microphone"]) == ("listen", False), after
    await expect(page.locator("#mode-listen")).to_have_attribute("aria-pressed", "true")
    await page.locator("#call-rows .fc-open", has_text="Laila").click()
    await expect(page.locator("#call-panel")).to_be_hidden(timeout=WAIT_MS)
    await expect(error).to_contain_text("the audit log cannot be written")
    assert "#call=" not in page.url

    refused, _ = await open_page("refused", f"{server.url}/dashboard#token=not-a-token")
    await expect(refused.locator("#error")).to_contain_text(
        "This token is not valid", timeout=WAIT_MS
    )
    await expect(refused.locator("#signin")).to_be_visible()
    agent, _ = await open_page(
        "agent", f"{server.url}/dashboard#token={server.token(Role.AGENT, 'Omar')}"
    )
    await expect(agent.locator("#error")).to_contain_text("an agent's token", timeout=WAIT_MS)
