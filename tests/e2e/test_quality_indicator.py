"""The agent console's quality indicator, in headless Chromium, on a call from an aiortc customer.

Guards:
- during a call the agent sees two cards, the customer's line and their own, each rated in
  words (not colour alone) with the key figures (MOS, loss, jitter, round trip) to fold out;
- on a clean line the customer's card says "Good" within 10 s of the media connecting;
- when the customer's microphone packets stop reaching the server while the connection
  stays up (one-way audio), the card turns "Poor" within 6 s, says why in words (no audio
  from the customer) and what to try, and the card is marked as alerting; when audio
  comes back the alert is listed as cleared;
- hanging up clears the indicator (the test hook reports no quality any more).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from callcenter.identity import Role
from client.participant import KothaClient
from quality.alerts import AlertRules
from quality.sample import Direction, StreamSample
from tests.conftest import Server
from tests.support import drop_every, participant_media

from .conftest import BrowserFactory, PageLog, make_wav
from .test_browser_call import CONNECT_TIMEOUT_S, page_state, wait_for_state

pytestmark = pytest.mark.e2e

GOOD_WITHIN_S = 10.0
POOR_WITHIN_S = 6.0


@pytest.fixture
async def agent_page(
    launch_browser: BrowserFactory, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Page, PageLog]]:
    """A phone-sized agent console whose microphone plays a steady tone."""
    tone = make_wav(tmp_path / "agent-tone.wav", "synth", "5", "sine", "660", "vol", "0.3")
    browser = await launch_browser(tone)
    context = await browser.new_context(locale="en-US", viewport={"width": 414, "height": 860})
    page = await context.new_page()
    log = PageLog("agent", page)
    yield page, log
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        print(log)  # pytest shows it with the failure: the page's own words


async def take_call(server: Server, page: Page, log: PageLog) -> tuple[str, KothaClient]:
    """An aiortc customer (a steady tone) calls; the browser agent takes the call."""
    call_id, token = await server.customer_call("Karim")
    customer = server.client(token, sources=participant_media(440))
    await customer.connect()
    await customer.request_call()
    await page.goto(f"{server.url}/agent#token={server.token(Role.AGENT, 'Rahim')}")
    await page.locator("#availability").click()
    await page.locator("#queue-rows tr", has_text="Karim").get_by_role("button").click()
    await expect(page.locator("#incall")).to_be_visible()
    await customer.join_call(call_id)
    await wait_for_state(page, log, "connection", "connected", timeout=CONNECT_TIMEOUT_S)
    return call_id, customer


async def check_clean_line(page: Page, call_id: str) -> None:
    """Both cards say "Good" in words; the figures behind it fold out, stream by stream."""
    card = page.locator('#quality .q-card[data-party="customer"]')
    await expect(card.locator(".q-word")).to_have_text("Good", timeout=GOOD_WITHIN_S * 1000)
    await expect(card.locator(".q-reason")).to_have_text("The customer sounds clear.")
    await expect(card.locator(".q-figures")).to_contain_text("MOS 4.4 · loss 0%")
    # The agent's own line is rated from the same kind of samples: a loaded machine's first
    # seconds may read "Fair" until the loopback's jitter settles (CI saw it once).
    await expect(page.locator('#quality [data-party="self"] .q-word')).to_have_text(
        "Good", timeout=GOOD_WITHIN_S * 1000
    )
    quality = (await page_state(page))["quality"]
    assert quality["callId"] == call_id, quality
    assert quality["customer"]["rating"] == "good", quality
    assert quality["customer"]["mos"] == pytest.approx(4.4, abs=0.1), quality
    assert quality["customer"]["rttMs"] is not None and quality["customer"]["rttMs"] < 100
    assert quality["alerts"] == [], quality

    await card.locator(".q-figures").click()
    streams = card.locator(".q-streams li")
    await expect(streams.filter(has_text="Microphone from the customer")).to_contain_text("MOS")
    await expect(streams.filter(has_text="Audio to the customer")).to_be_visible()
    # The agent's own browser reports its getStats() view; the agent's card shows it.
    await expect(page.locator('#quality [data-party="self"] .q-reported')).to_contain_text(
        "Your browser says", timeout=8000
    )
    await expect(page.locator('#quality [data-party="self"] .q-reported')).to_contain_text(
        "jitter buffer"
    )


async def test_agent_sees_the_customer_line_turn_poor_when_their_audio_stops(
    server: Server, agent_page: tuple[Page, PageLog], artifacts: Path
) -> None:
    page, log = agent_page
    call_id, customer = await take_call(server, page, log)
    await check_clean_line(page, call_id)

    # The customer's microphone packets stop reaching the server; the connection stays up.
    assert customer.peer is not None
    transport = customer.peer.pc.getSenders()[0].transport
    send = transport._send_rtp
    stopped = time.monotonic()
    drop_every(transport, 1)
    card = page.locator('#quality .q-card[data-party="customer"]')
    await expect(card.locator(".q-word")).to_have_text("Poor", timeout=POOR_WITHIN_S * 1000)
    took = time.monotonic() - stopped
    await expect(card.locator(".q-reason")).to_contain_text("No audio from the customer")
    await expect(card.locator(".q-suggestion")).to_contain_text("Try:")
    await expect(card).to_have_attribute("data-alert", "true")
    quality = (await page_state(page))["quality"]
    assert quality["customer"]["rating"] == "poor", quality
    assert "no audio from the customer" in quality["customer"]["reason"].lower(), quality
    assert any(a["kind"] == "no_audio" and a["active"] for a in quality["alerts"]), quality
    assert took < POOR_WITHIN_S, f"the indicator turned poor after {took:.1f} s"
    await page.screenshot(path=artifacts / "agent-quality.png", full_page=True)

    # Audio comes back: the no-audio alert is shown as cleared.
    transport._send_rtp = send  # type: ignore[method-assign]
    cleared = page.locator('#quality .q-alert[data-active="false"][data-kind="no_audio"]')
    await expect(cleared).to_contain_text("Cleared", timeout=5000)

    # Hanging up clears the indicator.
    await page.locator("#hangup").click()
    await expect(page.locator("#summary-reason")).to_have_text("You hung up.")
    quality = (await page_state(page))["quality"]
    assert quality["customer"] is None and quality["alerts"] == [], quality
    await expect(page.locator("#error")).to_be_hidden()


async def test_a_pile_of_alerts_shows_three_and_a_button_for_the_rest(
    server: Server, agent_page: tuple[Page, PageLog]
) -> None:
    """Guards (issue 13, item 5): the alert list had no bound and pushed the call down."""
    rules = AlertRules()
    for _ in range(5):
        for who, role in (("p-customer", "customer"), ("p-agent", "agent")):
            rules.update(
                StreamSample(
                    who, role, Direction.INBOUND, "audio", "microphone", time.time(), 50,
                    loss_pct=12.0, jitter_ms=90.0, rtt_ms=900.0, mos=2.0,
                )
            )  # fmt: skip
    alerts = [alert.to_wire() for alert in rules.active]
    assert len(alerts) >= 6, alerts  # loss, jitter and round trip, for each party at least

    page, _ = agent_page
    await page.goto(f"{server.url}/agent")
    await expect(page.locator("#signin")).to_be_visible()
    await page.evaluate(
        """async (view) => {
          document.querySelector("#incall").hidden = false;
          const { QualityIndicator } = await import("/static/js/quality-indicator.js");
          window.indicator = new QualityIndicator(document.querySelector("#quality"));
          window.indicator.update(view, null);
        }""",
        {"call_id": "c_test", "participants": [], "alerts": alerts},
    )
    listed = page.locator("#quality .q-alert")
    await expect(listed).to_have_count(3)
    more = page.get_by_role("button", name=f"Show all {len(alerts)} alerts")
    await more.click()
    await expect(listed).to_have_count(len(alerts))
    await page.get_by_role("button", name="Show fewer alerts").click()
    await expect(listed).to_have_count(3)


async def test_a_burst_of_keywords_shows_the_newest_three_and_counts_the_rest(
    server: Server, agent_page: tuple[Page, PageLog]
) -> None:
    """The transcript's alerts are bounded too: a burst of keywords kept the call out of view."""
    page, _ = agent_page
    await page.goto(f"{server.url}/agent")
    await expect(page.locator("#signin")).to_be_visible()
    await page.evaluate(
        """async (words) => {
          document.querySelector("#incall").hidden = false;
          const { TranscriptAlerts } = await import("/static/js/transcript-panel.js");
          const alerts = new TranscriptAlerts(document.querySelector("#transcript-alerts"));
          for (const [n, keyword] of words.entries()) {
            const message = `the customer said "${keyword}"`;
            alerts.add({ kind: "keyword", keyword, utterance_id: `u${n}`, message });
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }""",
        ["refund", "cancel", "complaint", "manager", "lawyer"],
    )
    listed = page.locator("#transcript-alerts .t-alert")
    await expect(listed).to_have_count(3)
    await expect(listed.first).to_contain_text('"lawyer"')  # the newest first
    await expect(page.locator("#transcript-alerts")).to_contain_text("and 2 earlier alerts")
