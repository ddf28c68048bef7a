"""Once a second, each participant's connection in figures: both directions, every medium.

Inbound (what the participant sends us) comes from the server's receivers:
loss from the change in packets expected and received since the last
sample (running totals would hide a bad second in a long good call),
jitter as aiortc measures it (RTP clock units, divided by the clock rate).
Outbound (what the participant gets) comes from their RTCP receiver
reports on the server's senders: loss over the report's interval, their
jitter, and the round-trip time aiortc derives from the reports. The
round trip is the participant's, so it counts for both directions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from media.aiortc_compat import ReceiveCounters, SendCounters
from media.clock import CLOCK_RATES
from media.peer import SlotCounters, SlotDirection
from media.source import SourceKey

from .meter import StreamCounts
from .mos import mos
from .sample import Direction, StreamSample


class HasCounters(Protocol):
    """What the sampler needs of a peer (media.peer.Peer has it)."""

    def rtp_counters(self) -> list[SlotCounters]: ...


@dataclass(frozen=True, slots=True)
class _Moment:
    """Who is being sampled, and when."""

    participant_id: str
    role: str
    now: float
    elapsed: float
    rtt_ms: float | None


@dataclass(slots=True)
class _Outbound:
    packets: int = 0
    bytes: int = 0
    loss: float | None = None
    jitter: float | None = None


class CallSampler:
    """Turns one call's running totals into samples; keeps what the next deltas need."""

    def __init__(self, role_of: Callable[[str], str]) -> None:
        self._role_of = role_of
        self._received: dict[tuple[str, SourceKey, int], ReceiveCounters] = {}
        self._sent: dict[tuple[str, SourceKey], SendCounters] = {}
        self._last_at: float | None = None

    def sample(
        self,
        peers: Mapping[str, HasCounters],
        counts: Mapping[SourceKey, StreamCounts],
        now: float,
    ) -> list[StreamSample]:
        elapsed = 1.0 if self._last_at is None else max(1e-3, now - self._last_at)
        self._last_at = now
        samples: list[StreamSample] = []
        for participant_id, peer in peers.items():
            role = self._role_of(participant_id)
            slots = peer.rtp_counters()
            rtts = [s.sent.round_trip_s for s in slots if s.sent and s.sent.round_trip_s]
            rtt_ms = 1000 * sum(rtts) / len(rtts) if rtts else None
            moment = _Moment(participant_id, role, now, elapsed, rtt_ms)
            outbound: dict[str, _Outbound] = {}
            for slot in slots:
                if slot.direction is SlotDirection.PUBLISH and slot.received is not None:
                    samples.append(self._inbound(moment, slot, counts.get(slot.key)))
                elif slot.sent is not None:
                    self._add_outbound(
                        participant_id, slot, outbound.setdefault(slot.kind, _Outbound())
                    )
            samples += [_outbound(moment, kind, out) for kind, out in outbound.items()]
        return samples

    def forget(self, participant_id: str) -> None:
        for received in [k for k in self._received if k[0] == participant_id]:
            del self._received[received]
        for sent in [k for k in self._sent if k[0] == participant_id]:
            del self._sent[sent]

    def _inbound(
        self, moment: _Moment, slot: SlotCounters, counts: StreamCounts | None
    ) -> StreamSample:
        participant_id, elapsed, rtt_ms = moment.participant_id, moment.elapsed, moment.rtt_ms
        received = expected = 0
        jitter_ms: float | None = None
        for stream in slot.received or []:
            key = (participant_id, slot.key, stream.ssrc)
            before = self._received.get(key)
            self._received[key] = stream
            received += stream.packets_received - (before.packets_received if before else 0)
            expected += stream.packets_expected - (before.packets_expected if before else 0)
            jitter = 1000 * stream.jitter / stream.clock_rate
            jitter_ms = jitter if jitter_ms is None else max(jitter_ms, jitter)
        loss = 100 * max(0, expected - received) / expected if expected > 0 else None
        audio = slot.kind == "audio"
        video = counts is not None and not audio
        return StreamSample(
            participant_id,
            moment.role,
            Direction.INBOUND,
            slot.kind,
            str(slot.key.source),
            moment.now,
            packets=max(0, received),
            loss_pct=loss,
            jitter_ms=jitter_ms,
            rtt_ms=rtt_ms,
            bitrate_kbps=None if counts is None else counts.bytes * 8 / elapsed / 1000,
            mos=_mos(rtt_ms, jitter_ms, loss) if audio else None,
            frame_rate=counts.frames / elapsed if video and counts else None,
            width=counts.width if video and counts else None,
            height=counts.height if video and counts else None,
            freezes=counts.freezes if video and counts else None,
        )

    def _add_outbound(self, participant_id: str, slot: SlotCounters, out: _Outbound) -> None:
        sent = slot.sent
        assert sent is not None
        key = (participant_id, slot.key)
        before = self._sent.get(key)
        self._sent[key] = sent
        out.packets += sent.packets_sent - (before.packets_sent if before else 0)
        out.bytes += sent.bytes_sent - (before.bytes_sent if before else 0)
        if sent.reported_loss_fraction is not None:
            out.loss = max(out.loss or 0.0, 100 * sent.reported_loss_fraction)
        if sent.reported_jitter is not None:
            jitter = 1000 * sent.reported_jitter / CLOCK_RATES[slot.kind]
            out.jitter = max(out.jitter or 0.0, jitter)


def _outbound(moment: _Moment, kind: str, out: _Outbound) -> StreamSample:
    """What the participant received of one medium, from all who send it to them."""
    return StreamSample(
        moment.participant_id,
        moment.role,
        Direction.OUTBOUND,
        kind,
        kind,
        moment.now,
        packets=max(0, out.packets),
        loss_pct=out.loss,
        jitter_ms=out.jitter,
        rtt_ms=moment.rtt_ms,
        bitrate_kbps=max(0, out.bytes) * 8 / moment.elapsed / 1000,
        mos=_mos(moment.rtt_ms, out.jitter, out.loss) if kind == "audio" else None,
    )


def _mos(rtt_ms: float | None, jitter_ms: float | None, loss_pct: float | None) -> float | None:
    """MOS once every figure is known (before the first receiver report, RTT is not)."""
    if rtt_ms is None or jitter_ms is None or loss_pct is None:
        return None
    return round(mos(rtt_ms, jitter_ms, loss_pct), 2)
