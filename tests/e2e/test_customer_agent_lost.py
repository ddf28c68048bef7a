"""The customer's page when their agent's console never comes back (issue 13, item 8).

Guards: the page goes back to waiting and says, in Bengali, that the agent lost their
connection and the customer is next in line; when the next agent takes the call the page
shows the call again with that agent, on the media connection it already had (no new
peer), and each side hears the other.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from playwright.async_api import expect

from callcenter.identity import Role
from media.source import SourceKind
from tests.conftest import ServerFactory
from tests.support import Ear, ToneTrack

from .conftest import BrowserFactory, Microphones, PageLog, page_state
from .test_browser_call import CONNECT_TIMEOUT_S, SPEAKING_LEVEL, wait_for_state

pytestmark = pytest.mark.e2e


async def test_the_customer_is_told_and_the_next_agent_takes_the_same_call(
    start_server: ServerFactory,
    launch_browser: BrowserFactory,
    microphones: Microphones,
    artifacts: Path,
) -> None:
    server = await start_server(rejoin_grace_s=0.5)
    browser = await launch_browser(microphones.customer)
    page = await (await browser.new_context(locale="bn-BD")).new_page()
    log = PageLog("customer", page)
    await page.goto(f"{server.url}/support")
    await page.locator("#call-support").click()
    await page.locator("#choose-voice").click()
    await expect(page.locator("#waiting")).to_be_visible()
    call_id = next(iter(server.switchboard.calls))

    rahim = server.client(
        server.token(Role.AGENT, "Rahim"), sources={SourceKind.MICROPHONE: ToneTrack(660)}
    )
    await rahim.connect()
    await rahim.set_availability("available")
    await rahim.accept_call(call_id)
    await rahim.join_call(call_id)
    await wait_for_state(page, log, "connection", "connected", timeout=CONNECT_TIMEOUT_S)
    peer_id = (await page_state(page))["peerId"]

    await rahim.close()  # the laptop is shut; the console never comes back
    await expect(page.locator("#waiting")).to_be_visible(timeout=10_000)
    await expect(page.locator("#queue-position")).to_have_text(
        "আপনার এজেন্টের সংযোগ বিচ্ছিন্ন হয়ে গেছে। পরের এজেন্টের জন্য আপনিই লাইনে প্রথম।"
    )
    await page.screenshot(path=artifacts / "customer-agent-lost.png", full_page=True)

    ear = Ear()
    jamila = server.client(
        server.token(Role.AGENT, "Jamila"),
        sources={SourceKind.MICROPHONE: ToneTrack(880)},
        on_track=ear,
    )
    await jamila.connect()
    await jamila.set_availability("available")
    await jamila.accept_call(call_id)
    await jamila.join_call(call_id)
    await expect(page.locator("#incall")).to_be_visible(timeout=10_000)
    await expect(page.locator("#agent-name")).to_have_text("Jamila")
    state = await page_state(page)
    assert (state["callId"], state["peerId"]) == (call_id, peer_id), state

    customer = server.switchboard.calls[call_id].customer.participant_id
    deadline = time.monotonic() + 10
    while not any(h.key.participant_id == customer and h.rms > 300 for h in ear.frames):
        assert time.monotonic() < deadline, "Jamila never heard the customer"
        await asyncio.sleep(0.1)
    while float(await page.evaluate("window.kotha.remoteAudioLevel()")) <= SPEAKING_LEVEL:
        assert time.monotonic() < deadline, f"the customer never heard Jamila\n{log}"
        await asyncio.sleep(0.1)
    await ear.close()
    await jamila.close()
