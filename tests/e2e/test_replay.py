"""The reviewer's replay page in headless Chromium, on a real recorded call.

Guards:
- a reviewer signs in from the link fragment (which leaves the address bar) and finds
  the recording (agent Rahim, customer Karim); a search that matches nothing says so;
- opening it draws the timeline: one marker per participant who joined, one shaded
  range where the recording was paused (at the right place), and the end of the call;
- Play plays the mixed audio (its time advances), and a click on the timeline at 80 %
  seeks there at once;
- the dual-channel download is a WAV file (RIFF), and playback and the download each
  left an audit record; a reload reopens the same recording, and the list is one click back;
- a customer's token is told, in words, that it is not allowed, and the sign-in form
  takes a pasted reviewer token instead;
- on a one-hour recording the page shows 1:00:00, and a click at 80 % plays from 48:00
  within a second (the player's file has an index: see tests/recording/test_long_recording.py);
- a video call's camera and a screen share started later play in labelled <video>s that
  follow the audio: the share waits until its start, then stays within 0.35 s of the
  audio, also after a seek.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from callcenter.identity import Role
from tests.conftest import Server, connect_call
from tests.recording.test_long_recording import write_one_hour_playback
from tests.recording.test_recorded_call import record_call
from tests.support import TestCardTrack, participant_media

from .conftest import PageLog, page_state, poll_state

pytestmark = pytest.mark.e2e

PAUSE = (3.0, 4.5)
SEEK_FRACTION = 0.8
# How far the audio may be from where the timeline was clicked (it keeps playing meanwhile).
SEEK_TOLERANCE_S = 0.4
# How far a video may be from the audio (the page corrects drift above 0.3 s).
VIDEO_SYNC_S = 0.35
SCREEN_SHARE_AT_S = 2.0
# How far a click on a phone-wide bar may land from its aim, in an hour-long recording.
ONE_HOUR_PIXEL_S = 12.0


async def new_page(browser: Browser) -> tuple[Page, PageLog]:
    # Phone-sized, like the other browser tests: the page must work on a phone.
    context = await browser.new_context(
        locale="en-US", viewport={"width": 414, "height": 860}, accept_downloads=True
    )
    page = await context.new_page()
    return page, PageLog("replay", page)


async def state(page: Page) -> dict[str, Any]:
    return await page_state(page)


async def wait_for(
    page: Page,
    log: PageLog,
    what: str,
    check: Callable[[dict[str, Any]], bool],
    timeout: float = 10.0,
) -> dict[str, Any]:
    return await poll_state(page, log, what, check, timeout, every=0.05)


async def open_first_recording(
    page: Page, log: PageLog, call_id: str, part: str, timeout: float = 10.0
) -> dict[str, Any]:
    """Open the first recording the search lists; the page's state once ``part`` is drawn."""
    await page.locator("#result-rows tr").first.get_by_role("button").click()
    return await wait_for(
        page,
        log,
        f"the recording opening with its {part}",
        lambda s: s["open"] == call_id and s["ready"] and s[part]["shown"],
        timeout,
    )


async def click_timeline(page: Page, fraction: float) -> None:
    """Click the timeline's bar `fraction` of the way along (scrolled into view first)."""
    bar = page.locator("#tl-track")
    await bar.scroll_into_view_if_needed()
    box = await bar.bounding_box()
    assert box, "the timeline is not on screen"
    await page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)


async def check_timeline(page: Page, log: PageLog, call_id: str) -> float:
    """The opened recording's timeline: 2 participants, 1 pause in its place, the end.

    Returns the recording's length (s).
    """
    opened = await wait_for(
        page, log, "the recording opening", lambda s: s["open"] == call_id and s["ready"]
    )
    assert opened["timeline"] == {"markers": 2, "pauses": 1, "end": True}, (
        f"timeline: {opened['timeline']} (want 2 participant markers, 1 pause, the end)\n{log}"
    )
    await expect(page.locator("#tl-ticks .tl-tick[data-role]")).to_have_count(2)
    await expect(page.locator("#tl-top .tl-label[data-kind=customer]")).to_have_text("Customer")
    await expect(page.locator("#tl-bottom .tl-label[data-kind=agent]")).to_have_text("Agent")
    await expect(page.locator("#tl-pauses .tl-pause")).to_have_count(1)
    await expect(page.locator("#videos")).to_be_hidden()  # a voice call has no videos
    duration = float(opened["duration"])
    assert 5.5 < duration < 7.0, f"the recording lasts {duration:.2f} s; the call lasted 6 s"
    track = await page.locator("#tl-track").bounding_box()
    pause = await page.locator("#tl-pauses .tl-pause").bounding_box()
    assert track and pause, "the timeline or its pause is not on screen"
    start = (pause["x"] - track["x"]) / track["width"] * duration
    end = start + pause["width"] / track["width"] * duration
    assert start == pytest.approx(PAUSE[0], abs=0.3) and end == pytest.approx(PAUSE[1], abs=0.3), (
        f"the pause is drawn at {start:.2f}-{end:.2f} s; it was {PAUSE[0]}-{PAUSE[1]} s"
    )
    return duration


