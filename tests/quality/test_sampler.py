"""The sampler on a real call between aiortc peers: a clean line measures as clean.

Guards, one second per sample, both parties, both directions:
- the customer's microphone arrives at about 50 packets a second with no loss, little
  jitter and a voice's bitrate; their camera at its frame rate and size, without freezes;
- what each party receives is measured from their receiver reports: no loss, a loopback
  round trip, and a MOS of a clean link (about 4.4);
- a participant who stops sending shows 0 packets the next second.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from callcenter.in_call import party_of
from quality.meter import StreamMeter
from quality.sample import Direction, StreamSample
from quality.sampler import CallSampler
from tests.conftest import Server, connect_call
from tests.support import participant_media


def pick(samples: list[StreamSample], role: str, direction: Direction, source: str) -> StreamSample:
    found = [
        s for s in samples if s.role == role and s.direction is direction and s.source == source
    ]
    assert len(found) == 1, f"{role} {direction} {source}: {samples}"
    return found[0]


async def test_a_clean_call_measures_as_clean(server: Server) -> None:
    pair = await connect_call(
        server,
        media="video",
        customer_sources=participant_media(440, camera=(320, 240)),
        agent_sources=participant_media(660),
    )
    call = server.switchboard.calls[pair.call_id]
    room = server.switchboard.room(pair.call_id)
    meter = StreamMeter()
    room.router.add_tap(meter.on_frame)

    def role_of(participant_id: str) -> str:
        participant = party_of(call, participant_id)
        return participant.role if participant else "participant"

    sampler = CallSampler(role_of)
    history: list[list[StreamSample]] = []
    times: list[float] = []
    for _ in range(6):
        times.append(time.time())
        history.append(sampler.sample(room.peers(), meter.take(), times[-1]))
        await asyncio.sleep(1.0)
    last = history[-1]

    def packets_flow(role: str, direction: Direction, source: str) -> None:
        """Packets in every second, and 50 a second (20 ms Opus) over the samples' own span.

        The span is measured, not assumed: a loaded machine stretches a sleep(1.0).
        """
        samples = [pick(h, role, direction, source) for h in history[2:]]
        assert all(s.packets > 0 for s in samples), samples
        expected = 50 * (times[-1] - times[1])
        assert sum(s.packets for s in samples) == pytest.approx(expected, rel=0.15), samples

    mic = pick(last, "customer", Direction.INBOUND, "microphone")
    packets_flow("customer", Direction.INBOUND, "microphone")
    assert mic.loss_pct == 0
    assert mic.jitter_ms is not None and mic.jitter_ms < 15, mic
    assert mic.bitrate_kbps is not None and 5 < mic.bitrate_kbps < 200, mic

    camera = pick(last, "customer", Direction.INBOUND, "camera")
    assert (camera.width, camera.height) == (320, 240), camera
    assert camera.frame_rate is not None and camera.frame_rate > 5, camera
    assert camera.freezes == 0, camera

    for role in ("customer", "agent"):
        heard = pick(last, role, Direction.OUTBOUND, "audio")
        packets_flow(role, Direction.OUTBOUND, "audio")
        assert heard.loss_pct == 0, heard
        assert heard.rtt_ms is not None and 0 < heard.rtt_ms < 100, heard
        assert heard.mos == pytest.approx(4.4, abs=0.1), heard
        spoken = pick(last, role, Direction.INBOUND, "microphone")
        assert spoken.mos == pytest.approx(4.4, abs=0.1), spoken

    # The agent's connection goes away: the next second shows nothing from them.
    await pair.agent.close()
    sampler.sample(room.peers(), meter.take(), time.time())  # packets already on their way
    await asyncio.sleep(1.0)
    after = sampler.sample(room.peers(), meter.take(), time.time())
    quiet = [s for s in after if s.role == "agent" and s.source == "microphone"]
    assert quiet and all(s.packets == 0 for s in quiet), after
