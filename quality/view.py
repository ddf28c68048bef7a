"""A call's live quality as the agent and the supervisors see it: each party, in words.

Built once a tick by the call's monitor; ``to_wire()`` is what the consoles are
sent (``quality_updated``), ``to_chart()`` what a supervisor's charts keep of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .alerts import Alert
from .sample import Direction, StreamSample

# What a quality chart draws of a voice's figures.
CHART_FIGURES = ("packets", "loss_pct", "jitter_ms", "rtt_ms", "mos")


@dataclass(frozen=True, slots=True)
class PartyQuality:
    """One party's connection this second: the voice's rating, the video's, every stream."""

    participant_id: str
    role: str
    name: str
    mos: float | None  # the voice's, the worse way
    rating: str  # the voice's: good, fair, poor or unknown
    reason: str  # why, in words ("" when good)
    suggestion: str  # what to do about a poor line, in words for the agent
    video: dict[str, str] | None  # {"rating", "reason"}; None without video either way
    samples: tuple[StreamSample, ...]
    reported: dict[str, Any] | None  # the party's page's own figures (and "at"), if recent

    def stream(self, direction: Direction, source: str) -> StreamSample | None:
        return next(
            (s for s in self.samples if s.direction is direction and s.source == source), None
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "role": self.role,
            "name": self.name,
            "mos": self.mos,
            "rating": self.rating,
            "reason": self.reason,
            "suggestion": self.suggestion,
            "video": self.video,
            "inbound": self._streams(Direction.INBOUND),
            "outbound": self._streams(Direction.OUTBOUND),
            "reported": self.reported,
        }

    def to_chart(self) -> dict[str, Any]:
        microphone = self.stream(Direction.INBOUND, "microphone")
        heard = self.stream(Direction.OUTBOUND, "audio")
        return {
            "participant_id": self.participant_id,
            "role": self.role,
            "name": self.name,
            "mos": self.mos,
            "rating": self.rating,
            "reason": self.reason,
            "inbound": {"microphone": _figures(microphone)},
            "outbound": {"audio": _figures(heard)},
        }

    def _streams(self, direction: Direction) -> dict[str, dict[str, Any]]:
        return {s.source: s.to_wire() for s in self.samples if s.direction is direction}


@dataclass(frozen=True, slots=True)
class QualityView:
    """The live quality of a call at ``at`` (Unix time)."""

    call_id: str
    at: float
    parties: tuple[PartyQuality, ...]
    alerts: tuple[Alert, ...]  # active, one per trouble

    def to_wire(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "at": self.at,
            "participants": [party.to_wire() for party in self.parties],
            "alerts": [alert.to_wire() for alert in self.alerts],
        }

    def to_chart(self) -> dict[str, Any]:
        """The view with only what a quality chart draws: rating, MOS and the voice's figures."""
        return {
            "call_id": self.call_id,
            "at": self.at,
            "participants": [party.to_chart() for party in self.parties],
            "alerts": [],
        }


def _figures(sample: StreamSample | None) -> dict[str, Any]:
    if sample is None:
        return {}
    wire = sample.to_wire()
    return {k: wire[k] for k in CHART_FIGURES if k in wire}
