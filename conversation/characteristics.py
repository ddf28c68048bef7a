"""A call's conversation characteristics, from its talk spurts, words and pauses.

The set Amazon Connect's Contact Lens gives a call: talk time per party and as
a share of the call, non-talk time and the longest silence, interruptions (who
talked over whom, how often, for how long), talk speed, loudness, sentiment per
quarter and at the end, time on hold, and time with the recording paused.
Pure: the same timeline gives the same figures, live or from a folder a crash
left behind.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .voice import TalkSpurt

# Talking over someone for less than this is a backchannel ("hmm", "yes"), or two
# people starting at once, not an interruption.
MIN_INTERRUPTION_MS = 250
# Talk speed's clock: only this party's own talk time counts.
MS_PER_MINUTE = 60_000
# The end of the call, for "how did it end": the party's utterances in its last 30 s
# (or their last one, if they said nothing then).
END_WINDOW_MS = 30_000

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Interruption:
    """``by`` started talking while ``over`` was, and both talked for ``ms``."""

    by: str
    over: str
    at_ms: int
    ms: int

    def to_wire(self) -> dict[str, Any]:
        return {"by": self.by, "over": self.over, "at_ms": self.at_ms, "ms": self.ms}


@dataclass(frozen=True, slots=True)
class Silence:
    """Nobody talked (and the recording ran) from ``start_ms`` to ``end_ms``."""

    start_ms: int
    end_ms: int

    @property
    def ms(self) -> int:
        return self.end_ms - self.start_ms

    def to_wire(self) -> dict[str, int]:
        return {"start_ms": self.start_ms, "end_ms": self.end_ms, "ms": self.ms}


def union(spans: Iterable[Span]) -> list[Span]:
    """The spans merged where they touch or overlap, in order."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > start:
            merged.append((start, end))
    return merged


def total(spans: Iterable[Span]) -> int:
    return sum(end - start for start, end in spans)


