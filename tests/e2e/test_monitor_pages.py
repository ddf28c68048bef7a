"""Monitoring on the two call pages in headless Chromium: the agent always knows, the customer
sees only a barge.

A customer (Bengali page) and an agent talk through the server; a supervisor (an aiortc
client whose microphone plays 880 Hz) monitors the call and switches modes.

Guards:
- listen: the agent's console says "Nasrin (supervisor) is listening" and lists the monitor in
  ``window.kotha.state().monitors``; the customer's page shows nothing of it: no supervisor
  word (Bengali or English) or name anywhere in its DOM text, its participants unchanged,
  no audio element but the agent's; the supervisor's audio element on the agent's page is
  silent (the server refuses a listener's microphone);
- whisper: the agent's banner says the supervisor whispers and the customer cannot hear, and
  the agent's page plays the supervisor's voice on an <audio> of its own (880 Hz measured in
  it), while the supervisor is still no participant on either page;
- barge: within a few seconds the customer's page labels a third participant as a supervisor
  ("সুপারভাইজার Nasrin কলে যোগ দিয়েছেন", and "Supervisor Nasrin joined the call" after
  switching to English) and plays their voice; the agent's banner says the customer hears
  them; screenshots of both pages at that moment (test-artifacts/monitor-barge-*.png);
- back to listen: the label is gone from the customer's page (DOM text and state) and the
  agent's banner says listening again; stop: the banner is gone;
- a call that ends while a supervisor monitors clears the banner (no monitor_updated comes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from callcenter.identity import Role
from client.participant import KothaClient
from media.source import SourceKind
from tests.support import ToneTrack

from .conftest import PageLog, Pages, PagesFactory, poll_state
from .test_browser_call import page_state, start_voice_call

pytestmark = pytest.mark.e2e

SUPERVISOR = "Nasrin"
SUPERVISOR_HZ = 880
# Words that would give a supervisor away on the customer's page, in either language.
GIVEAWAYS = ("supervisor", "সুপারভাইজার", SUPERVISOR.lower())
# Generous: two cores, and other browser tests may run at the same time.
SHOWN_WITHIN_MS = 15_000
# What the customer's page promises once a supervisor barges in (a new offer included).
BARGE_SHOWN_WITHIN_S = 5.0
# RMS (0..1) of a received audio element: the 880 Hz tone (amplitude 8000) measures ~0.12.
TONE_LEVEL = 0.02
SILENT_LEVEL = 0.003

# The level and dominant frequency of one <audio> element's stream over ~1 s, measured in
# the page with its own analyser (the page's meter is the other party's).
MEASURE_AUDIO = """async (key) => {
  const element = document.querySelector(`#remote-audio audio[data-key="${key}"]`);
  const track = element?.srcObject?.getAudioTracks()[0];
  if (!track) return null;
  const context = (window.kothaTestAudio ??= new AudioContext());
  await context.resume().catch(() => {});
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  let rms = 0;
  let hz = null;
  for (let i = 0; i < 10; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    analyser.getFloatTimeDomainData(samples);
    const level = Math.sqrt(samples.reduce((sum, v) => sum + v * v, 0) / samples.length);
    if (level > rms) {
      rms = level;
      analyser.getFloatFrequencyData(spectrum);
      const bin = spectrum.indexOf(Math.max(...spectrum));
      hz = (bin * context.sampleRate) / analyser.fftSize;
    }
  }
  source.disconnect();
  return { rms, hz, paused: element.paused, track: track.readyState, context: context.state };
}"""
PAGE_TEXT = "() => document.title + ' ' + document.documentElement.textContent"
AUDIO_KEYS = "() => [...document.querySelectorAll('audio')].map((a) => a.dataset.key)"


# -- reading the pages ----------------------------------------------------------


async def wait_for(
    page: Page, log: PageLog, key: str, wanted: object, timeout_s: float = 15.0
) -> dict[str, Any]:
    """The page's state once ``state[key] == wanted``; fails with the state after the timeout."""
    return await poll_state(
        page, log, f"{key} == {wanted!r}", lambda s: s.get(key) == wanted, timeout_s
    )


async def measure(page: Page, key: str) -> dict[str, Any]:
    measured: dict[str, Any] | None = await page.evaluate(MEASURE_AUDIO, key)
    assert measured is not None, f"no <audio> plays {key}: {await page.evaluate(AUDIO_KEYS)}"
    return measured


