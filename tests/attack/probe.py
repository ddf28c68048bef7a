"""A real call beside an attack, and what it measures: audio frames and /healthz latency.

:class:`CallProbe` makes one call the way a shop does (``POST /api/calls``): a
customer and an agent who each play a tone (what the agent hears is measured),
both :class:`KothaClient` peers in the test's process on 127.0.0.1. While an attack runs,
:meth:`CallProbe.measure` records when each audio frame reached the agent and
polls ``/healthz`` every 200 ms, then sums it up as a :class:`ProbeSummary`:
the fewest frames in any whole second (20 ms Opus frames: 50 a second), the
longest gap between two frames, and the health check's latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from callcenter.identity import Role
from client.participant import KothaClient
from media.source import SourceKey, SourceKind
from node.events import NAMESPACE
from tests.attack.server import API_KEY, ServerProcess
from tests.support import ToneTrack

MIN_FPS = 45.0
MAX_GAP_MS = 200.0
HEALTHZ_EVERY_S = 0.2
MIN_WINDOW_S = 3.0  # whole seconds of audio to count, however soon the attack is over
HEALTHZ_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class ProbeSummary:
    """The call and the health check over one measured window."""

    seconds: float
    frames: int
    fps_min: float
    fps_mean: float
    fps_by_second: list[int]
    longest_gap_ms: float
    healthz_polls: int
    healthz_failures: int
    healthz_max_ms: float
    healthz_p95_ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def problems(self) -> list[str]:
        """What falls short of the issue's rule (>= 45 frames/s, no gap over 200 ms)."""
        found = []
        if self.fps_min < MIN_FPS:
            found.append(f"the call fell to {self.fps_min:.0f} frames/s (needs >= {MIN_FPS:.0f})")
        if self.longest_gap_ms > MAX_GAP_MS:
            found.append(
                f"the call's audio stopped for {self.longest_gap_ms:.0f} ms "
                f"(at most {MAX_GAP_MS:.0f})"
            )
        if self.healthz_failures:
            found.append(f"/healthz failed {self.healthz_failures} of {self.healthz_polls} times")
        return found


@dataclass
class _Window:
    start: float
    end: float | None = None
    healthz_ms: list[float] = field(default_factory=list)
    healthz_failures: int = 0


