"""The admins' audit page and the replay timeline's monitoring spans, in headless Chromium.

Guards:
- a supervisor listens to a real call, whispers, barges in and stops (aiortc peers): an
  admin who opens /audit#token=... sees exactly those four records, newest first, in words
  ("started listening to", "switched to whispering to the agent on", "barged into",
  "stopped monitoring"), with who (sumi, Supervisor), from where (127.0.0.1), when, the
  call (a link the replay page opens) and the mode; the token leaves the address bar;
- filtering by kind (monitoring), by the call and by the person keeps them; another person,
  or playback and downloads, finds none, and the page says so;
- a reviewer who opens that recording sees the session under the timeline as three spans,
  listen, whisper, barge, in words, where the recording's events put them (and where the
  test did them), and the events list says each step in words; a click on a span, or Enter
  on one, plays from where it starts;
- the reviewer's playback then shows on the audit page as the newest record, and the
  call's link opens the recording on the replay page (signed in with the admin's token,
  which writes the admin's own playback record);
- on a 414 px phone the records are cards that fit the screen; on a wide screen a real table;
- a supervisor's token is refused in the server's words and the form takes an admin token;
- paging: 60 records are 25 + 25 + 10, older and newer go back and forth exactly; "playback
  and downloads" (two queries merged by time) pages in time order across a page boundary;
  recording pause/resume and day ranges (UTC days, "To" included) find what they should,
  a "To" before "From" is refused naming the field, and a reload keeps the filters.
"""

from __future__ import annotations

import asyncio
import calendar
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from callcenter.identity import Role
from media.source import SourceKind
from node.audit import AuditRecord
from tests.conftest import Server, api_request, connect_call
from tests.support import ToneTrack

from .conftest import PageLog, poll_state

pytestmark = pytest.mark.e2e

# When the supervisor does each thing, on the call's clock (s).
LISTEN_AT, WHISPER_AT, BARGE_AT, STOP_AT, HANG_UP_AT = 1.0, 2.2, 3.4, 4.6, 5.4
# How far after the test asked for it a step may land on the call's clock (the request's
# round trip; starting builds the supervisor's peer first: about 50 ms here, unloaded).
STEP_SLACK_S = 1.0
# The pages' waits: generous, the machine is shared with other browser tests.
WAIT_S = 20.0
WAIT_MS = 20_000
PHONE = {"width": 414, "height": 860}
WIDE = {"width": 1280, "height": 900}
MONITOR_ACTIONS = [
    "monitor_ended",
    "monitor_mode_changed",
    "monitor_mode_changed",
    "monitor_started",
]


async def new_page(
    browser: Browser, name: str, viewport: dict[str, int], scale: float = 1
) -> tuple[Page, PageLog]:
    # Dhaka time, so the audit page's local times are not UTC by accident.
    context = await browser.new_context(
        locale="en-US", timezone_id="Asia/Dhaka", viewport=viewport, device_scale_factor=scale
    )
    page = await context.new_page()
    return page, PageLog(name, page)


async def wait_state(
    page: Page,
    log: PageLog,
    what: str,
    check: Callable[[dict[str, Any]], bool],
    timeout: float = WAIT_S,
) -> dict[str, Any]:
    return await poll_state(page, log, what, check, timeout, every=0.05)


def settled(total: int) -> Callable[[dict[str, Any]], bool]:
    return lambda s: (
        s["signedIn"] and not s["loading"] and s["error"] is None and s["total"] == total
    )


