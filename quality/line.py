"""How one speaker's line was while they said something: the figures an utterance carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LineQuality:
    """A microphone's connection to the server over a stretch of time; the worst second counts.

    ``None`` figures were not measured then.
    """

    mos: float | None
    loss_pct: float | None
    jitter_ms: float | None
    rating: str  # good, fair, poor or unknown (the live view's bands)
    samples: int  # one-second samples it was judged on

    def to_wire(self) -> dict[str, Any]:
        return {
            "mos": self.mos,
            "loss_pct": self.loss_pct,
            "jitter_ms": self.jitter_ms,
            "rating": self.rating,
            "samples": self.samples,
        }
