"""Who talked when, when the recording was paused and when the customer was on hold,
as far as a call has got.

The silences, interruptions, time paused and time on hold that rules ask about
are derived here from the talk spurts, pauses and holds as they arrive,
incrementally, because a live call is asked about them every second: an
interruption is checked against the few spurts around it, and a silence is
looked for only in what was added since the floor last went quiet. The
definitions are conversation's (``conversation.characteristics``): an
interruption is a party beginning to talk while another is talking, both
talking at least 250 ms; a silence is time when nobody talked and the recording
ran (on hold or not).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass

from conversation.characteristics import MIN_INTERRUPTION_MS, gaps, union

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Interruption:
    """``by`` began talking at ``at_ms`` while ``over`` was; both spurts had closed by
    ``known_ms``."""

    by: str
    over: str
    at_ms: int
    known_ms: int


class Stretches:
    """Stretches of the call of one kind (the recording paused, the customer on hold), the
    last perhaps still going on."""

    def __init__(self) -> None:
        self.ended: list[Span] = []
        self.open: int | None = None  # when the one still going on began

    def add(self, start_ms: int, end_ms: int | None) -> Span | None:
        """Take a stretch begun (``end_ms`` None) or ended; the span it ended, if any."""
        if end_ms is None:
            self.open = start_ms
            return None
        if self.open == start_ms:
            self.open = None
        if end_ms <= start_ms:
            return None
        self.ended.append((start_ms, end_ms))
        return start_ms, end_ms

    def until(self, now_ms: int) -> list[Span]:
        """Every stretch, the one going on counted until ``now_ms``."""
        if self.open is None or now_ms <= self.open:
            return list(self.ended)
        return [*self.ended, (self.open, now_ms)]

    def over(self, longer_than_ms: int, now_ms: int) -> Span | None:
        """(the start of the stretch during which, the moment when) their time in all passed
        ``longer_than_ms``, counting the one still going on until ``now_ms``."""
        before = 0
        for start, end in union(self.until(now_ms)):
            if before + (end - start) > longer_than_ms:
                return start, start + longer_than_ms - before
            before += end - start
        return None


class TalkLog:
    """One call's talk spurts (per role, by start), pauses and holds."""

    def __init__(self) -> None:
        self._spurts: dict[str, list[Span]] = {}
        self._counted: set[tuple[str, int]] = set()  # (role, start) of spurts that interrupted
        self.pauses = Stretches()
        self.holds = Stretches()
        # The silence search: everything before the frontier is settled; what came since
        # the floor was last quiet waits in ``_fresh``.
        self._frontier = 0
        self._fresh: list[Span] = []

    # -- talk and interruptions ---------------------------------------------------------

    def add_talk(self, role: str, start_ms: int, end_ms: int) -> list[Interruption]:
        """Take a closed spurt; the interruptions it completes, in time order."""
        if end_ms <= start_ms:
            return []
        spurts = self._spurts.setdefault(role, [])
        insort(spurts, (start_ms, end_ms))
        self._fresh.append((start_ms, end_ms))
        found: list[Interruption] = []
        for other, theirs in self._spurts.items():
            if other == role:
                continue
            # This spurt began during one of theirs (theirs do not overlap each other).
            i = bisect_left(theirs, (start_ms, start_ms))
            if i and theirs[i - 1][0] < start_ms < theirs[i - 1][1]:
                found += self._interruption(role, (start_ms, end_ms), other, theirs[i - 1])
            # Theirs began during this one.
            j = bisect_left(theirs, (start_ms + 1, 0))
            while j < len(theirs) and theirs[j][0] < end_ms:
                found += self._interruption(other, theirs[j], role, (start_ms, end_ms))
                j += 1
        return sorted(found, key=lambda i: (i.known_ms, i.at_ms))

    def _interruption(self, by: str, spurt: Span, over: str, under: Span) -> list[Interruption]:
        key = (by, spurt[0])
        if key in self._counted or min(under[1], spurt[1]) - spurt[0] < MIN_INTERRUPTION_MS:
            return []
        self._counted.add(key)
        return [Interruption(by, over, spurt[0], max(spurt[1], under[1]))]

    def talk_end_before(self, roles: frozenset[str] | None, before_ms: int) -> int:
        """The latest end of a spurt by ``roles`` (None: anyone) begun before ``before_ms``."""
        latest = 0
        for role, spurts in self._spurts.items():
            if roles is None or role in roles:
                i = bisect_left(spurts, (before_ms, before_ms))
                latest = max([latest, *(end for _, end in spurts[:i])])
        return latest

    # -- pauses -------------------------------------------------------------------------

    def add_pause(self, start_ms: int, end_ms: int | None) -> None:
        ended = self.pauses.add(start_ms, end_ms)
        if ended is not None:
            self._fresh.append(ended)  # time paused is not silence

    # -- silences -----------------------------------------------------------------------

    def quiet_gaps(self, now_ms: int) -> list[Span]:
        """Nobody is talking at ``now_ms`` and the recording runs: the silences since the
        floor was last quiet (the last one still going on, until ``now_ms``)."""
        covered = union(self._fresh)
        found = gaps(covered, self._frontier, now_ms)
        self._frontier = max(self._frontier, max((end for _, end in covered), default=0))
        self._fresh.clear()
        return found

    def silences(self, duration_ms: int) -> list[Span]:
        """Every silence of the finished call, in order."""
        spans = [s for spurts in self._spurts.values() for s in spurts]
        return gaps(union([*spans, *self.pauses.until(duration_ms)]), 0, duration_ms)