async def record_monitored_call(server: Server) -> str:
    """Customer and agent talk; Sumi listens, whispers, barges in and stops; the call ends."""
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(440)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(660)},
    )
    recorder = server.switchboard.recordings.recorder(pair.call_id)
    assert recorder is not None, "an accepted call must be recorded"
    t0 = recorder.started_perf
    sumi = server.client(
        server.token(Role.SUPERVISOR, "Sumi"), sources={SourceKind.MICROPHONE: ToneTrack(880)}
    )
    await sumi.connect()

    async def at(t: float) -> None:
        await asyncio.sleep(max(0.0, t0 + t - time.perf_counter()))

    await at(LISTEN_AT)
    await sumi.monitor_call(pair.call_id, "listen")
    await at(WHISPER_AT)
    await sumi.set_monitor_mode("whisper")
    await at(BARGE_AT)
    await sumi.set_monitor_mode("barge")
    await at(STOP_AT)
    await sumi.stop_monitoring()
    await at(HANG_UP_AT)
    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()
    return pair.call_id


async def check_audit_records(page: Page, log: PageLog, server: Server, call_id: str) -> None:
    """The four monitoring records, in words, newest first, with who, where, when and mode."""
    started = time.time()
    await page.goto(f"{server.url}/audit#token={server.token(Role.ADMIN, 'Ada')}")
    current = await wait_state(page, log, "the four monitoring records", settled(4))
    assert "token" not in page.url, f"the token stayed in the address bar: {page.url}"
    await expect(page.locator("#staff-name")).to_have_text("Ada")
    records = current["records"]
    assert [r["action"] for r in records] == MONITOR_ACTIONS, records
    for record in records:
        assert (record["actor"], record["role"], record["source"], record["call_id"]) == (
            "sumi",
            "supervisor",
            "127.0.0.1",
            call_id,
        ), record
    ats = [r["at"] for r in records]
    assert ats == sorted(ats, reverse=True) and len(set(ats)) == 4, f"not newest first: {ats}"
    assert started - 60 < ats[-1] <= ats[0] <= started, ats

    # A real table on a wide screen: six column headers, one row per record.
    await expect(page.get_by_role("columnheader")).to_have_count(6)
    rows = page.locator("#rows tr")
    await expect(rows).to_have_count(4)
    words = [
        "stopped monitoring",
        "barged into",
        "switched to whispering to the agent on",
        "started listening to",
    ]
    modes = ["barge", "barge", "whisper", "listen"]
    for i, (what, mode) in enumerate(zip(words, modes, strict=True)):
        row = rows.nth(i)
        await expect(row.locator("td.au-what")).to_have_text(what)
        await expect(row.locator("td.au-who")).to_contain_text("sumi")
        await expect(row.locator("td.au-who")).to_contain_text("Supervisor")
        await expect(row.locator("td.au-source")).to_have_text("127.0.0.1")
        await expect(row.locator("td.au-details .au-mode").first).to_have_text(mode)
        link = row.locator("a.au-call-link")
        await expect(link).to_have_text(call_id)
        await expect(link).to_have_attribute("href", f"/replay#call={call_id}")
        # The local date and time, as a machine-readable <time> too.
        stamp = await row.locator("time").get_attribute("datetime")
        assert stamp, "a record without its time"
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        assert at == pytest.approx(records[i]["at"], abs=0.001)
        await expect(row.locator(".au-ago")).to_have_text(
            re.compile(r"^(just now|\d+ seconds ago)$")
        )
    await expect(rows.nth(0).locator("td.au-details")).to_contain_text("Lasted")
    await expect(rows.nth(2).locator("td.au-details")).to_contain_text("only the agent hears them")


async def show(page: Page, log: PageLog, **fields: str) -> dict[str, Any]:
    """Fill in the filter form (by its labels), press Show, and wait for the records."""
    for label, value in fields.items():
        field = page.get_by_label(label, exact=True)
        await (field.select_option(value) if label == "Kind" else field.fill(value))
    await page.get_by_role("button", name="Show", exact=True).click()
    names = {"Call": "call", "Person": "actor", "Kind": "kind", "From": "since", "To": "until"}
    wanted = {names[label]: value for label, value in fields.items()}

    def shown(s: dict[str, Any]) -> bool:
        applied = all(s["filters"][name] == value for name, value in wanted.items())
        return applied and s["signedIn"] and not s["loading"] and s["error"] is None

    return await wait_state(page, log, f"the records of {fields}", shown)


