"""The replay page's call-quality chart, in headless Chromium, on a real recorded call.

Guards:
- under the timeline, one strip per party (customer first, then the agent), drawn from the
  per-second quality samples the server recorded: a MOS point for most seconds, coloured
  good / fair / poor, exactly as wide as the timeline's bar (same time axis);
- the customer's leg loses 1 packet in 20: the packet-loss alert is marked on the
  customer's strip (its message as the title) and listed in words under "What happened",
  which is open and holds the events a reviewer looks for, not the pages' per-few-seconds
  quality reports (45 of them buried a short call's joins and pauses);
- the call's quality is said in words: the average and worst MOS, p95 jitter, loss and the
  alerts, from the recording's stored summary;
- a click on a strip seeks like the timeline, and the playhead follows on both;
- a recording without quality data (made before it was measured) hides the section.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, expect

from callcenter.identity import Role
from tests.conftest import Server
from tests.recording.test_recorded_call import record_call

from .conftest import PageLog
from .test_replay import SEEK_TOLERANCE_S, new_page, state, wait_for

pytestmark = pytest.mark.e2e

# The call lasts 6 s and the server samples every second; the first second or two have
# no MOS yet (the round trip needs a receiver report), so at least 3 of them do.
MIN_POINTS = 3
LOSS_EVERY = 20  # 5 % of the customer's packets: above the 3 % alert threshold


async def check_strips(page: Page, opened: dict[str, Any]) -> None:
    """One strip per party, customer first, each with a MOS for most seconds."""
    lanes = opened["quality"]["lanes"]
    assert [(lane["role"], lane["name"]) for lane in lanes] == [
        ("customer", "Karim"),
        ("agent", "Rahim"),
    ], lanes
    for lane in lanes:
        assert lane["points"] >= MIN_POINTS, f"{lane['role']}: {lane} (want ≥ {MIN_POINTS})"
    chart = page.locator("#quality")
    await expect(chart).to_be_visible()
    strips = chart.locator(".q-strip")
    await expect(strips).to_have_count(2)
    await expect(chart.locator(".q-lane").first).to_contain_text("Customer · Karim")
    await expect(chart.locator(".q-lane").nth(1)).to_contain_text("Agent · Rahim")
    for n in range(2):
        points = await strips.nth(n).locator("path.q-mos").get_attribute("data-points")
        assert points is not None and int(points) >= MIN_POINTS, f"strip {n}: {points} points"
    # The agent's clean leg is good; the customer's lossy one is poor once its alert fired.
    assert await strips.nth(1).locator(".q-band[data-rating=good]").count() >= 1
    assert await strips.first.locator(".q-band[data-rating=poor]").count() >= 1

    # The strips sit on the timeline's time axis: same left edge, same width.
    bar = await page.locator("#tl-track").bounding_box()
    strip = await strips.first.bounding_box()
    assert bar and strip, "the timeline or the quality strip is not on screen"
    assert strip["x"] == pytest.approx(bar["x"], abs=1), (strip, bar)
    assert strip["width"] == pytest.approx(bar["width"], abs=1), (strip, bar)


async def check_alerts_and_words(page: Page, summary: dict[str, Any]) -> None:
    """The loss alert on the customer's strip and in the events; the summary in words."""
    strips = page.locator("#quality .q-strip")
    mark = strips.first.locator(".q-alert-mark[data-kind=high_loss]").first
    await expect(mark).to_have_attribute(
        "title", re.compile(r"^Alert at 0:0\d: The customer's network is losing")
    )
    assert await strips.nth(1).locator(".q-alert-mark").count() == 0, "the agent's leg was clean"
    events = page.locator("#events")
    await expect(events).to_be_visible()  # open, without looking for a control
    await expect(events).to_contain_text("Customer Karim joined")
    await expect(events).not_to_contain_text("quality report")
    # (the figure is the second that fired it: 1 in 20 is 4-6 % of a second's packets)
    await expect(page.locator("#events")).to_contain_text(
        re.compile(
            r"Alert: the customer's network is losing \d+% of audio packets \(from the customer\)"
        )
    )
    words = page.locator("#q-summary")
    await expect(words).to_contain_text(f"Average MOS {summary['mos_average']:.1f}")
    await expect(words).to_contain_text(f"worst {summary['mos_worst']:.1f}")
    await expect(words).to_contain_text("95% of the time")
    await expect(words).to_contain_text("of audio packets lost")
    await expect(words).to_contain_text(re.compile(r"Alerts: packet loss \W\d"))


