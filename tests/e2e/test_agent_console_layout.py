"""The agent sees the customer: media and controls first, the call's context beside them.

Guards (issue 13, item 4): at 1366x900 the customer's camera started at y=1420, under the
quality cards, the alerts and an empty transcript; nothing said the customer started sharing
a screen; the sticky call controls were drawn over the transcript; and a grown customer card
squeezed "Your line" into a 170 px column. Now, on a 1280x720 and a 1366x768 laptop, during
a video call in which the customer shares a screen:
- the shared screen and the customer's camera are whole in the window without scrolling,
  the screen the larger of the two;
- the controls sit under the pictures, in the window, clear of the transcript;
- the console says the customer is sharing their screen;
- both line cards keep a readable width.
Screenshots of both sizes are kept in test-artifacts/, with the supervisor's dashboard during
the call and the replay of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from callcenter.identity import Role
from media.source import SourceKind
from tests.conftest import Server
from tests.support import TestCardTrack, ToneTrack

from .conftest import BrowserFactory, Microphones, PageLog, poll_state
from .test_browser_call import CONNECT_TIMEOUT_S, wait_for_state

pytestmark = pytest.mark.e2e

LAPTOPS = ({"width": 1280, "height": 720}, {"width": 1366, "height": 768})
READABLE_CARD_PX = 260


def box_text(box: dict[str, float] | None) -> str:
    if box is None:
        return "not drawn"
    x, y = box["x"], box["y"]
    return f"x {x:.0f}-{x + box['width']:.0f}, y {y:.0f}-{y + box['height']:.0f}"


def inside(box: dict[str, float] | None, size: dict[str, int]) -> bool:
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"] + 0.5
        and box["y"] + box["height"] <= size["height"] + 0.5
    )


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    across = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    down = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    return across > 0 and down > 0


async def video_box(page: Page, selector: str) -> dict[str, float] | None:
    """Where the picture itself is drawn: the <video>'s box less its letterboxing."""
    box: dict[str, float] | None = await page.evaluate(
        """(selector) => {
          const video = document.querySelector(selector);
          if (!video || !video.videoWidth) return null;
          const r = video.getBoundingClientRect();
          const scale = Math.min(r.width / video.videoWidth, r.height / video.videoHeight);
          const width = video.videoWidth * scale, height = video.videoHeight * scale;
          const x = r.x + (r.width - width) / 2, y = r.y + (r.height - height) / 2;
          return { x, y, width, height };
        }""",
        selector,
    )
    return box


async def check_layout(page: Page, size: dict[str, int], artifacts: Path) -> None:
    """At one window size: the pictures and the controls whole, in place, uncovered."""
    await page.set_viewport_size(size)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.wait_for_timeout(300)
    where = f"at {size['width']}x{size['height']}"
    await page.screenshot(
        path=artifacts / f"agent-console-screen-share-{size['width']}x{size['height']}.png"
    )
    boxes: dict[str, Any] = {
        "screen": await video_box(page, "#remote-screen"),
        "camera": await video_box(page, "#remote-camera"),
    }
    for name in ("#mute", "#hangup", ".t-scroll", ".q-card[data-party='self']"):
        boxes[name] = await page.locator(name).bounding_box()
    drawn = "; ".join(f"{name}: {box_text(box)}" for name, box in boxes.items())
    for name in ("screen", "camera", "#mute", "#hangup"):
        assert inside(boxes[name], size), f"{name} is not whole in the window {where}: {drawn}"
    screen, camera = boxes["screen"], boxes["camera"]
    assert screen["width"] * screen["height"] > 2 * camera["width"] * camera["height"], drawn
    assert screen["height"] >= size["height"] * 0.35, f"a small screen {where}: {drawn}"
    assert not overlaps(boxes["#hangup"], boxes[".t-scroll"]), f"{where}: {drawn}"
    assert not overlaps(boxes["#mute"], screen), f"controls over the screen {where}: {drawn}"
    assert not overlaps(boxes["camera"], screen), f"camera over the screen {where}: {drawn}"
    for party in ("customer", "self"):
        card = await page.locator(f".q-card[data-party='{party}']").bounding_box()
        assert card and card["width"] >= READABLE_CARD_PX, f"{party} card {where}: {card}"


async def test_a_laptop_shows_the_customers_screen_and_camera_with_the_controls(
    server: Server, launch_browser: BrowserFactory, microphones: Microphones, artifacts: Path
) -> None:
    call_id, token = await server.customer_call("Karim", media="video")
    customer = server.client(
        token,
        sources={SourceKind.MICROPHONE: ToneTrack(440), SourceKind.CAMERA: TestCardTrack(320, 240)},
    )
    await customer.connect()
    await customer.request_call(media="video")

    browser = await launch_browser(microphones.agent)
    context = await browser.new_context(viewport=LAPTOPS[0])
    page = await context.new_page()
    log = PageLog("agent", page)
    await page.goto(f"{server.url}/agent#token={server.token(Role.AGENT, 'Rahim')}")
    await page.locator("#availability").click()
    await page.locator("#accept-next").click()
    # The agent's page shows the call once the server took it (and opened its media).
    await expect(page.locator("#incall")).to_be_visible()
    await customer.join_call(call_id)
    await wait_for_state(page, log, "connection", "connected", timeout=CONNECT_TIMEOUT_S)
    notices = page.locator("#notices")
    await expect(notices).not_to_contain_text("sharing")

    await customer.start_screen_share(TestCardTrack(960, 540))
    await expect(notices).to_contain_text("The customer is sharing their screen")
    for selector in ("#remote-screen", "#remote-camera"):
        await page.wait_for_function(
            "(s) => document.querySelector(s).videoWidth > 0", arg=selector, timeout=15_000
        )

    for size in LAPTOPS:
        await check_layout(page, size, artifacts)

    # The supervisor's dashboard and, after the call, the replay, at the laptop size.
    dashboard = await context.new_page()
    supervisor = server.token(Role.SUPERVISOR, "Sumi")
    await dashboard.goto(f"{server.url}/dashboard#token={supervisor}")
    await expect(dashboard.locator(".mos-badge").first).to_be_visible(timeout=10_000)
    await dashboard.screenshot(path=artifacts / "dashboard-screen-share-call.png")

    await customer.stop_screen_share()
    await expect(page.locator("#remote-screen-view")).to_be_hidden()
    await expect(notices).not_to_contain_text("sharing")
    await page.locator("#hangup").click()
    await server.switchboard.recordings.settle()
    replay = await context.new_page()
    await replay.goto(f"{server.url}/replay#token={server.token(Role.REVIEWER, 'Rina')}")
    await replay.locator("#result-rows tr", has_text="Karim").get_by_role("button").click()
    await expect(replay.locator("#p-badges")).to_contain_text("Screen shared")
    await expect(replay.locator("#videos figcaption")).to_have_count(3)  # 2 cameras, 1 screen
    # A clean call with no alert: no second of either strip is poor (the first second,
    # before a microphone's first packet, was drawn poor under "Average MOS 4.4 (good)").
    opened = await poll_state(
        replay, PageLog("replay", replay), "the quality chart", lambda s: s["quality"]["shown"], 10
    )
    for lane in opened["quality"]["lanes"]:
        assert [s for s in lane["rated"] if s["rating"] == "poor"] == [], lane
    await replay.screenshot(path=artifacts / "replay-screen-share-call.png", full_page=True)
    await context.close()