async def check_audit_filters(page: Page, log: PageLog, call_id: str) -> None:
    """Kind monitoring, the call and the person keep the four; another person finds none."""
    for fields in ({"Kind": "monitoring"}, {"Call": call_id}, {"Person": "sumi"}):
        current = await show(page, log, **fields)
        assert [r["action"] for r in current["records"]] == MONITOR_ACTIONS, (fields, current)
    current = await show(page, log, Person="nobody")
    assert current["total"] == 0 and current["records"] == [], current
    await expect(page.locator("#empty")).to_have_text("No records match these filters.")
    await expect(page.locator("#rows tr")).to_have_count(0)
    current = await show(page, log, Person="", Kind="playback")
    assert current["total"] == 0, f"playback of a call nobody played: {current}"
    await page.get_by_role("button", name="Clear").click()
    await wait_state(
        page, log, "cleared filters", lambda s: not any(s["filters"].values()) and settled(4)(s)
    )
    await expect(page.locator("#error")).to_be_hidden()


async def check_replay_timeline(
    page: Page, log: PageLog, server: Server, call_id: str, artifacts: Path
) -> None:
    """The reviewer sees the session as listen, whisper, barge spans, in place and seekable."""
    reviewer = server.token(Role.REVIEWER, "Rina")
    status, detail, _ = await api_request(server, "GET", f"/api/recordings/{call_id}", reviewer)
    assert status == 200, detail
    events = [e for e in detail["timeline"] if e["type"].startswith("monitor_")]
    assert [(e["type"], e["mode"]) for e in events] == [
        ("monitor_started", "listen"),
        ("monitor_mode_changed", "whisper"),
        ("monitor_mode_changed", "barge"),
        ("monitor_ended", "barge"),
    ], events
    event_s = [e["t_ms"] / 1000 for e in events]
    for got, planned in zip(event_s, [LISTEN_AT, WHISPER_AT, BARGE_AT, STOP_AT], strict=True):
        assert planned - 0.05 <= got < planned + STEP_SLACK_S, (
            f"a step at {got:.2f} s, asked at {planned}"
        )

    await page.goto(f"{server.url}/replay#token={reviewer}")
    await (
        page.locator("#result-rows tr", has_text="Karim").get_by_role("button", name="Play").click()
    )
    opened = await wait_state(
        page, log, "the recording opening", lambda s: s["open"] == call_id and s["ready"]
    )
    sessions = opened["monitoring"]
    assert len(sessions) == 1, sessions
    session = sessions[0]
    assert (session["name"], session["subject"], session["reason"]) == ("Sumi", "sumi", "stopped")
    assert [seg["mode"] for seg in session["segments"]] == ["listen", "whisper", "barge"]
    starts = [seg["start"] for seg in session["segments"]]
    assert starts == pytest.approx(event_s[:3], abs=0.002), (starts, event_s)
    assert session["end"] == pytest.approx(event_s[3], abs=0.002)
    assert [seg["end"] for seg in session["segments"]] == pytest.approx(event_s[1:], abs=0.002)

    await check_monitoring_spans(page, float(opened["duration"]), starts)
    await check_monitoring_words_and_seeks(page, log, starts, artifacts)


