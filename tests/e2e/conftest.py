"""Fixtures of the browser tests: WAV microphones, headless Chromium, page logs.

Each browser gets its own fake microphone (a WAV file), so what one page
measures can only have come from the other page through the server.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.conftest import Server, ServerFactory

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# The pages import socket.io-client from here; `make setup` puts it there.
SOCKET_IO_CLIENT = ROOT / "web" / "vendor" / "socket.io.esm.min.js"
SAMPLE_RATE = 48000

# Sentences for the customer's fake microphone, spoken back to back.
CUSTOMER_SPEECH = (
    "Hello, I need help with my order. The parcel has not arrived yet. "
    "Can you tell me where it is? I paid with bKash last Tuesday."
)


def chromium_args(microphone: Path) -> list[str]:
    """Flags for headless Chromium in a call; each one says why it is needed."""
    return [
        # Runs as root in a container, where Chromium's sandbox cannot start.
        "--no-sandbox",
        # No GPU here; without this Chromium probes for one and logs errors.
        "--disable-gpu",
        # No traffic to Google services (the machine has no such network).
        "--disable-background-networking",
        # Grant getUserMedia without a prompt (there is nobody to click it).
        "--use-fake-ui-for-media-stream",
        # A synthetic camera and a microphone instead of real devices...
        "--use-fake-device-for-media-stream",
        # ...whose sound is this WAV file, looped.
        f"--use-file-for-fake-audio-capture={microphone}",
        # ICE, checked on this machine (eth0 192.0.2.2, the server on 127.0.0.1 only):
        # - Let WebRTC gather on the loopback interface, so the pair is
        #   127.0.0.1 <-> 127.0.0.1. Without it Chromium pairs 192.0.2.2 with the
        #   server's 127.0.0.1, which works only because Linux delivers traffic
        #   between local addresses over lo; in a network namespace with only lo
        #   Chromium would have no candidate at all.
        "--allow-loopback-in-peer-connection",
        # - Trickle host candidates as IP addresses instead of mDNS .local names.
        #   Not required (the server learns the browser's address as a
        #   peer-reflexive candidate from its checks, as it must for phones), but
        #   aioice would try to resolve each .local name over multicast, which
        #   cannot succeed in this sandbox.
        "--disable-features=WebRtcHideLocalIpsWithMdns",
    ]


def make_wav(path: Path, *sox_effects: str, source: list[str] | None = None) -> Path:
    """Write a 48 kHz mono 16-bit WAV with sox (from `source` or, without it, from silence)."""
    if shutil.which("sox") is None:
        pytest.fail("sox is not installed (apt-get install sox); the browser tests need it")
    command = ["sox", *(source or ["-n"]), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(path)]
    subprocess.run([*command, *sox_effects], check=True, capture_output=True)
    return path


@dataclass(frozen=True)
class Microphones:
    """The WAV files the two browsers hear as their microphones."""

    customer: Path
    """About 10 s of English speech (espeak-ng), loud, with short pauses only."""
    agent: Path
    """Digital silence: whatever the agent's page measures came from the customer."""


@pytest.fixture
def microphones(tmp_path: Path) -> Microphones:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng); browser tests need it")
    raw = tmp_path / "speech-raw.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en", "-s", "150", "-w", str(raw), CUSTOMER_SPEECH],
        check=True,
        capture_output=True,
    )
    # Resample to 48 kHz, shorten pauses longer than 0.3 s and normalise to
    # -3 dBFS, so the level the agent measures is high most of the time.
    speech = make_wav(
        tmp_path / "customer-speech.wav",
        *["silence", "-l", "1", "0.05", "1%", "-1", "0.3", "1%"],
        *["norm", "-3"],
        source=[str(raw)],
    )
    silence = make_wav(tmp_path / "agent-silence.wav", "trim", "0", "5")
    return Microphones(customer=speech, agent=silence)


async def page_state(page: Page) -> dict[str, Any]:
    """What a page says of itself for tests: ``window.kotha.state()`` (empty until it loads)."""
    state: dict[str, Any] | None = await page.evaluate("window.kotha && window.kotha.state()")
    return state or {}


