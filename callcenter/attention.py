"""How much a live call needs a supervisor's look, and why: the floor's rules, in one place.

Pure: the same reasons and score on any node for the same facts. Each reason is a
:class:`FloorAlert` (a trouble someone named: a line, a mood, a keyword, a dropped
connection) or a softer sign (a fair line, a negative mood, a long call), weighed by
:data:`WEIGHTS`; calls are shown heaviest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# A call this long is worth a look even when nothing else is wrong.
LONG_CALL_S = 15 * 60

# How much each kind of trouble weighs when calls are sorted by "needs attention".
WEIGHTS = {
    "disconnected": 5,
    "no_audio": 4,
    "high_loss": 3,
    "low_mos": 3,
    "high_jitter": 2,
    "high_rtt": 2,
    "negative_streak": 3,
    "falling": 2,
    "keyword": 1,
    "poor_line": 2,
    "fair_line": 1,
    "negative_mood": 1,
    "long_call": 1,
    # An operator's category that says to alert, by its severity.
    "category_critical": 4,
    "category_warning": 2,
    "category_info": 1,
}


@dataclass(frozen=True, slots=True)
class FloorAlert:
    """One reason a call needs a supervisor's eye, in words, with what it is about."""

    call_id: str
    source: str  # quality, sentiment, keyword, connection
    kind: str
    role: str | None
    message: str
    participant_id: str | None = None
    direction: str | None = None  # quality alerts: inbound (from them) or outbound (to them)
    media: str | None = None  # quality alerts: audio or video

    @property
    def weight(self) -> int:
        return WEIGHTS.get(self.kind, 1)

    def to_wire(self) -> dict[str, object]:
        return {
            "call_id": self.call_id,
            "source": self.source,
            "kind": self.kind,
            "role": self.role,
            "participant_id": self.participant_id,
            "direction": self.direction,
            "kind_of_media": self.media,
            "message": self.message,
            "weight": self.weight,
        }


@dataclass(frozen=True, slots=True)
class LineRating:
    """How a party's line is rated right now (good, fair, poor or unknown)."""

    participant_id: str
    role: str
    rating: str


def attention(
    alerts: Iterable[FloorAlert],
    lines: Iterable[LineRating],
    *,
    negative_mood: bool,
    answered_at: float | None,
    now: float,
) -> dict[str, Any]:
    """The call's score, level and reasons in words, heaviest first.

    ``negative_mood``: the customer sounds negative with no mood alert saying so already.
    A line whose party has a quality alert is not counted again for its rating.
    """
    alerts = list(alerts)
    reasons: list[tuple[int, str]] = [(alert.weight, alert.message) for alert in alerts]
    alerted = {alert.participant_id for alert in alerts if alert.source == "quality"}
    for line in lines:
        if line.participant_id in alerted:
            continue  # the alert already says why the line is bad
        if line.rating == "poor":
            reasons.append((WEIGHTS["poor_line"], f"the {line.role}'s line sounds poor"))
        elif line.rating == "fair":
            reasons.append((WEIGHTS["fair_line"], f"the {line.role}'s line is unsteady"))
    if negative_mood:
        reasons.append((WEIGHTS["negative_mood"], "the customer sounds negative"))
    if answered_at is not None and now - answered_at >= LONG_CALL_S:
        minutes = int((now - answered_at) // 60)
        reasons.append((WEIGHTS["long_call"], f"the call has gone on for {minutes} minutes"))
    reasons.sort(key=lambda reason: -reason[0])
    score = sum(weight for weight, _ in reasons)
    level = "high" if score >= 4 else "medium" if score >= 2 else "low" if score else "none"
    return {"score": score, "level": level, "reasons": [text for _, text in reasons]}
