"""The customer's video call on a 390x844 phone, in Bengali, while the agent shares a screen.

Guards (issue 13, item 8): the call controls stay in one row (Hang up fell onto a row of its
own), and the customer's self-view no longer covers a corner of the agent's shared screen.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from callcenter.identity import Role
from media.source import SourceKind
from tests.conftest import ServerFactory
from tests.support import TestCardTrack, ToneTrack

from .conftest import BrowserFactory, Microphones, PageLog
from .test_browser_call import CONNECT_TIMEOUT_S, wait_for_state

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


async def test_a_phone_keeps_the_controls_in_a_row_and_the_screen_uncovered(
    start_server: ServerFactory,
    launch_browser: BrowserFactory,
    microphones: Microphones,
    artifacts: Path,
) -> None:
    server = await start_server()
    browser = await launch_browser(microphones.customer)
    context = await browser.new_context(locale="bn-BD", viewport=PHONE)
    page = await context.new_page()
    log = PageLog("customer", page)
    await page.goto(f"{server.url}/support")
    await page.locator("#call-support").click()
    await page.locator("#choose-video").click()
    await expect(page.locator("#waiting")).to_be_visible()

    agent = server.client(
        server.token(Role.AGENT, "Rahim"),
        sources={SourceKind.MICROPHONE: ToneTrack(660), SourceKind.CAMERA: TestCardTrack(320, 240)},
    )
    await agent.connect()
    await agent.set_availability("available")
    call_id = next(iter(server.switchboard.calls))
    await agent.accept_call(call_id)
    await agent.join_call(call_id)
    await wait_for_state(page, log, "connection", "connected", timeout=CONNECT_TIMEOUT_S)
    await agent.start_screen_share(TestCardTrack(640, 360))
    screen = page.locator("#remote-screen-view")
    await expect(screen).to_be_visible(timeout=10_000)
    await expect(page.locator("#self-view")).to_be_visible()

    # All at once: read one by one, a notice appearing between two reads moved the later ones.
    tops: list[int] = await page.evaluate(
        """() => [...document.querySelectorAll(".controls .control")]
          .filter((control) => control.offsetParent !== null)
          .map((control) => Math.round(control.getBoundingClientRect().top))"""
    )
    assert len(tops) == 4, tops  # mute, camera, share, hang up
    assert len(set(tops)) == 1, f"the controls wrap onto {len(set(tops))} rows: {tops}"
    hangup = await page.locator("#hangup").bounding_box()
    assert hangup and hangup["x"] + hangup["width"] <= PHONE["width"], hangup

    shared = await screen.bounding_box()
    mine = await page.locator("#self-view").bounding_box()
    assert shared and mine
    overlap_x = min(shared["x"] + shared["width"], mine["x"] + mine["width"]) - max(
        shared["x"], mine["x"]
    )
    overlap_y = min(shared["y"] + shared["height"], mine["y"] + mine["height"]) - max(
        shared["y"], mine["y"]
    )
    assert overlap_x <= 0 or overlap_y <= 0, f"the self-view covers the screen: {shared} {mine}"
    await page.screenshot(path=artifacts / "customer-phone-screen-share.png", full_page=True)
    await agent.close()