async def test_reviewer_finds_plays_seeks_and_downloads_a_recording(
    server: Server, browser: Browser, artifacts: Path
) -> None:
    _, meta = await record_call(
        server, customer_beeps=[1.0], agent_beeps=[2.0], until=6.0, pause=PAUSE
    )
    call_id = meta["call_id"]
    page, log = await new_page(browser)
    token = server.token(Role.REVIEWER, "Rina")
    await page.goto(f"{server.url}/replay#token={token}")

    # Signed in; the token left the address bar; the recording is listed.
    await expect(page.locator("#staff-name")).to_have_text("Rina")
    assert "token" not in page.url, f"the token stayed in the address bar: {page.url}"
    row = page.locator("#result-rows tr", has_text="Karim")
    await expect(row).to_contain_text("Rahim")
    await expect(row).to_contain_text("Bengali")
    await wait_for(page, log, "the recording in the results", lambda s: s["results"] == [call_id])

    # A search that matches nothing says so; searching for the agent finds it again.
    await page.locator("#q-agent").fill("Nobody")
    await page.locator("#search-form button[type=submit]").click()
    await expect(page.locator("#results-empty")).to_be_visible()
    await page.locator("#q-agent").fill("Rahim")
    await page.locator("#search-form button[type=submit]").click()
    await expect(row).to_be_visible()
    # A clean line did not sound bad: "worst MOS below 3.6" leaves it out.
    await page.locator("#q-mos").select_option("3.6")
    await page.locator("#search-form button[type=submit]").click()
    await expect(page.locator("#results-empty")).to_be_visible()
    await page.locator("#q-mos").select_option("")
    await page.locator("#search-form button[type=submit]").click()
    await expect(row).to_be_visible()

    # Open it: the timeline shows who joined, the pause and the end of the call.
    await row.get_by_role("button", name="Play").click()
    duration = await check_timeline(page, log, call_id)

    # Play: the audio's time advances.
    await page.locator("#play").click()
    await wait_for(
        page, log, "playback advancing", lambda s: s["playing"] and s["currentTime"] > 0.5
    )
    await expect(page.locator("#play")).to_have_attribute("aria-pressed", "true")

    # A click on the timeline at 80 % seeks there within a second.
    target = SEEK_FRACTION * duration
    await click_timeline(page, SEEK_FRACTION)
    await wait_for(
        page,
        log,
        f"a seek to {target:.2f} s",
        lambda s: abs(s["currentTime"] - target) < SEEK_TOLERANCE_S,
        timeout=1.0,
    )
    await page.screenshot(path=artifacts / "replay.png", full_page=True)

    # The dual-channel WAV downloads as a file.
    async with page.expect_download() as downloading:
        await page.locator("#dl-dual_channel").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".wav"), download.suggested_filename
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert data[:4] == b"RIFF", f"the download is not a WAV file: {data[:16]!r}"
    await expect(page.locator("#error")).to_be_hidden()

    # A reload comes back to the same recording (the token is kept for the tab);
    # "All recordings" goes back to the list.
    await page.reload()
    await wait_for(
        page, log, "the recording reopening after a reload", lambda s: s["open"] == call_id
    )
    await page.locator("#back").click()
    await expect(row).to_be_visible()
    assert (await state(page))["open"] is None

    # Opening it and downloading each wrote an audit record under the reviewer's name.
    records = [
        (r.get("action"), r.get("actor"), (r.get("details") or {}).get("file"))
        for r in await asyncio.to_thread(server.switchboard.audit.read)
        if r.get("call_id") == call_id
    ]
    assert ("playback", "rina", None) in records, records
    assert ("download", "rina", "dual_channel") in records, records


async def test_a_customer_token_is_not_allowed(server: Server, browser: Browser) -> None:
    call_id, customer_token = await server.customer_call("Karim")
    page, log = await new_page(browser)
    await page.goto(f"{server.url}/replay#token={customer_token}")
    await expect(page.locator("#error")).to_contain_text("not allowed")
    await expect(page.locator("#signin")).to_be_visible()
    current = await state(page)
    assert not current["signedIn"] and current["results"] == [], f"{current}\n{log}"
    assert "{" not in (await page.locator("#error").inner_text()), "the error must be words"

    # The form takes a pasted reviewer token instead (no recordings yet: it says so).
    await page.locator("#token-input").fill(server.token(Role.REVIEWER, "Rina"))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#results-empty")).to_be_visible()
    await expect(page.locator("#error")).to_be_hidden()
    assert call_id not in (await state(page))["results"]


