"""A category: a name a supervisor sees, and the conditions a call must meet to carry it.

Like Amazon Connect Contact Lens's rules: an operator names what matters to the
centre ("recording disclosure missing", "long hold") and says what marks it in
a call: phrases said (or not said) by a party in a window of the call, how the
customer felt, silences, interruptions, quality alerts, the call's length, its
time on hold and the time its recording was paused. A call carries a category
when all its conditions hold.

Each condition kind is a value of its own, so the engine and the documentation
name the same few things. Times are kept in milliseconds, on the call clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, unique
from typing import Any

from .text import Phrase

ANYONE = "anyone"
ROLES = ("agent", "customer", "supervisor")
PARTIES = (*ROLES, ANYONE)
# What the rules call each quality alert (quality.alerts.AlertKind: "high_loss" is "loss").
QUALITY_KINDS = ("mos", "loss", "jitter", "rtt", "no_audio")
ANY_KIND = "any"
SENTIMENT_LABELS = ("positive", "negative", "neutral")


@unique
class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@unique
class Window(StrEnum):
    """Where in the call a phrase counts."""

    ANYWHERE = "anywhere"
    FIRST = "first"  # an utterance that began within the first ``window_ms``
    LAST = "last"  # an utterance that ran into the last ``window_ms`` (known at the end)


@unique
class SentimentAt(StrEnum):
    ANY = "any"  # any one utterance of the party
    END = "end"  # the party's sentiment at the end (their utterances in the last 30 s)


@dataclass(frozen=True, slots=True)
class SaidRule:
    """A party said one of the phrases (or, negated, said none of them) in the window."""

    phrases: tuple[Phrase, ...]
    by: str = ANYONE
    window: Window = Window.ANYWHERE
    window_ms: int = 0
    negate: bool = False

    @property
    def end_only(self) -> bool:
        """Decided only when the call has ended."""
        return self.window is Window.LAST or (self.negate and self.window is Window.ANYWHERE)


@dataclass(frozen=True, slots=True)
class SentimentRule:
    """The party's sentiment (any utterance, or at the end) has ``label``, or its score is
    below ``below`` / above ``above``."""

    of: str
    at: SentimentAt = SentimentAt.ANY
    label: str | None = None
    below: float | None = None
    above: float | None = None

    def holds(self, score: float, label: str) -> bool:
        if self.label is not None:
            return label == self.label
        if self.below is not None:
            return score < self.below
        return self.above is not None and score > self.above

    @property
    def end_only(self) -> bool:
        return self.at is SentimentAt.END


@dataclass(frozen=True, slots=True)
class SilenceRule:
    """Nobody talked (and the recording ran) for longer than ``longer_than_ms`` at a stretch."""

    longer_than_ms: int
    end_only = False


@dataclass(frozen=True, slots=True)
class InterruptionsRule:
    """More than ``more_than`` interruptions (by ``by``: someone starting to talk while
    another party was, both talking at least 250 ms)."""

    more_than: int
    by: str = ANYONE
    end_only = False


@dataclass(frozen=True, slots=True)
class QualityRule:
    """A quality alert of ``kind`` ("any", or one of QUALITY_KINDS) fired on ``of``'s line."""

    kind: str = ANY_KIND
    of: str = ANYONE
    end_only = False


@dataclass(frozen=True, slots=True)
class DurationRule:
    """The call lasted longer than ``longer_than_ms`` and/or shorter than ``shorter_than_ms``."""

    longer_than_ms: int | None = None
    shorter_than_ms: int | None = None

    @property
    def end_only(self) -> bool:
        return self.shorter_than_ms is not None


@dataclass(frozen=True, slots=True)
class PausedRule:
    """The recording was paused longer than ``longer_than_ms``, in all (a hold is
    :class:`HoldRule`: the recording goes on during one)."""

    longer_than_ms: int
    end_only = False


@dataclass(frozen=True, slots=True)
class HoldRule:
    """The customer was on hold longer than ``longer_than_ms``, in all."""

    longer_than_ms: int
    end_only = False


Condition = (
    SaidRule
    | SentimentRule
    | SilenceRule
    | InterruptionsRule
    | QualityRule
    | DurationRule
    | PausedRule
    | HoldRule
)


@dataclass(frozen=True, slots=True)
class Category:
    """A named set of conditions; a call carries it when all of them hold."""

    name: str
    conditions: tuple[Condition, ...]
    description: str = ""
    severity: Severity = Severity.INFO
    alert: bool = False
    """Alert the supervisors when a live call matches."""
    live: bool = True
    """Evaluated while the call runs (False: only once it has ended)."""

    @property
    def end_only(self) -> bool:
        """Decided only when the call has ended (one of its conditions needs the end)."""
        return not self.live or any(c.end_only for c in self.conditions)

    def to_wire(self) -> dict[str, Any]:
        """What a console shows of the category itself (its legend)."""
        return {
            "name": self.name,
            "description": self.description,
            "severity": self.severity.value,
            "alert": self.alert,
            "live": self.live,
            "decided_at_end": self.end_only,
        }
