"""A call between two real headless Chromium pages served by two nodes of one call centre.

Node A serves the customer's support page, node B the agent's console; the two kotha
servers share one real Redis. The call's media opens on node B (it has the most free
places), so everything the customer's page says about the call reaches node A and is
relayed to B over the node bus, and what B tells the customer reaches their socket on A
through socket.io's Redis manager.

Guards:
- the agent's console on B lists the call waiting on A and takes it;
- the media opens on node B only, and node A relayed the customer's signalling there;
- both browsers connect their media, and audio flows both ways: the agent's page
  receives the customer's speech, the customer's page the agent's speech (each
  level can only have come from the other browser);
- the customer hangs up on A and both pages show the end of the call.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from callcenter.identity import Role
from tests.conftest import NodeFactory, Server

from .conftest import BrowserFactory, Microphones, PageLog, make_wav
from .test_browser_call import (
    CONNECT_TIMEOUT_S,
    SPEAKING_LEVEL,
    describe,
    page_state,
    sample_levels,
    wait_for_state,
)

pytestmark = [pytest.mark.e2e, pytest.mark.own_redis]

# What the agent's fake microphone says, back to back.
AGENT_SPEECH = (
    "Hello Karim, this is Rahim from customer support. Let me look up your order. "
    "The parcel left our warehouse on Wednesday and should reach you tomorrow."
)


@dataclass
class SplitPages:
    """Two nodes of one call centre, the customer's page on A and the agent's on B."""

    a: Server
    b: Server
    customer: Page
    agent: Page
    customer_log: PageLog
    agent_log: PageLog

    def logs(self) -> str:
        return f"{self.customer_log}\n{self.agent_log}"


@pytest.fixture
async def two_nodes(
    add_node: NodeFactory,
) -> tuple[Server, Server]:
    """Nodes A (5 places) and B (50 places) of one call centre, on one Redis."""
    a = await add_node("node-a", max_calls=5)
    b = await add_node("node-b", max_calls=50)
    # Each node reads the directory with the other in it.
    await a.switchboard.heartbeat.beat()
    await b.switchboard.heartbeat.beat()
    return a, b


@pytest.fixture
def two_voices(microphones: Microphones, tmp_path: Path) -> Microphones:
    """The customer speaks, and so does the agent (not silence), so that each page has
    something to hear. Speech, not a steady tone: the pages ask for noise suppression,
    which fades a tone from 0.5 to 0.02 (RMS) within three seconds."""
    raw = tmp_path / "agent-speech-raw.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en", "-s", "150", "-w", str(raw), AGENT_SPEECH],
        check=True,
        capture_output=True,
    )
    # As the customer's: pauses shortened to 0.3 s, normalised to -3 dBFS.
    agent = make_wav(
        tmp_path / "agent-speech.wav",
        *["silence", "-l", "1", "0.05", "1%", "-1", "0.3", "1%"],
        *["norm", "-3"],
        source=[str(raw)],
    )
    return Microphones(customer=microphones.customer, agent=agent)


@pytest.fixture
async def split_pages(
    two_nodes: tuple[Server, Server],
    launch_browser: BrowserFactory,
    two_voices: Microphones,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[SplitPages]:
    """A browser for the customer and one for the agent; screenshots of both pages are
    kept at the end."""
    customer = await _new_page(await launch_browser(two_voices.customer))
    agent = await _new_page(await launch_browser(two_voices.agent))
    logs = PageLog("customer", customer), PageLog("agent", agent)
    pages = SplitPages(*two_nodes, customer, agent, *logs)
    yield pages
    name = request.node.name.removeprefix("test_")
    await customer.screenshot(path=artifacts / f"{name}-customer.png", full_page=True)
    await agent.screenshot(path=artifacts / f"{name}-agent.png", full_page=True)
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        print(pages.logs())  # pytest shows it with the failure: the pages' own words


async def _new_page(browser: Browser) -> Page:
    # A phone-sized window, as the other browser tests use.
    context = await browser.new_context(locale="en-US", viewport={"width": 414, "height": 860})
    return await context.new_page()


async def wait_until_heard(page: Page, log: PageLog, who: str, timeout: float) -> float:
    """The first level above speaking that ``page`` receives; fails after ``timeout``."""
    levels: list[float] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        levels.append(float(await page.evaluate("window.kotha.remoteAudioLevel()")))
        if levels[-1] > SPEAKING_LEVEL:
            return levels[-1]
        await asyncio.sleep(0.05)
    pytest.fail(f"{log.name} page never heard {who} in {timeout:.0f} s ({describe(levels)})\n{log}")


async def test_a_customer_on_node_a_and_an_agent_on_node_b_hear_each_other(
    split_pages: SplitPages,
) -> None:
    """Karim opens the support page on node A and calls by voice. Rahim signs in to the
    console on node B, goes available and takes Karim's call from the queue. The call's
    media opens on node B, the node with more room. Rahim hears Karim speak and Karim
    hears Rahim, each in his own browser. Karim hangs up; both pages say the call ended."""
    pages = split_pages
    a, b, customer, agent = pages.a, pages.b, pages.customer, pages.agent

    # Karim calls support from the page node A serves, and waits in line.
    await customer.goto(f"{a.url}/support")
    await customer.locator("#name").fill("Karim")
    await customer.locator("#call-support").click()
    await customer.locator("#choose-voice").click()
    await expect(customer.locator("#waiting")).to_be_visible()
    await expect(customer.locator("#queue-position")).to_have_text("Your place in line: 1")

    # Rahim's console, served by node B, lists Karim's call; he goes available and takes it.
    await agent.goto(f"{b.url}/agent#token={b.token(Role.AGENT, 'Rahim')}")
    await expect(agent.locator("#agent-name")).to_have_text("Rahim")
    await agent.locator("#availability").click()
    await expect(agent.locator("#availability")).to_have_attribute("data-state", "available")
    row = agent.locator("#queue-rows tr", has_text="Karim")
    await row.get_by_role("button", name="Accept").click()

    # Both browsers connect their media; each page names the other party.
    await wait_for_state(agent, pages.agent_log, "connection", "connected")
    await wait_for_state(customer, pages.customer_log, "connection", "connected")
    await expect(agent.locator("#customer-name")).to_have_text("Karim")
    await expect(customer.locator("#agent-name")).to_have_text("Rahim")
    await expect(customer.locator("#conn-state")).to_have_text("Connected")

    # The media is on node B only; node A relayed the customer's messages there.
    call_id = (await page_state(customer))["callId"]
    assert (await page_state(agent))["callId"] == call_id
    for node in (a, b):
        call = await node.switchboard.fresh(call_id)
        assert call is not None and call.media_node == "node-b", call
    assert a.switchboard.room_of(call_id) is None, "node A opened the call's media too"
    assert b.switchboard.room_of(call_id) is not None, "node B has no media for the call"
    bus = a.switchboard.cluster.bus
    assert bus is not None and bus.stats.sent > 0, "node A relayed nothing to node B"

    # Audio flows both ways: each page receives the other's speech, and keeps receiving it.
    await wait_until_heard(agent, pages.agent_log, "the customer", CONNECT_TIMEOUT_S)
    await wait_until_heard(customer, pages.customer_log, "the agent", CONNECT_TIMEOUT_S)
    rahim_heard, karim_heard = await asyncio.gather(
        sample_levels(agent, 3.0), sample_levels(customer, 3.0)
    )
    print(f"Rahim heard {describe(rahim_heard)}; Karim heard {describe(karim_heard)}")
    assert max(rahim_heard) > SPEAKING_LEVEL, (
        f"the agent's page stopped receiving the customer ({describe(rahim_heard)})\n{pages.logs()}"
    )
    assert max(karim_heard) > SPEAKING_LEVEL, (
        f"the customer's page stopped receiving the agent ({describe(karim_heard)})\n{pages.logs()}"
    )

    # Karim hangs up on node A; the call ends on node B and both pages say so.
    await customer.locator("#hangup").click()
    await expect(customer.locator("#ended")).to_be_visible()
    await expect(customer.locator("#end-reason")).to_have_text("You hung up.")
    await expect(agent.locator("#summary")).to_be_visible()
    await expect(agent.locator("#summary-reason")).to_have_text("The customer hung up.")
    assert b.switchboard.room_of(call_id) is None, "the media stayed open on node B"
    for page in (customer, agent):
        await expect(page.locator("#error"), "an error is left on screen").to_be_hidden()