def intersection(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """Where two merged span lists overlap."""
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def gaps(covered: Sequence[Span], start: int, end: int) -> list[Span]:
    """What of ``start..end`` the merged spans leave uncovered."""
    out: list[Span] = []
    at = start
    for span_start, span_end in covered:
        if span_start > at:
            out.append((at, min(span_start, end)))
        at = max(at, span_end)
    if end > at:
        out.append((at, end))
    return [(s, e) for s, e in out if e > s]


def interruptions(talk: Mapping[str, Sequence[TalkSpurt]]) -> list[Interruption]:
    """Every spurt begun while another party was talking, overlapping it long enough."""
    found: list[Interruption] = []
    for by, spurts in talk.items():
        for spurt in spurts:
            for over, others in talk.items():
                if over == by:
                    continue
                for other in others:
                    if other.start_ms < spurt.start_ms < other.end_ms:
                        ms = min(other.end_ms, spurt.end_ms) - spurt.start_ms
                        if ms >= MIN_INTERRUPTION_MS:
                            found.append(Interruption(by, over, spurt.start_ms, ms))
                        break
    return sorted(found, key=lambda i: i.at_ms)


def _mean_level(spurts: Sequence[TalkSpurt]) -> float | None:
    """The loudness of a party's talk: their spurts' levels, weighted by length, as power."""
    weight = sum(s.ms for s in spurts)
    if not weight:
        return None
    power = sum(10 ** (s.level_db / 10) * s.ms for s in spurts) / weight
    return round(10 * math.log10(power), 1) if power > 0 else None


def _scored(utterances: Iterable[Mapping[str, Any]]) -> list[tuple[int, int, float, str]]:
    out = []
    for u in utterances:
        sentiment = u.get("sentiment") or {}
        score = sentiment.get("score")
        if isinstance(score, (int, float)):
            out.append((int(u["start_ms"]), int(u["end_ms"]), float(score), sentiment["label"]))
    return out


def sentiment_of(utterances: Sequence[Mapping[str, Any]], duration_ms: int) -> dict[str, Any]:
    """One party's sentiment per quarter of the call (mean score; None: nothing scored) and
    at the end."""
    scored = _scored(utterances)
    by_quarter: list[list[float]] = [[], [], [], []]
    for start, end, score, _ in scored:
        middle = (start + end) / 2
        by_quarter[min(3, max(0, int(4 * middle / duration_ms)) if duration_ms else 0)].append(
            score
        )
    quarters = [round(sum(q) / len(q), 3) if q else None for q in by_quarter]
    ending: dict[str, Any] | None = None
    if scored:
        last = [u for u in scored if u[1] >= duration_ms - END_WINDOW_MS] or scored[-1:]
        mean = sum(u[2] for u in last) / len(last)
        ending = {"score": round(mean, 3), "label": last[-1][3], "at_ms": last[-1][0]}
    return {"quarters": quarters, "end": ending}


def words_of(utterances: Iterable[Mapping[str, Any]]) -> int:
    return sum(len(u.get("words") or str(u.get("text", "")).split()) for u in utterances)


@dataclass(frozen=True, slots=True)
class Characteristics:
    """What the talk of one call adds up to (see the module's docstring)."""

    duration_ms: int
    talk: Mapping[str, Sequence[TalkSpurt]]
    utterances: Mapping[str, Sequence[Mapping[str, Any]]]
    paused: Sequence[Span]
    held: Sequence[Span] = ()
    """When the customer was on hold (the recording runs on: held time can be talk or
    silence)."""

    @property
    def paused_ms(self) -> int:
        return total(union(self.paused))

    @property
    def hold_ms(self) -> int:
        return total(union(self.held))

    @property
    def talking(self) -> list[Span]:
        """When anyone talked."""
        return union((s.start_ms, s.end_ms) for spurts in self.talk.values() for s in spurts)

    @property
    def silences(self) -> list[Silence]:
        """When nobody talked while the recording ran, in order."""
        covered = union([*self.talking, *self.paused])
        return [Silence(s, e) for s, e in gaps(covered, 0, self.duration_ms)]

    @property
    def interruptions(self) -> list[Interruption]:
        return interruptions(self.talk)

    def party(self, role: str) -> dict[str, Any]:
        spurts = self.talk.get(role, ())
        talk_ms = total(union((s.start_ms, s.end_ms) for s in spurts))
        said = self.utterances.get(role, ())
        words = words_of(said)
        return {
            "talk_ms": talk_ms,
            "talk_share": round(talk_ms / self.duration_ms, 3) if self.duration_ms else 0.0,
            "spurts": len(spurts),
            "level_db": _mean_level(spurts),
            "peak_db": round(max((s.peak_db for s in spurts), default=-100.0), 1)
            if spurts
            else None,
            "words": words if said else None,
            "words_per_minute": round(words * MS_PER_MINUTE / talk_ms)
            if said and talk_ms
            else None,
            "interruptions": sum(1 for i in self.interruptions if i.by == role),
            "sentiment": sentiment_of(said, self.duration_ms),
        }

    def to_wire(self) -> dict[str, Any]:
        silences = self.silences
        longest = max(silences, key=lambda s: s.ms, default=None)
        found = self.interruptions
        roles = sorted(set(self.talk) | set(self.utterances) | {"agent", "customer"})
        by_role = {
            role: union((s.start_ms, s.end_ms) for s in spurts)
            for role, spurts in self.talk.items()
        }
        overlap = total(intersection(by_role.get("agent", []), by_role.get("customer", [])))
        non_talk = total((s.start_ms, s.end_ms) for s in silences)
        return {
            "duration_ms": self.duration_ms,
            "parties": {role: self.party(role) for role in roles},
            "non_talk_ms": non_talk,
            "non_talk_share": round(non_talk / self.duration_ms, 3) if self.duration_ms else 0.0,
            "longest_silence": longest.to_wire() if longest else None,
            "overlap_ms": overlap,
            "interruptions": [i.to_wire() for i in found],
            "interruption_count": len(found),
            "paused_ms": self.paused_ms,
            "hold_ms": self.hold_ms,
            "holds": len(self.held),
            "hold_spans": [{"start_ms": s, "end_ms": e} for s, e in self.held],
            "spurts": {role: [s.to_wire() for s in spurts] for role, spurts in self.talk.items()},
        }