async def poll_state(
    page: Page,
    log: PageLog,
    what: str,
    check: Callable[[dict[str, Any]], bool],
    timeout: float,
    *,
    every: float = 0.1,
) -> dict[str, Any]:
    """The page's state once ``check`` holds; fails with the state and the page's log."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = await page_state(page)
        if state and check(state):
            return state
        await asyncio.sleep(every)
    pytest.fail(
        f"{log.name} page: {what} did not happen within {timeout:.0f} s\n"
        f"state: {json.dumps(state, ensure_ascii=False)[:4000]}\n{log}"
    )


BrowserFactory = Callable[[Path], Awaitable[Browser]]


@pytest.fixture
def chromium() -> Path:
    """Chromium, once the pages it will load are built."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium); the browser tests need it")
    if not SOCKET_IO_CLIENT.exists():
        pytest.fail(
            f"{SOCKET_IO_CLIENT.relative_to(ROOT)} is missing: run `make setup` (npm ci --prefix "
            "web, then copy web/node_modules/socket.io-client/dist/socket.io.esm.min.js there)"
        )
    return CHROMIUM


@pytest.fixture
async def launch_browser(chromium: Path) -> AsyncIterator[BrowserFactory]:
    """Start headless Chromium processes, each with its own fake microphone."""
    async with async_playwright() as playwright:
        browsers: list[Browser] = []

        async def launch(microphone: Path) -> Browser:
            browser = await playwright.chromium.launch(
                executable_path=str(chromium), args=chromium_args(microphone), headless=True
            )
            browsers.append(browser)
            return browser

        yield launch
        for browser in browsers:
            await browser.close()


class PageLog:
    """What a page printed and threw, for failure messages."""

    def __init__(self, name: str, page: Page) -> None:
        self.name = name
        self.lines: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.lines.append(f"pageerror: {error}"))
        page.on("requestfailed", lambda r: self.lines.append(f"requestfailed: {r.url} {r.failure}"))

    def _console(self, message: ConsoleMessage) -> None:
        self.lines.append(f"console.{message.type}: {message.text}")

    def __str__(self) -> str:
        body = "\n".join(self.lines[-60:]) or "(nothing)"
        return f"--- {self.name} page log ---\n{body}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Keep each phase's report on the test item, so fixtures can tell a failed test."""
    report: pytest.TestReport = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@dataclass
class Pages:
    """The customer's and the agent's page, each in its own browser, and their logs."""

    server: Server
    customer: Page
    agent: Page
    customer_log: PageLog
    agent_log: PageLog

    def logs(self) -> str:
        return f"{self.customer_log}\n{self.agent_log}"


PagesFactory = Callable[..., Awaitable[Pages]]


@pytest.fixture
async def open_pages(
    start_server: ServerFactory,
    launch_browser: BrowserFactory,
    microphones: Microphones,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[PagesFactory]:
    """Start the server and two browsers; screenshots of both pages are kept at the end."""
    opened: list[Pages] = []

    async def open_(customer_locale: str = "en-US") -> Pages:
        server = await start_server()
        # The customer speaks into their microphone; the agent's is silent.
        customer = await _new_page(await launch_browser(microphones.customer), customer_locale)
        agent = await _new_page(await launch_browser(microphones.agent), "en-US")
        logs = PageLog("customer", customer), PageLog("agent", agent)
        pages = Pages(server, customer, agent, *logs)
        opened.append(pages)
        return pages

    yield open_
    for pages in opened:
        name = request.node.name.removeprefix("test_")
        await pages.customer.screenshot(path=artifacts / f"{name}-customer.png", full_page=True)
        await pages.agent.screenshot(path=artifacts / f"{name}-agent.png", full_page=True)
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            print(pages.logs())  # pytest shows it with the failure: the pages' own words


async def _new_page(browser: Browser, locale: str) -> Page:
    # A phone-sized window: the pages are meant for phones first.
    context = await browser.new_context(locale=locale, viewport={"width": 414, "height": 860})
    return await context.new_page()


def replay_args() -> list[str]:
    """The browser tests' Chromium flags without the fake camera and microphone (no calls here)."""
    return [
        arg
        for arg in chromium_args(Path("/dev/null"))
        if "media-stream" not in arg and "fake-audio" not in arg
    ]


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """Headless Chromium for the replay pages: no fake devices (no calls made in it)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=replay_args(), headless=True
        )
        yield browser
        await browser.close()
