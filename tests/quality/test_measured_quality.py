"""What the agent is shown matches what the network did, and alerts fire only when it is bad.

A user-space relay (tests/impairment.py) sits between the customer's aiortc peer and the
server and drops, delays or jitters their packets; the figures checked are the ones kotha's
own sampler produces every second (the samples behind `quality_updated`), not aiortc's.

Guards:
- at 0, 2, 5 and 10 % loss on the customer's uplink, the loss measured over 5 s is within
  1.5 percentage points of what the relay applied; 10 % fires the high-loss alert, and a
  clean link fires no alert at all;
- extra random delay on the uplink: the measured jitter is within 10 ms of the RFC 3550
  jitter the relay applied; heavy jitter fires the high-jitter alert;
- 100 ms of delay towards the customer shows in their round trip within 20 ms of the
  clean agent's plus 100; a 500 ms delay fires the high-RTT alert.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from node.events import ServerEvent
from quality.alerts import AlertChange
from quality.sample import Direction, StreamSample
from tests.conftest import Pair, Server
from tests.impairment import ImpairedLink, Impairment, impaired_call
from tests.support import participant_media

WINDOW_S = 5


@dataclass
class Watch:
    """Every sample and alert change of the call, as the quality monitor produced them."""

    samples: list[StreamSample] = field(default_factory=list)
    changes: list[AlertChange] = field(default_factory=list)

    def of(self, role: str, direction: Direction, source: str) -> list[StreamSample]:
        return [
            s
            for s in self.samples
            if s.role == role and s.direction is direction and s.source == source
        ]

    def fired(self) -> set[tuple[str, str]]:
        return {(c.alert.role, c.alert.kind.value) for c in self.changes if c.active}


@asynccontextmanager
async def watched_call(
    server: Server, customer: ImpairedLink, agent: ImpairedLink | None = None
) -> AsyncIterator[tuple[Pair, Watch]]:
    watch = Watch()

    def listen(call_id: str, samples: list[StreamSample], changes: list[AlertChange]) -> None:
        watch.samples += samples
        watch.changes += changes

    server.switchboard.quality.listeners.append(listen)
    async with impaired_call(
        server,
        customer=customer,
        agent=agent,
        customer_sources=participant_media(440),
        agent_sources=participant_media(660),
    ) as call:
        # Media flowing both ways, and a round trip known, before anything is judged.
        await call.pair.agent.wait_for(
            ServerEvent.QUALITY_UPDATED,
            lambda v: len(v["participants"]) == 2 and all(p["mos"] for p in v["participants"]),
            timeout=15,
        )
        watch.samples.clear()
        yield call.pair, watch


@pytest.mark.parametrize("loss", [0.0, 0.02, 0.05, 0.10])
async def test_measured_loss_matches_what_the_network_lost(server: Server, loss: float) -> None:
    link = ImpairedLink(seed=7)
    async with watched_call(server, link) as (_pair, watch):
        watch.changes.clear()
        link.upstream.loss = loss
        await asyncio.sleep(1.0)  # the second in which loss started is a mixed one
        start = len(watch.samples)
        relay_before = {ssrc: s.copy() for ssrc, s in link.upstream.snapshot().items()}
        await asyncio.sleep(WINDOW_S + 0.2)
        seconds = [
            s
            for s in watch.samples[start:]
            if s.role == "customer" and s.direction is Direction.INBOUND
        ][:WINDOW_S]
        relay_after = link.upstream.snapshot()

    assert len(seconds) == WINDOW_S, seconds
    lost = sum(s.packets * (s.loss_pct or 0) / (100 - (s.loss_pct or 0)) for s in seconds)
    arrived = sum(s.packets for s in seconds)
    measured = 100 * lost / (lost + arrived)
    # The relay's own count over (about) the same seconds.
    applied_counts = [stream.since(relay_before.get(ssrc)) for ssrc, stream in relay_after.items()]
    audio = max(applied_counts, key=lambda c: c.received)
    applied = 100 * audio.dropped / audio.received
    print(f"loss {loss:.0%}: relay applied {applied:.2f} %, kotha measured {measured:.2f} %")
    assert abs(measured - applied) <= 1.5, (measured, applied)
    fired = watch.fired()
    if loss >= 0.10:
        assert ("customer", "high_loss") in fired, fired
    if loss == 0:
        assert fired == set(), f"alerts on a clean link: {fired}"


async def test_measured_jitter_matches_what_the_network_added(server: Server) -> None:
    link = ImpairedLink(seed=11)
    async with watched_call(server, link) as (pair, watch):
        link.upstream.jitter_ms = 30
        await asyncio.sleep(3.0)  # both estimators move 1/16 of the way per packet
        gaps = []
        for _ in range(4):
            await asyncio.sleep(1.0)
            mic = watch.of("customer", Direction.INBOUND, "microphone")[-1]
            applied = max(s.applied_jitter_ms for s in link.upstream.snapshot().values())
            assert mic.jitter_ms is not None
            gaps.append(mic.jitter_ms - applied)
            print(f"jitter: relay applied {applied:.1f} ms, kotha measured {mic.jitter_ms:.1f} ms")
        assert applied > 10, "too little jitter applied for the comparison to mean anything"
        assert max(map(abs, gaps)) <= 10, gaps

        # Heavy jitter (more than 30 ms, as RFC 3550 counts it): the alert fires.
        link.upstream.jitter_ms = 200
        await pair.agent.wait_for(
            ServerEvent.QUALITY_ALERT,
            lambda p: p["alert"]["kind"] == "high_jitter" and p["active"],
            timeout=15,
        )


async def test_added_delay_shows_in_the_round_trip(server: Server) -> None:
    customer = ImpairedLink(downstream=Impairment(delay_ms=100), seed=3)
    async with watched_call(server, customer, agent=ImpairedLink(seed=4)) as (_pair, watch):
        await asyncio.sleep(3.0)
        customer_rtt = [s.rtt_ms for s in watch.of("customer", Direction.OUTBOUND, "audio")]
        agent_rtt = [s.rtt_ms for s in watch.of("agent", Direction.OUTBOUND, "audio")]
    added = statistics.median(c for c in customer_rtt if c) - statistics.median(
        a for a in agent_rtt if a
    )
    print(f"round trip: customer {customer_rtt}, agent {agent_rtt}")
    assert added == pytest.approx(100, abs=20), (customer_rtt, agent_rtt)


async def test_a_slow_line_fires_the_round_trip_alert(server: Server) -> None:
    customer = ImpairedLink(downstream=Impairment(delay_ms=500), seed=5)
    async with watched_call(server, customer) as (pair, _watch):
        alert = await pair.agent.wait_for(
            ServerEvent.QUALITY_ALERT,
            lambda p: p["alert"]["kind"] == "high_rtt" and p["active"],
            timeout=10,
        )
    assert alert["alert"]["role"] == "customer"
    assert "round trip" in alert["alert"]["message"]