async def check_monitoring_spans(page: Page, duration: float, starts: list[float]) -> None:
    """Drawn in words and in place: each span starts where its event is on the bar."""
    spans = page.locator("#tl-mon-rows .tl-mon-seg")
    await expect(spans).to_have_count(3)
    await expect(page.locator("#tl-monitor")).to_be_visible()
    await expect(page.locator("#tl-mon-rows .tl-mon-name")).to_have_text("Sumi")
    meanings = ["listening", "whispering to the agent", "barged in"]
    for i, (mode, meaning) in enumerate(zip(["listen", "whisper", "barge"], meanings, strict=True)):
        span = spans.nth(i)
        await expect(span).to_have_attribute("data-mode", mode)
        await expect(span).to_have_attribute("aria-label", re.compile(f"^Sumi {meaning} from 0:0"))
    # Each span shows its word (or, too narrow for it, its letter).
    shown = [text.strip() for text in await spans.all_inner_texts()]
    for text, word, letter in zip(shown, ["Listen", "Whisper", "Barge"], "LWB", strict=True):
        assert text in (word, letter), f"a span says {text!r}, not {word!r} (or {letter!r})"
    legend = page.locator("#tl-mon-legend")
    await expect(legend).to_be_visible()
    for words in ("nobody hears them", "only the agent hears them", "the customer hears them too"):
        await expect(legend).to_contain_text(words)
    await expect(page.locator("#tl-mon-bands .tl-mon-band")).to_have_count(3)
    track = await page.locator("#tl-track").bounding_box()
    assert track
    for i, start in enumerate(starts):
        box = await spans.nth(i).bounding_box()
        assert box, "a span is not on screen"
        drawn = (box["x"] - track["x"]) / track["width"] * duration
        assert drawn == pytest.approx(start, abs=0.1), (
            f"span {i} drawn at {drawn:.2f} s, not {start:.2f}"
        )


async def check_monitoring_words_and_seeks(
    page: Page, log: PageLog, starts: list[float], artifacts: Path
) -> None:
    """The events list says each step in words; a span plays from its start (click, Enter)."""
    spans = page.locator("#tl-mon-rows .tl-mon-seg")
    steps = page.locator("#events button[data-type^='monitor_']")
    await expect(steps).to_have_count(4)
    said = [
        "Sumi (supervisor) started listening",
        "Sumi whispered to the agent",
        "Sumi barged in — the customer heard them",
        "Sumi stopped monitoring",
    ]
    for i, words in enumerate(said):
        await expect(steps.nth(i)).to_contain_text(words)

    # A click on the whisper span plays from where it starts; Enter on the barge span too.
    await spans.nth(1).click()
    await wait_state(
        page,
        log,
        "a seek to the whisper",
        lambda s: abs(s["currentTime"] - starts[1]) < 0.3,
        timeout=5,
    )
    await spans.nth(2).focus()
    await page.keyboard.press("Enter")
    await wait_state(
        page,
        log,
        "a seek to the barge",
        lambda s: abs(s["currentTime"] - starts[2]) < 0.3,
        timeout=5,
    )
    await expect(page.locator("#error")).to_be_hidden()
    # The player and its timeline up close (at twice the pixels), and the whole page.
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.locator(".replay-media").screenshot(path=artifacts / "replay-monitoring.png")
    await page.screenshot(path=artifacts / "replay-monitoring-page.png", full_page=True)


async def test_admin_audits_a_monitored_call_and_the_reviewer_sees_it_on_the_timeline(
    server: Server, browser: Browser, artifacts: Path
) -> None:
    call_id = await record_monitored_call(server)
    audit, audit_log = await new_page(browser, "audit", WIDE)
    await check_audit_records(audit, audit_log, server, call_id)
    await check_audit_filters(audit, audit_log, call_id)

    replay, replay_log = await new_page(browser, "replay", PHONE, scale=2)
    await check_replay_timeline(replay, replay_log, server, call_id, artifacts)

    # The reviewer's playback is now the newest record.
    await audit.get_by_role("button", name="Refresh").click()
    current = await wait_state(audit, audit_log, "the playback record", settled(5))
    newest = current["records"][0]
    assert (newest["action"], newest["actor"], newest["role"]) == ("playback", "rina", "reviewer")
    first = audit.locator("#rows tr").first
    await expect(first.locator("td.au-what")).to_have_text("opened the recording of")
    await expect(first.locator("td.au-who")).to_contain_text("Reviewer")
    await audit.screenshot(path=artifacts / "audit-page.png", full_page=True)

    # The call's link opens its recording on the replay page, signed in with the admin's token.
    await first.locator("a.au-call-link").click()
    await wait_state(
        audit,
        audit_log,
        "the recording opened from the audit log",
        lambda s: s.get("open") == call_id,
    )
    assert audit.url.endswith(f"/replay#call={call_id}"), audit.url

    # On a phone: cards, as wide as the screen at most, nothing to scroll sideways.
    phone, phone_log = await new_page(browser, "audit (phone)", PHONE)
    await phone.goto(f"{server.url}/audit#token={server.token(Role.ADMIN, 'Ada')}")
    current = await wait_state(phone, phone_log, "the records on a phone", settled(6))
    assert (current["records"][0]["action"], current["records"][0]["actor"]) == ("playback", "ada")
    await expect(phone.locator("thead")).to_be_hidden()
    card = await phone.locator("#rows tr").first.bounding_box()
    assert card and card["width"] <= PHONE["width"] and card["height"] > 80, card
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the phone page scrolls sideways: {width} px"
    await phone.screenshot(path=artifacts / "audit-page-phone.png", full_page=True)


