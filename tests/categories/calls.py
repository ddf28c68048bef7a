"""Helpers for the categories' tests: rules from a snippet, and a call played live.

``play_live`` feeds a call's facts the way the server does: each when it becomes known
(an utterance at its end, a talk spurt when it closes, a pause or a hold when it starts
and again when it ends), with a tick of the clock every second that says who is talking
then.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from categories import (
    CallCategories,
    Fact,
    Hold,
    Match,
    Pause,
    QualityAlert,
    Rules,
    Talk,
    Tick,
    Utterance,
    parse_rules,
)

S = 1000  # ms in a second: facts read as `12 * S`


def rules_of(toml: str) -> Rules:
    return parse_rules(textwrap.dedent(toml))


def said(
    role: str, text: str, at_s: float, *, for_s: float = 2, score: float | None = None
) -> Utterance:
    """``role`` said ``text`` from ``at_s`` for ``for_s`` seconds (sentiment ``score``)."""
    label = "not_supported"
    if score is not None:
        label = "positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral"
    start = round(at_s * S)
    return Utterance(role, text, start, start + round(for_s * S), score, label)


def talk(role: str, from_s: float, to_s: float) -> Talk:
    return Talk(role, round(from_s * S), round(to_s * S))


@dataclass
class Played:
    """What a live call returned: each feed's new matches (with the fact), and finish's."""

    fed: list[tuple[Fact, list[Match]]] = field(default_factory=list)
    finished: list[Match] = field(default_factory=list)

    @property
    def live(self) -> list[Match]:
        return [m for _, matches in self.fed for m in matches]

    @property
    def all(self) -> list[Match]:
        return sorted([*self.live, *self.finished], key=lambda m: (m.at_ms, m.category))

    def names(self) -> set[str]:
        return {m.category for m in [*self.live, *self.finished]}

    def when(self, category: str) -> Fact | None:
        """The fact whose feed returned ``category`` (None: finish did, or nothing)."""
        return next((f for f, ms in self.fed if any(m.category == category for m in ms)), None)

    def match(self, category: str) -> Match:
        return next(m for m in [*self.live, *self.finished] if m.category == category)


def arrivals(
    *,
    utterances: Sequence[Utterance] = (),
    spurts: Sequence[Talk] = (),
    alerts: Sequence[QualityAlert] = (),
    pauses: Sequence[Pause] = (),
    holds: Sequence[Hold] = (),
    duration_ms: int,
    tick_ms: int = S,
) -> list[Fact]:
    """The facts in the order a live call knows them, with the clock's ticks among them."""
    timed: list[tuple[int, int, Fact]] = []
    for p in [*pauses, *holds]:
        timed.append((p.start_ms, 0, type(p)(p.start_ms)))
        if p.end_ms is not None:
            timed.append((p.end_ms, 0, p))
    timed += [(s.end_ms, 1, s) for s in spurts]
    timed += [(u.end_ms, 2, u) for u in utterances]
    timed += [(a.at_ms, 3, a) for a in alerts]
    for t in range(tick_ms, duration_ms, tick_ms):
        talking = frozenset(s.role for s in spurts if s.start_ms <= t < s.end_ms)
        timed.append((t, 4, Tick(t, talking)))
    return [fact for _, _, fact in sorted(timed, key=lambda x: (x[0], x[1]))]


def play_live(
    rules: Rules, duration_ms: int, *, tick_ms: int = S, **facts: Sequence[Fact]
) -> Played:
    """Feed a call live (see the module's docstring), then finish it."""
    call = CallCategories(rules)
    played = Played()
    for fact in arrivals(duration_ms=duration_ms, tick_ms=tick_ms, **facts):  # type: ignore[arg-type]
        played.fed.append((fact, call.feed(fact)))
    played.finished = call.finish(duration_ms)
    return played
