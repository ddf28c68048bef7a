"""A whole call between two real headless Chromium pages through the real server.

Guards:
- the customer page speaks Bengali to a browser that prefers Bengali, English to
  others, and remembers the language the customer picks;
- a guest customer can call support by voice and sees their place in line;
- the agent signs in from the link fragment (which leaves the address bar), goes
  available and accepts the call from the queue;
- both browsers connect their media to the server (aiortc) on 127.0.0.1;
- the agent hears the customer: the level of the audio the agent's page receives is
  clearly above silence while the customer speaks, and falls to silence when the
  customer mutes (the agent's own microphone is a silent WAV, so the level can only
  come from the customer);
- hanging up shows the ended state on both pages, in each page's language;
- media comes back within 10 s, with the other side doing nothing, after the
  customer reloads the page, after the customer's socket drops, after the agent
  reloads the console, and after the server reports the customer's media failed.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from playwright.async_api import Page, expect

from callcenter.identity import Role
from node.events import ServerEvent
from tests.conftest import ServerFactory

from .conftest import BrowserFactory, Microphones, PageLog, Pages, PagesFactory, poll_state
from .conftest import page_state as shared_page_state

pytestmark = pytest.mark.e2e

# RMS of the received audio (0..1). Speech normalised to -3 dBFS measures
# ~0.05-0.3 after Opus; a muted microphone sends digital silence (0.0).
SPEAKING_LEVEL = 0.02
SILENT_LEVEL = 0.003
CONNECT_TIMEOUT_S = 20.0
# What the pages promise after a reload or a dropped connection.
RECOVERY_S = 10.0


# -- reading the pages ------------------------------------------------------


async def page_state(page: Page) -> dict[str, Any]:
    return await shared_page_state(page)


async def wait_for_state(
    page: Page, log: PageLog, key: str, wanted: object, timeout: float = CONNECT_TIMEOUT_S
) -> None:
    await poll_state(page, log, f"{key} == {wanted!r}", lambda s: s.get(key) == wanted, timeout)


async def sample_levels(page: Page, seconds: float, every: float = 0.1) -> list[float]:
    levels = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        levels.append(float(await page.evaluate("window.kotha.remoteAudioLevel()")))
        await asyncio.sleep(every)
    return levels


async def wait_until_heard(pages: Pages, timeout: float) -> float:
    """Seconds until the agent's page receives speech again; fails after `timeout`."""
    start = time.monotonic()
    levels: list[float] = []
    while (elapsed := time.monotonic() - start) < timeout:
        levels.append(float(await pages.agent.evaluate("window.kotha.remoteAudioLevel()")))
        if levels[-1] > SPEAKING_LEVEL:
            return elapsed
        await asyncio.sleep(0.05)
    pytest.fail(f"the agent heard nothing for {timeout:.1f} s ({describe(levels)})\n{pages.logs()}")


async def wait_for_new_peer(page: Page, log: PageLog, old_peer: str, timeout: float) -> float:
    """Seconds until `page` is connected again on a peer other than `old_peer`."""
    start = time.monotonic()
    state: dict[str, Any] = {}
    while (elapsed := time.monotonic() - start) < timeout:
        state = await page_state(page)
        if state.get("connection") == "connected" and state.get("peerId") not in (None, old_peer):
            return elapsed
        await asyncio.sleep(0.1)
    pytest.fail(
        f"{log.name} page did not reconnect within {timeout:.0f} s\n"
        f"state: {json.dumps(state, ensure_ascii=False)}\n{log}"
    )