async def wait_for_tone(page: Page, log: PageLog, key: str, timeout_s: float = 15.0) -> None:
    """Until the <audio> of ``key`` plays the supervisor's tone."""
    deadline = time.monotonic() + timeout_s
    measured: dict[str, Any] = {}
    while time.monotonic() < deadline:
        measured = await measure(page, key)
        near = measured["hz"] is not None and abs(measured["hz"] - SUPERVISOR_HZ) < 20
        if measured["rms"] > TONE_LEVEL and near:
            assert not measured["paused"] and measured["track"] == "live", measured
            print(
                f"{log.name} page plays {key}: {measured['hz']:.0f} Hz, RMS {measured['rms']:.3f}"
            )
            return
    pytest.fail(f"{log.name} page: {key} never played {SUPERVISOR_HZ} Hz: {measured}\n{log}")


def roles(state: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((p["role"], p["name"]) for p in state["participants"])


async def customer_knows_nothing(scene: Scene, *, audio_keys: list[str] | None = None) -> None:
    """No supervisor anywhere on the customer's page: words, participants (and audio elements)."""
    customer = scene.pages.customer
    text = str(await customer.evaluate(PAGE_TEXT)).lower()
    found = [word for word in GIVEAWAYS if word in text]
    assert found == [], f"the customer's page gives the supervisor away: {found}\n{text}"
    state = await page_state(customer)
    assert roles(state) == scene.parties, state
    assert await customer.locator("#parties").is_hidden()
    if audio_keys is not None:
        assert await customer.evaluate(AUDIO_KEYS) == audio_keys


async def agent_is_told(scene: Scene, mode: str, words: str) -> dict[str, Any]:
    """The agent's banner says ``words`` and its state lists the supervisor in ``mode``."""
    banner = scene.pages.agent.locator("#monitors")
    await expect(banner).to_contain_text(words, timeout=SHOWN_WITHIN_MS)
    await expect(banner.locator(".monitor")).to_have_attribute("data-mode", mode)
    wanted = [{"participantId": scene.supervisor_pid, "name": SUPERVISOR, "mode": mode}]
    return await wait_for(scene.pages.agent, scene.pages.agent_log, "monitors", wanted)


@dataclass
class Scene:
    """A call between the two pages, and a supervisor monitoring it."""

    pages: Pages
    call_id: str
    parties: list[tuple[str, str]]
    """(role, name) of the customer and the agent, as the customer's page lists them."""
    agent_pid: str
    supervisor: KothaClient
    supervisor_pid: str = ""

    @property
    def supervisor_audio(self) -> str:
        return f"{self.supervisor_pid}/microphone"


# -- the steps --------------------------------------------------------------------


async def listen(scene: Scene) -> None:
    """The agent is told and gets the supervisor's m-line, silent; the customer nothing."""
    agent = scene.pages.agent
    joined = await scene.supervisor.monitor_call(scene.call_id, "listen")
    scene.supervisor_pid = joined["participant_id"]
    state = await agent_is_told(scene, "listen", f"{SUPERVISOR} (supervisor) is listening")
    assert all(p["role"] != "supervisor" for p in state["participants"]), state
    element = agent.locator(f'#remote-audio audio[data-key="{scene.supervisor_audio}"]')
    await expect(element).to_have_count(1, timeout=SHOWN_WITHIN_MS)
    listening = await measure(agent, scene.supervisor_audio)
    assert listening["rms"] < SILENT_LEVEL, f"the agent heard a listening supervisor: {listening}"
    # By now the customer would have heard of it, had the server or the page told them.
    await customer_knows_nothing(scene, audio_keys=[f"{scene.agent_pid}/microphone"])


async def whisper(scene: Scene) -> None:
    """The agent hears the supervisor on an audio element of its own; the customer knows nothing."""
    await scene.supervisor.set_monitor_mode("whisper")
    words = f"{SUPERVISOR} (supervisor) is whispering to you — the customer cannot hear"
    state = await agent_is_told(scene, "whisper", words)
    assert all(p["role"] != "supervisor" for p in state["participants"]), state
    await wait_for_tone(scene.pages.agent, scene.pages.agent_log, scene.supervisor_audio)
    await customer_knows_nothing(scene, audio_keys=[f"{scene.agent_pid}/microphone"])


async def barge(scene: Scene, artifacts: Path) -> None:
    """The customer sees a supervisor join, in Bengali then English, and hears them."""
    customer, agent = scene.pages.customer, scene.pages.agent
    asked = time.monotonic()
    await scene.supervisor.set_monitor_mode("barge")
    label = customer.locator("#parties .party[data-role='supervisor']")
    await expect(label).to_contain_text(
        f"সুপারভাইজার {SUPERVISOR} কলে যোগ দিয়েছেন", timeout=SHOWN_WITHIN_MS
    )
    shown_s = time.monotonic() - asked
    print(f"the customer's page showed the barge {shown_s:.2f} s after it was asked for")
    assert shown_s < BARGE_SHOWN_WITHIN_S, f"the barge took {shown_s:.1f} s to show"
    words = f"{SUPERVISOR} (supervisor) has joined the call — the customer hears them"
    agent_state = await agent_is_told(scene, "barge", words)
    three = sorted([*scene.parties, ("supervisor", SUPERVISOR)])
    assert roles(await page_state(customer)) == three
    assert roles(agent_state) == three, agent_state
    # Three participants, and each page still finds the right party among them.
    assert agent_state["customerName"] == dict(scene.parties)["customer"], agent_state
    await expect(customer.locator("#agent-name")).to_have_text(dict(scene.parties)["agent"])
    await wait_for_tone(customer, scene.pages.customer_log, scene.supervisor_audio)
    await customer.screenshot(path=artifacts / "monitor-barge-customer.png")
    await agent.screenshot(path=artifacts / "monitor-barge-agent.png")
    await customer.locator(".lang-switch button[data-lang='en']").click()
    await expect(label).to_contain_text(f"Supervisor {SUPERVISOR} joined the call")


async def back_to_listen(scene: Scene) -> None:
    """The label goes from the customer's page; the agent's banner says listening again."""
    await scene.supervisor.set_monitor_mode("listen")
    await expect(scene.pages.customer.locator("#parties")).to_be_hidden(timeout=SHOWN_WITHIN_MS)
    await customer_knows_nothing(scene)
    state = await agent_is_told(scene, "listen", f"{SUPERVISOR} (supervisor) is listening")
    assert all(p["role"] != "supervisor" for p in state["participants"]), state


async def stop_then_end_the_call(scene: Scene) -> None:
    """The banner goes when the supervisor stops, and when the call ends while monitored."""
    agent, log = scene.pages.agent, scene.pages.agent_log
    banner = agent.locator("#monitors")
    await scene.supervisor.stop_monitoring()
    await expect(banner).to_be_hidden(timeout=SHOWN_WITHIN_MS)
    await wait_for(agent, log, "monitors", [])
    # The call ends with a supervisor on it: no monitor_updated comes, the banner goes anyway.
    await scene.supervisor.monitor_call(scene.call_id, "whisper")
    await expect(banner).to_contain_text("is whispering to you", timeout=SHOWN_WITHIN_MS)
    await agent.locator("#hangup").click()
    await expect(agent.locator("#summary")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    await wait_for(agent, log, "monitors", [])
    await expect(banner).to_be_hidden()


# -- the test ---------------------------------------------------------------------


async def test_agent_sees_every_mode_and_the_customer_only_a_barge(
    open_pages: PagesFactory, artifacts: Path
) -> None:
    pages = await open_pages(customer_locale="bn-BD")
    await start_voice_call(pages)
    agent_state = await page_state(pages.agent)
    parties = roles(await page_state(pages.customer))
    assert [role for role, _ in parties] == ["agent", "customer"], parties
    scene = Scene(
        pages,
        call_id=agent_state["callId"],
        parties=parties,
        agent_pid=agent_state["participantId"],
        supervisor=await signed_in_supervisor(pages),
    )
    await listen(scene)
    await whisper(scene)
    await barge(scene, artifacts)
    await back_to_listen(scene)
    await stop_then_end_the_call(scene)


async def signed_in_supervisor(pages: Pages) -> KothaClient:
    """A supervisor, signed in, whose microphone plays 880 Hz (not monitoring yet)."""
    server = pages.server
    supervisor = server.client(
        server.token(Role.SUPERVISOR, SUPERVISOR),
        sources={SourceKind.MICROPHONE: ToneTrack(SUPERVISOR_HZ)},
    )
    await supervisor.connect()
    return supervisor
