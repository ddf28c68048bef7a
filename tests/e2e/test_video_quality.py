"""A clean video call is called clean: video jitter as the receiving browser measures it.

Guards (issue 13, item 1): the customer calls with Chromium's fake camera, the agent
answers in Chromium, everything on 127.0.0.1 with nothing in between. For a minute:
- the server's figure for the customer's camera (inbound jitter) stays within a few
  milliseconds of what the agent's browser measures for the same video after the server
  forwarded it (``getStats()``, reported by the page); before, the server read the
  retransmission stream's statistics (2,339,339 ms) and held each frame one frame
  interval, so the agent's browser measured 33 ms;
- what each browser reports of the video it receives (outbound jitter) is as low;
- no quality alert fires, and every page rates both parties good: the agent console's cards
  (voice and video), the supervisor's dashboard (a MOS badge and a video badge per party,
  never "MOS 4.4 Poor") and the replay of the call (no second of either strip poor, and
  "Average MOS … (good)" above them). Screenshots of the dashboard and the replay at a
  laptop size are kept in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from callcenter.identity import Role

from .conftest import PageLog, Pages, PagesFactory, poll_state
from .test_browser_call import start_call

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 768}
WATCH_S = 60.0
CLEAN_JITTER_MS = 15.0  # a loopback line: browsers measure 1-5 ms
AGREE_WITHIN_MS = 5.0


async def test_a_clean_video_call_is_rated_good_with_the_browsers_jitter(
    open_pages: PagesFactory, artifacts: Path
) -> None:
    pages = await open_pages()
    call_id = await start_call(pages, "video")
    quality = pages.server.switchboard.quality
    fired: list[dict[str, Any]] = []
    pairs: list[tuple[float, float]] = []  # (server's camera jitter, agent browser's)
    jitters: dict[tuple[str, str, str], list[float]] = {}  # (role, way, kind) -> each second's
    deadline = time.monotonic() + WATCH_S
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        view = quality.quality(call_id)
        assert view is not None
        snapshot = view.view()
        fired += snapshot["alerts"]
        parties = {p["role"]: p for p in snapshot["participants"]}
        customer, agent = parties.get("customer"), parties.get("agent")
        if customer is None or agent is None:
            continue
        camera = customer["inbound"].get("camera", {}).get("jitter_ms")
        seen = (agent.get("reported") or {}).get("video", {}).get("jitter_ms")
        if camera is not None and seen is not None:
            pairs.append((camera, seen))
        for party in (customer, agent):
            for way in ("inbound", "outbound"):
                for kind, figures in party[way].items():
                    if figures.get("jitter_ms") is not None:
                        jitters.setdefault((party["role"], way, kind), []).append(
                            figures["jitter_ms"]
                        )

    assert fired == [], fired
    # A second's figure can spike while the two cores are shared with the browsers; the
    # line is judged by its typical second (before the fix every second read 33 ms).
    typical = {line: statistics.median(values) for line, values in jitters.items()}
    assert typical and all(ms < CLEAN_JITTER_MS for ms in typical.values()), typical
    assert len(pairs) >= 5, f"the agent's page reported no video jitter: {pairs}\n{pages.logs()}"
    for server_ms, browser_ms in pairs[-5:]:
        assert abs(server_ms - browser_ms) <= AGREE_WITHIN_MS, pairs
    final = quality.quality(call_id)
    assert final is not None
    ratings = {p["role"]: p["rating"] for p in final.view()["participants"]}
    assert ratings == {"customer": "good", "agent": "good"}
    for party in ("customer", "self"):
        card = pages.agent.locator(f'.q-card[data-party="{party}"]')
        await expect(card).to_have_attribute("data-rating", "good")
        await expect(card.locator(".q-video")).to_contain_text("Video good")

    await check_dashboard(pages, artifacts)
    await check_replay(pages, call_id, artifacts)


async def check_dashboard(pages: Pages, artifacts: Path) -> None:
    """The supervisor's dashboard says the same of both parties: voice and video good."""
    browser = pages.agent.context.browser
    assert browser is not None
    context = await browser.new_context(viewport=LAPTOP)
    dashboard = await context.new_page()
    log = PageLog("dashboard", dashboard)
    supervisor = pages.server.token(Role.SUPERVISOR, "Sumi")
    await dashboard.goto(f"{pages.server.url}/dashboard#token={supervisor}")
    floor = await poll_state(
        dashboard,
        log,
        "the call on the floor with both parties measured",
        lambda s: any(len(c["lines"]) >= 2 for c in (s.get("floor") or {}).get("calls", [])),
        timeout=10.0,
    )
    [row] = floor["floor"]["calls"]
    lines = {line["role"]: (line["rating"], line["video"]) for line in row["lines"]}
    assert lines == {"customer": ("good", "good"), "agent": ("good", "good")}, row
    assert row["attention"] == "none", row
    await expect(dashboard.locator(".video-badge[data-rating=good]")).to_have_count(2)
    await expect(dashboard.locator(".mos-badge[data-rating=poor]")).to_have_count(0)
    await dashboard.screenshot(path=artifacts / "dashboard-video-call.png")
    await context.close()


async def check_replay(pages: Pages, call_id: str, artifacts: Path) -> None:
    """The replay of the call: both strips without a poor second, and the words agree."""
    await pages.agent.locator("#hangup").click()
    await pages.server.switchboard.recordings.settle()
    browser = pages.agent.context.browser
    assert browser is not None
    context = await browser.new_context(viewport=LAPTOP)
    replay = await context.new_page()
    log = PageLog("replay", replay)
    reviewer = pages.server.token(Role.REVIEWER, "Rina")
    await replay.goto(f"{pages.server.url}/replay#token={reviewer}")
    await replay.locator("#result-rows tr").first.get_by_role("button").click()
    opened = await poll_state(
        replay,
        log,
        "the recording opening with its quality chart",
        lambda s: s["open"] == call_id and s["ready"] and s["quality"]["shown"],
        timeout=15.0,
    )
    for lane in opened["quality"]["lanes"]:
        poor = [second for second in lane["rated"] if second["rating"] == "poor"]
        assert poor == [], f"{lane['role']}: {poor}"
    await expect(replay.locator("#q-summary")).to_contain_text("(good)")
    await replay.screenshot(path=artifacts / "replay-video-call.png", full_page=True)
    await context.close()
