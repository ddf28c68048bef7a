"""The replay page's talk strip, in headless Chromium, on a scripted call.

Guards (a Bengali call, which has no speech model: the strip comes from the audio alone):
- under the quality strips, one lane per party (customer, then agent) with their talk,
  and a lane for the silences, all as wide as the timeline's bar (same time axis);
- the customer's scripted interruption is marked once, on the customer's lane, with who
  talked over whom in its title; where both talked is shaded on both lanes;
- the scripted 6 s pause is a silence, outlined as the longest;
- the conversation is said in words: talk time and share, non-talk time and the
  longest silence, the interruption;
- a click on a lane seeks like the timeline;
- the search form finds the call by its interruptions and its silence.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from callcenter.identity import Role
from tests.conftest import Server, api_request
from tests.conversation.script import render
from tests.conversation.test_scripted_calls import BENGALI, scripted_call

from .conftest import PageLog
from .test_replay import SEEK_TOLERANCE_S, new_page, open_first_recording, state, wait_for

pytestmark = pytest.mark.e2e


async def test_reviewer_sees_who_talked_when_and_the_interruption(
    server: Server, browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    script = render(BENGALI, "bn", tmp_path)
    detail = await scripted_call(server, script)
    call_id = detail["recording"]["call_id"]
    measured = detail["conversation"]
    assert measured["interruption_count"] == 1, measured["interruptions"]
    # The customer rated the call after hanging up: the replay shows it beside the call.
    customer = server.token(Role.CUSTOMER, "Karim", call_id=call_id)
    rating = {"score": 4, "comment": "ভালো সেবা"}
    status, _, _ = await api_request(
        server, "POST", f"/api/calls/{call_id}/rating", customer, json=rating
    )
    assert status == 200

    page, log = await new_page(browser)
    await page.goto(f"{server.url}/replay#token={server.token(Role.REVIEWER, 'Rina')}")
    # Found by what happened in it: at least one interruption, a silence of 5 s.
    await page.locator("#q-interruptions").fill("1")
    await page.locator("#q-silence").fill("5")
    await page.locator("#search-form button[type=submit]").click()
    await wait_for(page, log, "the call found by its talk", lambda s: s["results"] == [call_id])
    await page.locator("#q-interruptions").fill("2")
    await page.locator("#search-form button[type=submit]").click()
    await expect(page.locator("#results-empty")).to_be_visible()
    await page.locator("#search-form button[type=reset]").click()
    opened = await open_first_recording(page, log, call_id, "talk")
    assert opened["rating"] == {**rating, "rated_at": opened["rating"]["rated_at"]}
    await expect(page.locator("#p-rating")).to_have_text(
        "★★★★☆ Customer rated the call 4 of 5: ভালো সেবা"
    )
    talk = opened["talk"]
    assert [lane["role"] for lane in talk["lanes"]] == ["customer", "agent"], talk
    customer, agent = talk["lanes"]
    assert (customer["interruptions"], agent["interruptions"]) == (1, 0), talk
    assert customer["overlaps"] >= 1 and agent["overlaps"] >= 1, talk
    for lane in talk["lanes"]:
        truth = script.talk_ms(lane["role"]) / 1000
        assert lane["talk_s"] == pytest.approx(truth, abs=0.3), lane

    await check_marks_and_words(page)
    await check_seek(page, log, float(opened["duration"]))
    await page.screenshot(path=artifacts / "replay-talk-phone.png", full_page=True)
    await page.set_viewport_size({"width": 1366, "height": 900})
    await page.locator("#talk").scroll_into_view_if_needed()
    await page.screenshot(path=artifacts / "replay-talk-laptop.png", full_page=True)
    assert (await state(page))["error"] is None


async def check_marks_and_words(page: Page) -> None:
    """The interruption on the customer's lane, the longest silence outlined, the words,
    and every lane on the timeline's time axis."""
    section = page.locator("#talk")
    await section.scroll_into_view_if_needed()
    strips = section.locator(".tk-strip")
    await expect(strips).to_have_count(3)
    mark = strips.first.locator(".tk-interruption")
    await expect(mark).to_have_attribute(
        "title", re.compile(r"^Customer talked over the agent at 0:\d\d for \d\.\d s$")
    )
    longest = strips.nth(2).locator(".tk-silence[data-longest=true]")
    await expect(longest).to_have_count(1)
    await expect(longest).to_have_attribute("title", re.compile(r"the longest silence$"))
    words = page.locator("#talk-summary")
    await expect(words).to_contain_text(re.compile(r"Talked: the customer \d+\.\d s \(\d+%\)"))
    await expect(words).to_contain_text(re.compile(r"the longest silence \d+\.\d s from 0:\d\d"))
    await expect(words).to_contain_text("1 interruption: the customer over the agent \u00d71.")

    # Same time axis as the timeline's bar.
    bar = await page.locator("#tl-track").bounding_box()
    for n in range(3):
        box = await strips.nth(n).bounding_box()
        assert bar and box
        assert box["x"] == pytest.approx(bar["x"], abs=1) and box["width"] == pytest.approx(
            bar["width"], abs=1
        ), (n, box, bar)


async def check_seek(page: Page, log: PageLog, duration: float) -> None:
    """A click a quarter along the agent's lane seeks there."""
    box = await page.locator("#talk .tk-strip").nth(1).bounding_box()
    assert box
    await page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + box["height"] / 2)
    await wait_for(
        page,
        log,
        "a seek from the talk strip",
        lambda s: abs(s["currentTime"] - duration / 4) < SEEK_TOLERANCE_S,
    )
