"""The customer's mood over a call: now, its trend, and when a supervisor should look.

Single utterances are noisy ("no, that's fine" scores negative), so the
console shows a short recency-weighted average as "now" and compares it with
the earlier part of the call for the trend. A supervisor is alerted when the
customer stays negative (``streak`` negative utterances in a row) or the
mood falls by ``fall`` from where it was; the alert clears when the customer
says something that is not negative, so it fires again on the next episode
rather than once per utterance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum, unique
from typing import Any

from .sentiment import Sentiment, label_of

RECENT = 3  # utterances that make "now"
STEADY = 0.15  # a trend smaller than this is "steady"


@unique
class MoodAlertKind(StrEnum):
    NEGATIVE_STREAK = "negative_streak"
    FALLING = "falling"


@dataclass(frozen=True, slots=True)
class MoodAlert:
    kind: MoodAlertKind
    message: str
    active: bool

    def to_wire(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "message": self.message, "active": self.active}


@dataclass(slots=True)
class Mood:
    """One call's customer sentiment; ``add`` each final customer utterance's score."""

    streak: int = 2
    fall: float = 0.5
    scores: list[float] = field(default_factory=list)
    negative_run: int = 0
    active: set[MoodAlertKind] = field(default_factory=set)

    def add(self, sentiment: Sentiment) -> list[MoodAlert]:
        """Take an utterance's sentiment; the alerts that fired or cleared because of it."""
        if sentiment.score is None:
            return []
        self.scores.append(sentiment.score)
        self.negative_run = self.negative_run + 1 if sentiment.label == "negative" else 0
        changes: list[MoodAlert] = []
        negative = self.negative_run >= self.streak
        changes += self._set(
            MoodAlertKind.NEGATIVE_STREAK,
            negative,
            f"the customer has sounded negative {self.negative_run} times in a row",
        )
        trend = self.trend
        falling = trend is not None and trend <= -self.fall and (self.now or 0.0) < 0
        changes += self._set(
            MoodAlertKind.FALLING,
            falling,
            f"the customer's mood is falling ({trend:+.2f} since earlier in the call)"
            if trend is not None
            else "",
        )
        return changes

    @property
    def now(self) -> float | None:
        """Recency-weighted mean of the last few scores (the newest counts most)."""
        recent = self.scores[-RECENT:]
        if not recent:
            return None
        weights = range(1, len(recent) + 1)
        return sum(w * s for w, s in zip(weights, recent, strict=True)) / sum(weights)

    @property
    def trend(self) -> float | None:
        """How far "now" is from the mean of everything said before it (None: too early)."""
        earlier = self.scores[:-RECENT]
        now = self.now
        if not earlier or now is None:
            return None
        return now - sum(earlier) / len(earlier)

    def to_wire(self) -> dict[str, Any]:
        now, trend = self.now, self.trend
        return {
            "now": None if now is None else round(now, 3),
            "label": "unknown" if now is None else label_of(now),
            "trend": None if trend is None else round(trend, 3),
            "direction": _direction(trend),
            "scored": len(self.scores),
            "history": [round(s, 3) for s in self.scores[-50:]],
            "alerts": sorted(kind.value for kind in self.active),
        }

    def _set(self, kind: MoodAlertKind, on: bool, message: str) -> list[MoodAlert]:
        if on == (kind in self.active):
            return []
        if on:
            self.active.add(kind)
            return [MoodAlert(kind, message, True)]
        self.active.discard(kind)
        return [MoodAlert(kind, "the customer sounds better", False)]


def _direction(trend: float | None) -> str:
    if trend is None:
        return "unknown"
    if trend >= STEADY:
        return "rising"
    if trend <= -STEADY:
        return "falling"
    return "steady"