async def test_a_supervisor_token_is_refused_in_words(server: Server, browser: Browser) -> None:
    page, log = await new_page(browser, "audit", PHONE)
    await page.goto(f"{server.url}/audit#token={server.token(Role.SUPERVISOR, 'Sumi')}")
    error = page.locator("#error")
    await expect(error).to_contain_text("a supervisor token cannot do this", timeout=WAIT_MS)
    await expect(error).to_contain_text("Only admins may read the audit log")
    await expect(page.locator("#signin")).to_be_visible()
    assert "{" not in await error.inner_text(), "the error must be words"
    current = await wait_state(page, log, "refused", lambda s: not s["signedIn"])
    assert current["records"] == [] and current["error"]["code"] == "forbidden", current

    await page.get_by_label("Admin token", exact=True).fill(server.token(Role.ADMIN, "Ada"))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#empty")).to_contain_text("No records yet", timeout=WAIT_MS)
    await expect(error).to_be_hidden()


PLACEHOLDER_FITS = """(input) => {
  const style = getComputedStyle(input);
  const context = document.createElement("canvas").getContext("2d");
  context.font = style.font;
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return { text: input.placeholder, width: context.measureText(input.placeholder).width, room };
}"""


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["laptop", "phone"])
async def test_the_filters_placeholders_are_read_whole(
    server: Server, browser: Browser, viewport: dict[str, int]
) -> None:
    """They were cut off ("Call id, e.g. c_8f", "Their id, e.g. sur") at 1280 px."""
    page, _ = await new_page(browser, "audit", viewport)
    await page.goto(f"{server.url}/audit#token={server.token(Role.ADMIN, 'Ada')}")
    await expect(page.locator("#empty")).to_contain_text("No records yet", timeout=WAIT_MS)
    for field in ("#f-call", "#f-actor"):
        fit = await page.locator(field).evaluate(PLACEHOLDER_FITS)
        assert fit["text"] and fit["width"] <= fit["room"], (field, fit)


def day(date: str, hour: int = 8) -> float:
    return float(calendar.timegm(time.strptime(date, "%Y-%m-%d")) + hour * 3600)


async def seed_records(server: Server) -> list[dict[str, Any]]:
    """50 records on 10 March (monitoring, playback, download in turn, one a minute), then 10
    pauses and resumes on 12 March; returned newest first."""
    seeded: list[dict[str, Any]] = []
    for i in range(50):
        action = ["monitor_started", "playback", "download"][i % 3]
        details = {
            "monitor_started": {"participant_id": f"p_{i:010d}", "mode": "listen"},
            "playback": {},
            "download": {"file": "dual_channel"},
        }[action]
        seeded.append({"action": action, "at": day("2026-03-10") + 60 * i, "details": details})
    for i in range(10):
        action = "pause_recording" if i % 2 == 0 else "resume_recording"
        seeded.append({"action": action, "at": day("2026-03-12") + 60 * i, "details": {}})
    for i, item in enumerate(seeded):
        await server.switchboard.audit.record(
            AuditRecord(
                actor=["sumi", "rina", "nasrin"][i % 3],
                role="supervisor",
                action=item["action"],
                call_id=f"c_seed{i % 7:06d}",
                source="127.0.0.1",
                at=item["at"],
                details=item["details"],
            )
        )
    return sorted(seeded, key=lambda r: r["at"], reverse=True)