async def test_videos_follow_the_audio(server: Server, browser: Browser) -> None:
    pair = await connect_call(
        server,
        media="video",
        customer_sources=participant_media(1000, camera=(320, 240)),
        agent_sources=participant_media(1500),
    )
    await asyncio.sleep(SCREEN_SHARE_AT_S)
    await pair.customer.start_screen_share(TestCardTrack(640, 360))
    await asyncio.sleep(3.0)
    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()

    page, log = await new_page(browser)
    await page.goto(f"{server.url}/replay#token={server.token(Role.REVIEWER, 'Rina')}")
    await page.locator("#result-rows tr", has_text="Karim").get_by_role("button").click()
    await wait_for(page, log, "the recording opening", lambda s: s["open"] and s["ready"])
    await expect(page.locator("#videos")).to_be_visible()
    await expect(page.locator("#videos figcaption")).to_have_count(2)
    await expect(page.locator("#videos figcaption").first).to_have_text("Customer camera")
    # Before it started, the share says when it starts.
    await expect(page.locator("#videos figcaption").nth(1)).to_contain_text(
        "Customer screen (starts at 0:02)"
    )

    def in_step(current: dict[str, Any]) -> bool:
        # Chromium's <video> time is the file's own timestamps, which are the recording's
        # time: a video in step shows the same time as the audio.
        return all(
            v["state"] == "live" and abs(v["currentTime"] - current["currentTime"]) < VIDEO_SYNC_S
            for v in current["videos"]
        )

    await page.locator("#play").click()
    playing = await wait_for(
        page,
        log,
        "both videos playing in step with the audio after the share started",
        lambda s: s["playing"] and s["currentTime"] > SCREEN_SHARE_AT_S + 0.6 and in_step(s),
    )
    assert all(not v["paused"] for v in playing["videos"]), playing["videos"]

    # A seek back before the share: the camera follows, the share waits for its start.
    await click_timeline(page, 0.1)
    await expect(page.locator("#videos figcaption").nth(1)).to_contain_text("starts at")
    # And forward to 80 %: both videos are there within a second.
    await click_timeline(page, SEEK_FRACTION)
    await wait_for(
        page,
        log,
        "both videos in step after a seek to 80 %",
        lambda s: s["currentTime"] > 0.7 * s["duration"] and in_step(s),
        timeout=1.0,
    )
    await expect(page.locator("#error")).to_be_hidden()
    # A video call is a video call, as the console and dashboard say; the share is named.
    await expect(page.locator("#p-badges")).to_contain_text("Video")
    await expect(page.locator("#p-badges")).to_contain_text("Screen shared")


async def test_a_voice_call_with_a_screen_share_is_a_voice_call(
    server: Server, browser: Browser
) -> None:
    """The replay called it "Video" while the console and dashboard called it "Voice"."""
    pair = await connect_call(
        server, customer_sources=participant_media(1000), agent_sources=participant_media(1500)
    )
    await pair.customer.start_screen_share(TestCardTrack(640, 360))
    await asyncio.sleep(2.5)
    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()

    page, log = await new_page(browser)
    await page.goto(f"{server.url}/replay#token={server.token(Role.REVIEWER, 'Rina')}")
    row = page.locator("#result-rows tr", has_text="Karim")
    await expect(row).to_contain_text("Voice")
    await expect(row).not_to_contain_text("Video")
    await row.get_by_role("button").click()
    await wait_for(page, log, "the recording opening", lambda s: s["open"] and s["ready"])
    badges = page.locator("#p-badges")
    await expect(badges).to_contain_text("Voice")
    await expect(badges).to_contain_text("Screen shared")
    await expect(badges).not_to_contain_text("Video")


async def test_seeking_a_one_hour_recording_is_instant(server: Server, browser: Browser) -> None:
    # Finishing a real one-hour call takes most of a minute of CPU: record a short call,
    # then give it the player's file of a one-hour call, written by the same code.
    folder, meta = await record_call(server, customer_beeps=[1.0], agent_beeps=[2.0], until=3.0)
    playback = folder / meta["renditions"]["playback"]["file"]
    await asyncio.to_thread(write_one_hour_playback, playback)

    page, log = await new_page(browser)
    await page.goto(f"{server.url}/replay#token={server.token(Role.REVIEWER, 'Rina')}")
    await page.locator("#result-rows tr", has_text="Karim").get_by_role("button").click()
    await wait_for(page, log, "the one-hour recording opening", lambda s: s["duration"] > 3500)
    await expect(page.locator("#duration")).to_have_text("1:00:00")

    await page.locator("#play").click()
    await wait_for(page, log, "playback starting", lambda s: s["playing"])
    target = SEEK_FRACTION * 3600
    await click_timeline(page, SEEK_FRACTION)
    # Within a second the audio is there (one pixel of the bar is about 10 s of an hour)...
    landed = await wait_for(
        page,
        log,
        f"a seek to about {target:.0f} s",
        lambda s: abs(s["currentTime"] - target) < ONE_HOUR_PIXEL_S,
        timeout=1.0,
    )
    # ...and plays on from there.
    await wait_for(
        page,
        log,
        "playback going on after the seek",
        lambda s: s["playing"] and s["currentTime"] > landed["currentTime"] + 0.2,
        timeout=2.0,
    )
    await expect(page.locator("#current-time")).to_have_text(re.compile(r"^4[78]:\d\d$"))
    await expect(page.locator("#error")).to_be_hidden()
