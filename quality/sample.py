"""One second of one stream's quality, as the sampler measured it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum, unique
from typing import Any


@unique
class Direction(StrEnum):
    """Which way the media goes, seen from the participant's connection."""

    INBOUND = "inbound"  # from the participant to the server (their microphone, their upload)
    OUTBOUND = "outbound"  # from the server to the participant (what they hear and see)


@dataclass(frozen=True, slots=True)
class StreamSample:
    """A participant's stream over the last second.

    ``None`` means not measured (yet): for example the round-trip time before
    the participant's first receiver report, or loss on a second with no
    packets expected.
    """

    participant_id: str
    role: str
    direction: Direction
    kind: str  # "audio" or "video"
    source: str  # inbound: "microphone", "camera" or "screen"; outbound: "audio" or "video"
    at: float  # Unix time of the sample
    packets: int  # packets that arrived (inbound) or were sent (outbound) in the second
    loss_pct: float | None = None
    jitter_ms: float | None = None
    rtt_ms: float | None = None
    bitrate_kbps: float | None = None
    mos: float | None = None
    frame_rate: float | None = None
    width: int | None = None
    height: int | None = None
    freezes: int | None = None  # video freezes in the second

    def to_wire(self) -> dict[str, Any]:
        """The sample for JSON, without the fields that do not apply."""
        return {k: v for k, v in asdict(self).items() if v is not None}