@dataclass
class Pager:
    """The audit page's pager: what a page shows, and the buttons that turn it."""

    page: Page
    log: PageLog

    async def shows(
        self, what: str, first: int, expected: list[dict[str, Any]], total: int
    ) -> None:
        current = await wait_state(
            self.page, self.log, what, lambda s: settled(total)(s) and s["first"] == first
        )
        got = [r["at"] for r in current["records"]]
        assert got == pytest.approx([r["at"] for r in expected]), what
        last = first + len(expected) - 1
        await expect(self.page.locator("#summary")).to_contain_text(
            f"{first}\u2013{last} of {total}"
        )

    async def older(self) -> None:
        await self.page.get_by_role("button", name="Older").click()

    async def newer(self) -> None:
        await self.page.get_by_role("button", name="Newer").click()


async def test_pages_kinds_and_days(server: Server, browser: Browser) -> None:
    newest = await seed_records(server)
    page, log = await new_page(browser, "audit", PHONE)
    await page.goto(f"{server.url}/audit#token={server.token(Role.ADMIN, 'Ada')}")
    pages = Pager(page, log)
    await pages.shows("page 1 of everything", 1, newest[:25], 60)
    await expect(page.get_by_role("button", name="Newer")).to_be_disabled()
    await pages.older()
    await pages.shows("page 2", 26, newest[25:50], 60)
    await pages.older()
    await pages.shows("page 3", 51, newest[50:], 60)
    await expect(page.get_by_role("button", name="Older")).to_be_disabled()
    await pages.newer()
    await pages.shows("back to page 2", 26, newest[25:50], 60)
    await pages.newer()
    await pages.shows("back to page 1", 1, newest[:25], 60)

    # Playback and downloads: two queries, merged by time, also across the page boundary.
    played = [r for r in newest if r["action"] in ("playback", "download")]
    assert len(played) == 33
    await show(page, log, Kind="playback")
    await pages.shows("playback and downloads, page 1", 1, played[:25], 33)
    await pages.older()
    await pages.shows("playback and downloads, page 2", 26, played[25:], 33)
    words = {
        "playback": "opened the recording of",
        "download": "downloaded the dual-channel audio of",
    }
    await expect(page.locator("#rows tr td.au-what").first).to_have_text(
        words[played[25]["action"]]
    )
    await pages.newer()
    await pages.shows("playback and downloads, page 1 again", 1, played[:25], 33)

    # Pausing and resuming: only on 12 March; the day range finds them, and only them.
    paused = [r for r in newest if r["action"].endswith("_recording")]
    await show(page, log, Kind="recording")
    await pages.shows("pause and resume", 1, paused, 10)
    await show(page, log, Kind="", From="2026-03-12", To="2026-03-12")
    await pages.shows("12 March only", 1, paused, 10)
    await show(page, log, From="2026-03-09", To="2026-03-10")
    await pages.shows("9-10 March", 1, newest[10:35], 50)

    # A reload keeps the filters (they are in the fragment, the token is not).
    assert "since=2026-03-09" in page.url and "token" not in page.url, page.url
    await page.reload()
    await pages.shows("9-10 March after a reload", 1, newest[10:35], 50)
    await expect(page.get_by_label("To", exact=True)).to_have_value("2026-03-10")

    # "To" before "From" is refused before asking, naming the field.
    await page.get_by_label("From", exact=True).fill("2026-03-12")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("#error")).to_contain_text("Check “To”")
    await expect(page.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")