async def check_seek(page: Page, log: PageLog, duration: float) -> None:
    """A click half-way along the agent's strip seeks there; both playheads follow."""
    strip = page.locator("#quality .q-strip").nth(1)
    await strip.scroll_into_view_if_needed()
    box = await strip.bounding_box()
    assert box, "the agent's quality strip is not on screen"
    await page.mouse.click(box["x"] + 0.5 * box["width"], box["y"] + box["height"] / 2)
    await wait_for(
        page,
        log,
        f"a seek to {duration / 2:.2f} s from the quality strip",
        lambda s: abs(s["currentTime"] - duration / 2) < SEEK_TOLERANCE_S,
        timeout=1.0,
    )
    for head in ("#tl-head", "#q-lanes .q-playhead"):
        left = await page.locator(head).first.evaluate("e => parseFloat(e.style.left)")
        assert left == pytest.approx(50, abs=2), f"{head} is at {left}%"


async def check_video_trouble_marked_not_rated(page: Page, log: PageLog, call_id: str) -> None:
    """The same alert, had it been the camera's: marked on the strip, but the voice is not red;
    and a first second before any audio is "not measured", not poor (no alert said so).

    The strip is the voice's (its MOS); a video alert had coloured it poor to the end, under
    "Average MOS 4.1 (good)" (issue 13, item 1).
    """

    async def as_video(route: Route) -> None:
        response = await route.fetch()
        body = await response.json()
        for event in body["timeline"]:
            if event["type"] == "quality_alert":
                alert = event["alert"]
                alert["kind_of_media"] = "video"
                alert["covers"] = [{"direction": alert["direction"], "kind_of_media": "video"}]
        # ...and the first second's microphones had sent nothing yet (no alert says so).
        for sample in body["quality"][0]["samples"]:
            if sample["direction"] == "inbound" and sample["kind"] == "audio":
                sample["packets"] = 0
        await route.fulfill(response=response, body=json.dumps(body))

    await page.route(f"**/api/recordings/{call_id}", as_video)
    await page.reload()
    reopened = await wait_for(
        page, log, "the recording reopening", lambda s: s["open"] == call_id and s["ready"]
    )
    customer = reopened["quality"]["lanes"][0]
    assert customer["role"] == "customer", customer
    strip = page.locator("#quality .q-strip").first
    await expect(strip.locator(".q-alert-mark[data-kind=high_loss]").first).to_be_attached()
    poor = [s for s in customer["rated"] if s["rating"] == "poor"]
    low = [s for s in poor if s["mos"] is None or s["mos"] >= 3.6]
    assert low == [], f"seconds rated poor by a video alert or before any audio: {low}"
    assert customer["rated"][0]["rating"] == "unknown", customer["rated"][:2]
    await page.unroute(f"**/api/recordings/{call_id}")


async def check_hidden_without_quality(page: Page, log: PageLog, call_id: str) -> None:
    """A recording made before quality was measured: no chart, the rest as before."""

    async def without_quality(route: Route) -> None:
        response = await route.fetch()
        body = await response.json()
        body.pop("quality", None)
        body["recording"]["quality"] = None
        body["timeline"] = [e for e in body["timeline"] if e["type"] != "quality_alert"]
        await route.fulfill(response=response, body=json.dumps(body))

    await page.route(f"**/api/recordings/{call_id}", without_quality)
    await page.reload()
    reopened = await wait_for(
        page, log, "the recording reopening", lambda s: s["open"] == call_id and s["ready"]
    )
    assert reopened["quality"] == {"shown": False, "lanes": [], "summary": ""}, reopened
    assert reopened["timeline"]["markers"] == 2, reopened["timeline"]
    await expect(page.locator("#quality")).to_be_hidden()
    await expect(page.locator("#error")).to_be_hidden()


async def test_reviewer_sees_each_partys_quality_under_the_timeline(
    server: Server, browser: Browser, artifacts: Path
) -> None:
    _, meta = await record_call(
        server,
        customer_beeps=[1.0],
        agent_beeps=[2.0],
        until=6.0,
        customer_loss_every=LOSS_EVERY,
        page_reports_every_s=2.1,
    )
    call_id, summary = meta["call_id"], meta["quality"]
    assert summary is not None and summary["mos_average"] is not None, meta
    assert summary["alerts"].get("high_loss", 0) >= 1, f"5% loss raised no alert: {summary}"

    page, log = await new_page(browser)
    await page.goto(f"{server.url}/replay#token={server.token(Role.REVIEWER, 'Rina')}")
    await page.locator("#result-rows tr", has_text="Karim").get_by_role("button").click()
    opened = await wait_for(
        page,
        log,
        "the recording opening with its quality chart",
        lambda s: s["open"] == call_id and s["ready"] and s["quality"]["shown"],
    )
    await check_strips(page, opened)
    await check_alerts_and_words(page, summary)
    await check_seek(page, log, float(opened["duration"]))
    await page.locator("#quality").scroll_into_view_if_needed()
    await page.screenshot(path=artifacts / "replay-quality.png", full_page=True)
    await expect(page.locator("#error")).to_be_hidden()
    assert (await state(page))["error"] is None

    await check_video_trouble_marked_not_rated(page, log, call_id)
    await check_hidden_without_quality(page, log, call_id)
