"""An operator's categories on the supervisor's floor and on the replay, in Chromium.

The rules: "Long silence" (nobody talks for more than 2 s; critical, alerts) and "Short
call" (under ten minutes, known only at the end). Karim calls, Rahim answers; neither
has a microphone, so the call is silent from the start.

Guards:
- the dashboard's row of the call shows "Long silence" as a category and, since the rule
  alerts, as a "Category" reason of the call's attention, while the call goes on;
- after the call the replay lists both categories with their moment; a click on one plays
  from there; screenshots at laptop and phone size.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser, ViewportSize, expect

from callcenter.identity import Role
from tests.conftest import ServerFactory, connect_call

from .conftest import PageLog, poll_state
from .test_replay import SEEK_TOLERANCE_S, state, wait_for

pytestmark = pytest.mark.e2e

LAPTOP: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 414, "height": 860}
RULES = """
[[category]]
name = "Long silence"
severity = "critical"
alert = true
[[category.condition]]
silence = { longer_than_s = 2 }

[[category]]
name = "Short call"
[[category.condition]]
duration = { shorter_than_s = 600 }
"""


async def test_categories_on_the_floor_and_on_the_replay(
    start_server: ServerFactory, browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "categories.toml"
    rules.write_text(RULES, encoding="utf-8")
    server = await start_server(categories_file=rules)
    pair = await connect_call(server, customer_name="Karim", agent_name="Rahim")

    context = await browser.new_context(locale="en-US", viewport=LAPTOP)
    page = await context.new_page()
    log = PageLog("dashboard", page)
    await page.goto(f"{server.url}/dashboard#token={server.token(Role.SUPERVISOR, 'Sumi')}")
    floor = await poll_state(
        page,
        log,
        "the call's row showing its category",
        lambda s: any(
            "Long silence" in c.get("categories", []) for c in (s["floor"] or {}).get("calls", [])
        ),
        20.0,
    )
    [row] = floor["floor"]["calls"]
    assert row["categories"] == ["Long silence"]
    await expect(page.locator(".fc-category", has_text="Long silence")).to_be_visible()
    reason = page.locator(".fc-alert[data-source=category]")
    await expect(reason).to_contain_text("Category")
    await expect(reason).to_contain_text("Long silence")
    await page.screenshot(path=artifacts / "categories-floor-laptop.png", full_page=True)

    await asyncio.sleep(0.5)
    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()
    replay = await context.new_page()
    replay_log = PageLog("replay", replay)
    reviewer = server.token(Role.REVIEWER, "Rina")
    await replay.goto(f"{server.url}/replay#token={reviewer}&call={pair.call_id}")
    opened = await wait_for(
        replay, replay_log, "the recording opening", lambda s: s["open"] == pair.call_id
    )
    names = {m["category"]: m["at_ms"] for m in opened["categories"]}
    assert set(names) == {"Long silence", "Short call"}, opened["categories"]
    assert names["Long silence"] < names["Short call"]  # the silence began; the call ended
    chips = replay.locator("#p-categories .p-category")
    await expect(chips).to_have_count(2)
    silence = chips.filter(has_text="Long silence")
    await expect(silence).to_have_attribute("data-severity", "critical")
    await silence.click()
    target = names["Long silence"] / 1000
    await wait_for(
        replay,
        replay_log,
        "playing from the silence",
        lambda s: abs(s["currentTime"] - target) < SEEK_TOLERANCE_S,
    )
    await expect(replay.locator("#events")).to_contain_text("Category: Long silence")
    await replay.screenshot(path=artifacts / "categories-replay-laptop.png", full_page=True)
    await replay.set_viewport_size(PHONE)
    await replay.screenshot(path=artifacts / "categories-replay-phone.png", full_page=True)
    assert (await state(replay))["error"] is None
