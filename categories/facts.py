"""What the categories of a call are decided from: the facts of the call, one type each.

The server turns its own events (a final utterance, a closed talk spurt, a
quality alert, the recording paused and resumed, the customer put on hold and
taken off it, its one-second clock) into these plain values, so the rules know
nothing of sockets, recognisers or aiortc, and a stored call's timeline can be
turned into the same values to evaluate it again. Times are on the call clock,
in ms since the call started.

Each fact is *known* at a moment of its own (an utterance when it ends, a
talk spurt when it closes): ``known_ms``. Fed live, facts arrive in that order;
evaluated after the call, they are put in that order first, which is why the
two give the same categories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Utterance:
    """A final (redacted) utterance, with its sentiment."""

    role: str  # agent, customer or supervisor
    text: str
    start_ms: int
    end_ms: int
    score: float | None = None  # -1..1; None when the language is not scored
    label: str = "not_supported"  # positive, negative, neutral or not_supported

    @property
    def known_ms(self) -> int:
        return self.end_ms

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Utterance:
        """From an utterance as the timeline keeps it (``transcribe.utterance.Utterance``)."""
        sentiment = data.get("sentiment") or {}
        score = sentiment.get("score")
        return cls(
            role=str(data["role"]),
            text=str(data.get("text", "")),
            start_ms=int(data["start_ms"]),
            end_ms=int(data["end_ms"]),
            score=float(score) if isinstance(score, int | float) else None,
            label=str(sentiment.get("label", "not_supported")),
        )


@dataclass(frozen=True, slots=True)
class Talk:
    """A party talked from ``start_ms`` to ``end_ms`` (a closed talk spurt)."""

    role: str
    start_ms: int
    end_ms: int

    @property
    def known_ms(self) -> int:
        return self.end_ms


@dataclass(frozen=True, slots=True)
class QualityAlert:
    """A quality alert fired on ``role``'s line (``kind``: "loss" or "high_loss" alike)."""

    kind: str
    role: str
    at_ms: int
    message: str = ""

    @property
    def known_ms(self) -> int:
        return self.at_ms

    @classmethod
    def from_wire(cls, data: Mapping[str, Any], at_ms: int) -> QualityAlert:
        """From an alert as the timeline keeps it (``quality.alerts.Alert.to_wire``), fired
        at ``at_ms``."""
        return cls(
            kind=str(data["kind"]),
            role=str(data["role"]),
            at_ms=at_ms,
            message=str(data.get("message", "")),
        )

    @property
    def short_kind(self) -> str:
        """The kind as rules name it: ``quality.alerts.AlertKind`` without high_/low_."""
        return self.kind.removeprefix("high_").removeprefix("low_")


@dataclass(frozen=True, slots=True)
class Stretch:
    """A stretch of the call from ``start_ms``; ``end_ms`` None: still going on (feed the
    same stretch again with its end when it ends). Known at its start, then at its end."""

    start_ms: int
    end_ms: int | None = None

    @property
    def known_ms(self) -> int:
        return self.start_ms if self.end_ms is None else self.end_ms


@dataclass(frozen=True, slots=True)
class Pause(Stretch):
    """The recording was paused (card details, say) from ``start_ms`` to ``end_ms``."""


@dataclass(frozen=True, slots=True)
class Hold(Stretch):
    """The agent had the customer on hold from ``start_ms`` to ``end_ms`` (the parties did
    not hear each other; the recording went on)."""


@dataclass(frozen=True, slots=True)
class Tick:
    """The call clock reached ``now_ms`` (so a silence or a missing phrase can match with
    nothing new said). ``talking``: the roles whose talk spurt is open now; a silence is
    not declared while someone talks, however long their spurt."""

    now_ms: int
    talking: frozenset[str] = field(default=frozenset())

    @property
    def known_ms(self) -> int:
        return self.now_ms


Fact = Utterance | Talk | QualityAlert | Pause | Hold | Tick