def describe(levels: list[float]) -> str:
    if not levels:
        return "no samples"
    median = sorted(levels)[len(levels) // 2]
    return f"max {max(levels):.4f}, median {median:.4f}, n={len(levels)}"


# -- steps --------------------------------------------------------------------


async def customer_waits_in_bengali(pages: Pages) -> None:
    customer = pages.customer
    await customer.goto(f"{pages.server.url}/support")
    await expect(customer.locator("html")).to_have_attribute("lang", "bn")
    await expect(customer.locator("#call-support")).to_contain_text("কল সাপোর্ট")
    await expect(customer.locator("#start h1")).to_have_text("আমাদের সাপোর্ট টিমের সাথে কথা বলুন")
    # Guest mode: pressing "call support" mints a token; then a voice call.
    await customer.locator("#name").fill("করিম")
    await customer.locator("#call-support").click()
    await customer.locator("#choose-voice").click()
    await expect(customer.locator("#waiting")).to_be_visible()
    await expect(customer.locator("#queue-position")).to_contain_text("লাইনে আপনার অবস্থান: ১")
    await expect(customer.locator("#queue-wait")).to_contain_text("কোনো এজেন্ট কল নিচ্ছেন না")
    await expect(customer.locator("#recording-notice")).to_have_text(
        "মান নিয়ন্ত্রণ ও প্রশিক্ষণের জন্য এই কলটি রেকর্ড করা হয়।"
    )


async def agent_accepts_from_queue(pages: Pages, customer_name: str) -> None:
    agent = pages.agent
    token = pages.server.token(Role.AGENT, "Rahim")
    await agent.goto(f"{pages.server.url}/agent#token={token}")
    await expect(agent.locator("#agent-name")).to_have_text("Rahim")
    assert "token" not in agent.url, f"the token stayed in the address bar: {agent.url}"
    # Away is not taking calls (the customer is told no agent is): no Accept until Available.
    waiting = agent.locator("#queue-rows tr", has_text=customer_name)
    await expect(waiting.get_by_role("button", name="Accept")).to_be_disabled()
    await expect(agent.locator("#queue-summary")).to_contain_text("You are Away")
    await agent.locator("#availability").click()
    await expect(agent.locator("#availability")).to_have_attribute("data-state", "available")
    row = agent.locator("#queue-rows tr", has_text=customer_name)
    await expect(row).to_contain_text("Bengali")
    await row.get_by_role("button", name="Accept").click()


async def both_connect(pages: Pages) -> None:
    await wait_for_state(pages.agent, pages.agent_log, "connection", "connected")
    await wait_for_state(pages.customer, pages.customer_log, "connection", "connected")


async def start_voice_call(pages: Pages) -> None:
    """The customer calls by voice (guest, English), the agent takes the longest waiting."""
    await start_call(pages, "voice")


async def start_call(pages: Pages, choice: str) -> str:
    """The customer calls (``choice``: "voice" or "video"); the agent takes the longest waiting.

    Returns the call's id once both pages are connected.
    """
    await pages.customer.goto(f"{pages.server.url}/support")
    await pages.customer.locator("#call-support").click()
    await pages.customer.locator(f"#choose-{choice}").click()
    await expect(pages.customer.locator("#waiting")).to_be_visible()
    token = pages.server.token(Role.AGENT, "Rahim")
    await pages.agent.goto(f"{pages.server.url}/agent#token={token}")
    await pages.agent.locator("#availability").click()
    await pages.agent.locator("#accept-next").click()
    await both_connect(pages)
    return next(c.call_id for c in pages.server.switchboard.live_calls())


# -- tests ----------------------------------------------------------------------


async def test_customer_calls_in_bengali_and_agent_hears_them(open_pages: PagesFactory) -> None:
    pages = await open_pages(customer_locale="bn-BD")
    customer, agent = pages.customer, pages.agent
    await customer_waits_in_bengali(pages)
    await agent_accepts_from_queue(pages, "করিম")
    await both_connect(pages)
    await expect(agent.locator("#customer-name")).to_have_text("করিম")
    await expect(agent.locator("#customer-language")).to_contain_text("Bengali")
    await expect(customer.locator("#agent-name")).to_have_text("Rahim")
    await expect(customer.locator("#conn-state")).to_have_text("সংযুক্ত")
    # The customer is told, in Bengali, that the call is recorded.
    await expect(customer.locator("#notices")).to_contain_text("রেকর্ড করা হয়")

    # The agent pauses the recording (a card number is coming): both pages say so.
    await agent.locator("#record").click()
    await expect(agent.locator("#record")).to_have_attribute("aria-pressed", "true")
    await expect(customer.locator("#notices")).to_contain_text("রেকর্ডিং এখন বন্ধ")
    await agent.locator("#record").click()
    await expect(agent.locator("#record")).to_have_attribute("aria-pressed", "false")
    await expect(customer.locator("#notices")).to_contain_text("রেকর্ড করা হয়")

    # The agent hears the customer speak...
    speaking = await sample_levels(agent, 6.0)
    assert max(speaking) > SPEAKING_LEVEL, (
        f"the agent's page received no speech from the customer ({describe(speaking)}; "
        f"want max > {SPEAKING_LEVEL})\nagent: {await page_state(agent)}\n{pages.logs()}"
    )

    # ...and silence once the customer mutes.
    await customer.locator("#mute").click()
    await expect(customer.locator("#mute")).to_have_attribute("aria-pressed", "true")
    await expect(agent.locator("#notices")).to_contain_text("The customer muted")
    await asyncio.sleep(1.0)  # audio already in flight and in the jitter buffer drains
    muted = await sample_levels(agent, 2.0)
    assert max(muted) < SILENT_LEVEL, (
        f"the agent still hears the customer after mute ({describe(muted)}; "
        f"want max < {SILENT_LEVEL}); while speaking: {describe(speaking)}\n{pages.logs()}"
    )

    # The customer hangs up; both pages show the end, in their own language.
    await customer.locator("#hangup").click()
    await expect(customer.locator("#ended")).to_be_visible()
    await expect(customer.locator("#end-reason")).to_have_text("আপনি কল কেটে দিয়েছেন।")
    await expect(agent.locator("#summary")).to_be_visible()
    await expect(agent.locator("#summary-reason")).to_have_text("The customer hung up.")
    assert (await page_state(agent))["agentState"] == "available"
    for page in (customer, agent):
        await expect(page.locator("#error"), "an error is left on screen").to_be_hidden()


async def test_media_comes_back_after_reloads_drops_and_failures(
    open_pages: PagesFactory,
) -> None:
    pages = await open_pages()
    customer, agent = pages.customer, pages.agent
    await start_voice_call(pages)
    await wait_until_heard(pages, CONNECT_TIMEOUT_S)
    call_id = (await page_state(customer))["callId"]

    # The customer reloads: the token is in sessionStorage, the page rejoins.
    before = (await page_state(customer))["peerId"]
    start = time.monotonic()
    await customer.reload()
    await wait_for_new_peer(customer, pages.customer_log, before, RECOVERY_S)
    await wait_until_heard(pages, RECOVERY_S - (time.monotonic() - start))
    state = await page_state(customer)
    assert state["callId"] == call_id, f"the reload joined another call: {state}"
    assert "token" not in customer.url

    # The customer's socket drops for 2 s: it comes back and starts a fresh peer.
    before = state["peerId"]
    await customer.context.set_offline(True)
    await wait_for_state(customer, pages.customer_log, "socketConnected", False, timeout=5)
    await asyncio.sleep(2)
    start = time.monotonic()
    await customer.context.set_offline(False)
    await wait_for_new_peer(customer, pages.customer_log, before, RECOVERY_S)
    await wait_until_heard(pages, RECOVERY_S - (time.monotonic() - start))

    # The agent reloads the console: back in the same call.
    before = (await page_state(agent))["peerId"]
    start = time.monotonic()
    await agent.reload()
    await wait_for_new_peer(agent, pages.agent_log, before, RECOVERY_S)
    await wait_until_heard(pages, RECOVERY_S - (time.monotonic() - start))
    assert (await page_state(agent))["callId"] == call_id

    # The server reports the customer's media failed: the page joins again.
    state = await page_state(customer)
    start = time.monotonic()
    await pages.server.switchboard.notifier.to_participant(
        call_id,
        state["participantId"],
        ServerEvent.MEDIA_FAILED,
        {"call_id": call_id, "reason": "the media connection failed; join_call again"},
    )
    await wait_for_new_peer(customer, pages.customer_log, state["peerId"], RECOVERY_S)
    await wait_until_heard(pages, RECOVERY_S - (time.monotonic() - start))

    await agent.locator("#hangup").click()
    await expect(agent.locator("#summary-reason")).to_have_text("You hung up.")
    await expect(customer.locator("#end-reason")).to_have_text("The agent ended the call.")


async def test_language_follows_the_browser_and_the_toggle_is_remembered(
    start_server: ServerFactory, launch_browser: BrowserFactory, microphones: Microphones
) -> None:
    server = await start_server()
    browser = await launch_browser(microphones.agent)
    context = await browser.new_context(locale="en-GB")
    page = await context.new_page()
    await page.goto(f"{server.url}/support")
    await expect(page.locator("#call-support")).to_have_text("Call support")
    await expect(page.locator("html")).to_have_attribute("lang", "en")

    await page.get_by_role("button", name="বাংলা").click()
    await expect(page.locator("#call-support")).to_have_text("কল সাপোর্ট")
    await expect(page.get_by_role("button", name="বাংলা")).to_have_attribute("aria-pressed", "true")
    await page.reload()
    await expect(page.locator("#call-support")).to_have_text("কল সাপোর্ট")
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("#start h1")).to_have_text("Talk to our support team")


async def test_a_guest_who_goes_back_can_still_give_their_name(open_pages: PagesFactory) -> None:
    """Call support, then Back: the name field was gone and the call was 'Customer Customer'."""
    pages = await open_pages()
    customer = pages.customer
    await customer.goto(f"{pages.server.url}/support")
    await customer.locator("#call-support").click()
    await expect(customer.locator("#choose-voice")).to_be_visible()
    await customer.locator("#choose-back").click()
    name = customer.locator("#name")
    await expect(name).to_be_visible()
    await name.fill("Salma")
    await customer.locator("#call-support").click()
    await customer.locator("#choose-voice").click()
    await expect(customer.locator("#waiting")).to_be_visible()
    calls = list(pages.server.switchboard.calls.values())
    assert [c.customer.name for c in calls] == ["Salma"], calls