class CallProbe:
    """One customer-agent call with audio flowing, to measure while something else happens."""

    def __init__(self, server: ServerProcess, *, tone_hz: float = 440.0) -> None:
        self.server = server
        self.tone_hz = tone_hz
        self.call_id = ""
        self.customer: KothaClient | None = None
        self.agent: KothaClient | None = None
        self.arrivals: list[float] = []  # perf_counter() of each audio frame the agent got
        self.disconnected_at: dict[str, float] = {}  # perf_counter() when each socket closed
        self._both_disconnected = asyncio.Event()
        self._listeners: set[asyncio.Task[None]] = set()

    async def start(self, timeout: float = 20.0) -> None:
        """Make the call, join both sides and wait until the agent hears the customer."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                self.server.url + "/api/calls",
                json={"customer": {"id": "probe-customer", "name": "Karim"}, "language": "bn"},
                headers={"X-API-Key": API_KEY},
            ) as response,
        ):
            assert response.status == 201, await response.text()
            created = await response.json()
        self.call_id = created["call_id"]
        self.customer = KothaClient(
            self.server.url,
            created["token"],
            sources={SourceKind.MICROPHONE: ToneTrack(self.tone_hz)},
        )
        self.agent = KothaClient(
            self.server.url,
            self.server.token(Role.AGENT, "probe-agent"),
            sources={SourceKind.MICROPHONE: ToneTrack(self.tone_hz * 1.5)},
            on_track=self._on_track,
        )
        for name, client in (("customer", self.customer), ("agent", self.agent)):
            client.sio.on("disconnect", self._disconnect_recorder(name), namespace=NAMESPACE)
        await self.customer.connect()
        await self.agent.connect()
        await self.customer.request_call()
        await self.agent.set_availability("available")
        await self.agent.accept_call(self.call_id)
        await asyncio.gather(self.customer.join_call(self.call_id), self.agent.join_call())
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < 50:  # a second of audio: the jitter buffer has filled
            assert time.monotonic() < deadline, "the probe call's audio never started"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for client in (self.customer, self.agent):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close()
        for task in list(self._listeners):
            task.cancel()
        await asyncio.gather(*self._listeners, return_exceptions=True)

    async def wait_disconnected(self, timeout: float) -> bool:
        """Wait until both the customer's and the agent's sockets have closed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._both_disconnected.wait(), timeout)
        return self._both_disconnected.is_set()

    @contextlib.asynccontextmanager
    async def measure(self, at_least_s: float = MIN_WINDOW_S) -> AsyncIterator[ProbeResult]:
        """Measure the call and /healthz while the block runs; read ``.summary`` after it.

        The window lasts ``at_least_s`` even when the block ends sooner (an attack a
        fixed server refuses at once): what follows an attack is measured too.
        """
        window = _Window(time.perf_counter())
        result = ProbeResult()
        poller = asyncio.get_running_loop().create_task(self._poll_health(window))
        try:
            yield result
            remaining = window.start + at_least_s - time.perf_counter()
            if remaining > 0:
                await asyncio.sleep(remaining)
        finally:
            window.end = time.perf_counter()
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            result.summary = self._summarise(window)

    # -- internals -------------------------------------------------------

    def _on_track(self, key: SourceKey, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            task = asyncio.get_running_loop().create_task(self._listen(track))
            self._listeners.add(task)
            task.add_done_callback(self._listeners.discard)

    async def _listen(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.arrivals.append(time.perf_counter())

    def _disconnect_recorder(self, name: str) -> Any:
        async def record(*_: Any) -> None:
            self.disconnected_at.setdefault(name, time.perf_counter())
            if len(self.disconnected_at) == 2:
                self._both_disconnected.set()

        return record

    async def _poll_health(self, window: _Window) -> None:
        timeout = aiohttp.ClientTimeout(total=HEALTHZ_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                started = time.perf_counter()
                try:
                    async with session.get(self.server.url + "/healthz") as response:
                        await response.read()
                        if response.status != 200:
                            window.healthz_failures += 1
                except (aiohttp.ClientError, OSError, TimeoutError):
                    window.healthz_failures += 1
                took = time.perf_counter() - started
                window.healthz_ms.append(took * 1000)
                await asyncio.sleep(max(0.0, HEALTHZ_EVERY_S - took))

    def _summarise(self, window: _Window) -> ProbeSummary:
        assert window.end is not None
        start, end = window.start, window.end
        times = [t for t in self.arrivals if start <= t <= end]
        edges = [start, *times, end]
        gaps = np.diff(edges) if len(edges) > 1 else np.array([end - start])
        whole = int(end - start)
        counts = np.histogram(times, bins=whole, range=(start, start + whole))[0] if whole else []
        by_second = [int(c) for c in counts]
        healthz = window.healthz_ms or [0.0]
        return ProbeSummary(
            seconds=round(end - start, 2),
            frames=len(times),
            fps_min=float(min(by_second, default=len(times) / max(end - start, 1e-3))),
            fps_mean=round(len(times) / max(end - start, 1e-3), 1),
            fps_by_second=by_second,
            longest_gap_ms=round(float(gaps.max()) * 1000, 1),
            healthz_polls=len(window.healthz_ms),
            healthz_failures=window.healthz_failures,
            healthz_max_ms=round(max(healthz), 1),
            healthz_p95_ms=round(float(np.percentile(healthz, 95)), 1),
        )


@dataclass
class ProbeResult:
    """Filled in when :meth:`CallProbe.measure`'s block ends."""

    summary: ProbeSummary | None = None

    def get(self) -> ProbeSummary:
        assert self.summary is not None, "read the summary after the measured block"
        return self.summary
