"""The supervisors' dashboard with two nodes, in headless Chromium: each node, its load, its calls.

Nodes A (5 places) and B (50) share one Redis. Karim calls through node A and Rahim, on node
B, takes the call: its media opens on B, the node with the most free places. Sumi opens the
dashboard on node A, which measures nothing of the call.

Guards:
- a strip lists both nodes, each with its calls of its capacity in words, a load bar (a
  meter) and its loop lag; nothing says "draining" or "full";
- the call's card names node B, and shows B's figures (both lines "MOS 4.x Good");
- node B drains: its chip says so, in words as well as its colour;
- the strip and the card read in Bengali too (the words follow i18n.js's language);
- on a laptop and on a 414 px phone the page has no sideways scroll; screenshots of both, in
  English and in Bengali, are kept in test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from callcenter.identity import Role
from media.source import SourceKind
from tests.conftest import NodeFactory, Server, connect_call
from tests.support import ToneTrack

from .conftest import PageLog, poll_state

pytestmark = pytest.mark.e2e

# Two cores, shared with other browser tests: the figures may take a while.
WAIT_MS = 25_000
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 414, "height": 860}


@dataclass
class TwoNodeFloor:
    a: Server
    b: Server
    call_id: str


@pytest.fixture
async def two_node_floor(
    add_node: NodeFactory,
) -> TwoNodeFloor:
    a = await add_node("node-a", max_calls=5)
    b = await add_node("node-b", max_calls=50)
    await a.switchboard.heartbeat.beat()
    await b.switchboard.heartbeat.beat()
    pair = await connect_call(
        a,
        agent_node=b,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(440.0)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(660.0)},
    )
    assert b.switchboard.room_of(pair.call_id) is not None, "the call's media is not on node B"
    return TwoNodeFloor(a, b, pair.call_id)


@pytest.fixture
async def dashboard(
    browser: Browser, two_node_floor: TwoNodeFloor, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Page, PageLog]]:
    context = await browser.new_context(locale="en-US", viewport=LAPTOP)
    page = await context.new_page()
    log = PageLog("dashboard", page)
    a = two_node_floor.a
    await page.goto(f"{a.url}/dashboard#token={a.token(Role.SUPERVISOR, 'Sumi')}")
    yield page, log
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        print(log)  # pytest shows it with the failure: the page's own words
    await context.close()


async def set_language(page: Page, language: str) -> None:
    """Switch the words i18n.js gives (the page's own module instance)."""
    await page.evaluate(
        "(lang) => import('/static/js/i18n.js')"
        ".then((i18n) => i18n.setLanguage(lang, { remember: false }))",
        language,
    )


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None and width <= viewport["width"], f"{width} px wide"


async def shoot(page: Page, artifacts: Path, name: str, size: ViewportSize) -> None:
    await page.set_viewport_size(size)
    await page.locator("#nodes").scroll_into_view_if_needed()
    await no_sideways_scroll(page)
    await page.screenshot(path=artifacts / f"{name}.png", full_page=True)


async def test_the_dashboard_shows_each_node_its_load_and_the_node_of_each_call(
    dashboard: tuple[Page, PageLog], two_node_floor: TwoNodeFloor, artifacts: Path
) -> None:
    page, log = dashboard
    strip = page.locator("#nodes")
    await expect(strip).to_be_visible(timeout=WAIT_MS)
    await expect(strip.locator(".fn-title")).to_have_text("Servers")
    chips = strip.locator("#node-rows > li")
    await expect(chips).to_have_count(2)
    a_chip, b_chip = chips.nth(0), chips.nth(1)
    await expect(a_chip.locator(".fn-name")).to_have_text("node-a")
    await expect(a_chip.locator(".fn-calls")).to_have_text("0 of 5 calls")
    await expect(b_chip.locator(".fn-name")).to_have_text("node-b")
    await expect(b_chip.locator(".fn-calls")).to_have_text("1 of 50 calls", timeout=WAIT_MS)
    await expect(b_chip.locator(".fn-bar")).to_have_attribute("aria-valuetext", "2% busy")
    for chip in (a_chip, b_chip):
        await expect(chip.locator(".fn-lag")).to_have_text(re.compile(r"^lag \d+ ms$"))
        await expect(chip.locator(".fn-state")).to_be_hidden()
        await expect(chip).to_have_attribute("data-load", "ok")

    # The call's card names node B and carries B's figures.
    card = page.locator("#call-rows > li")
    await expect(card).to_have_count(1)
    await expect(card.locator(".fc-open")).to_have_text("Karim with Rahim")
    await expect(card.locator(".fc-node")).to_have_text("Server node-b")
    for role in ("Customer", "Agent"):
        badge = card.locator(f'.mos-badge[data-role="{role.lower()}"]')
        await expect(badge).to_have_text(re.compile(rf"{role}\s*MOS 4\.\d\s*Good"), timeout=WAIT_MS)
    seen = await poll_state(
        page, log, "the floor's nodes", lambda s: s["floor"]["nodes"]["shown"], 5
    )
    assert [n["nodeId"] for n in seen["floor"]["nodes"]["nodes"]] == ["node-a", "node-b"]
    assert seen["floor"]["calls"][0]["node"] == "node-b"

    await shoot(page, artifacts, "dashboard-nodes", LAPTOP)
    await shoot(page, artifacts, "dashboard-nodes-phone", PHONE)

    # In Bengali: the strip and the card's node follow i18n.js.
    await set_language(page, "bn")
    await expect(strip.locator(".fn-title")).to_have_text("সার্ভার")
    await expect(b_chip.locator(".fn-calls")).to_have_text("৫০টির মধ্যে ১টি কল")
    await expect(card.locator(".fc-node")).to_have_text("সার্ভার node-b")
    await shoot(page, artifacts, "dashboard-nodes-bn-phone", PHONE)
    await shoot(page, artifacts, "dashboard-nodes-bn", LAPTOP)

    # Node B starts to stop (SIGTERM's first step): its chip says so.
    await set_language(page, "en")
    await two_node_floor.b.switchboard.drain()
    await two_node_floor.a.switchboard.heartbeat.beat()
    await expect(b_chip).to_have_attribute("data-load", "draining", timeout=WAIT_MS)
    await expect(b_chip.locator(".fn-state")).to_have_text("Draining")
    await expect(b_chip.locator(".fn-state")).to_have_attribute(
        "title", "The server is shutting down: it takes no new calls"
    )
    await shoot(page, artifacts, "dashboard-nodes-draining-phone", PHONE)
