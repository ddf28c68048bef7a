"""One call's categories, decided as the call goes: facts in, new matches out.

The floor should show a category within a second of the call meeting it, so
each fact is checked the moment it is fed: an utterance against every
category's phrases (one index lookup per word), a talk spurt for the
interruptions it completes, a tick of the clock for silences, time paused, time
on hold and phrases that were *not* said in time. What can only be known at the
end (the customer's sentiment at the end, a phrase in the last 30 s, a call too
short) is decided by :meth:`CallCategories.finish`.

Each condition remembers the first thing that met it (a *hit*: the moment, the
moment it became known, a sentence). A category matches once, when all its
conditions have a hit; the match is a function of the facts alone, not of when
the engine looked, so evaluating a stored call after the fact
(``post_call.categorize``) gives the very matches the floor was shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from conversation.characteristics import sentiment_of

from . import evidence
from .category import ANY_KIND, ANYONE, SaidRule, Window
from .errors import CallFinishedError
from .facts import Fact, Hold, Pause, QualityAlert, Talk, Tick, Utterance
from .match import Match
from .rules import Rules, Slot
from .talk_log import TalkLog

# How long after its speaker stops talking a final transcript may still arrive: a phrase
# that had to be said in the first 30 s is declared missing only once the transcript of
# those 30 s is in.
TRANSCRIPT_LAG_MS = 3000


class CallState(Enum):
    RUNNING = 1  # facts are fed
    FINISHED = 2  # finish() settled the categories; nothing more may be fed


@dataclass(frozen=True, slots=True)
class Hit:
    """What met one condition: at ``at_ms``, known from ``known_ms``, said as ``evidence``."""

    at_ms: int
    known_ms: int
    evidence: str
    at_end: bool = False
    """Known only when the call ended (the floor could not have seen it live)."""


class CallCategories:
    """The categories of one call; feed it the call's facts in the order they are known."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._state = CallState.RUNNING
        self._hits: list[list[Hit | None]] = [[None] * len(c.conditions) for c in rules]
        self._spoiled: set[Slot] = set()  # negated phrases that were said in their window
        self._late: dict[Slot, list[tuple[int, int, str, str]]] = {}  # for Window.LAST
        self._scored: dict[str, list[Utterance]] = {}  # utterances with a score, per role
        self._interruptions: dict[Slot, int] = {}
        self._talk = TalkLog()
        self._matched: dict[int, Match] = {}  # by category index, in the order found
        self._held: set[int] = set()  # not-live categories matched, reported at the end
        self._end_ms: int | None = None  # set by finish()

    @property
    def finished(self) -> bool:
        return self._state is CallState.FINISHED

    @property
    def matches(self) -> list[Match]:
        """Every match reported so far, by the moment it matched."""
        return sorted(self._matched.values(), key=lambda m: (m.at_ms, m.category))

    def feed(self, fact: Fact) -> list[Match]:
        """Take one fact of the call; the categories it newly matched (shown live)."""
        if self._state is CallState.FINISHED:
            raise CallFinishedError("This call's categories are settled: it has finished.")
        touched: set[int] = set()
        if isinstance(fact, Utterance):
            self._utterance(fact, touched)
        elif isinstance(fact, Talk):
            self._talk_spurt(fact, touched)
        elif isinstance(fact, QualityAlert):
            self._quality(fact, touched)
        elif isinstance(fact, Pause):
            self._talk.add_pause(fact.start_ms, fact.end_ms)
            self._stretched(fact.known_ms, touched)
        elif isinstance(fact, Hold):
            self._talk.holds.add(fact.start_ms, fact.end_ms)
            self._stretched(fact.known_ms, touched)
        else:
            self._tick(fact, touched)
        self._duration_passed(fact.known_ms, touched)
        return self._settle(touched)

    def finish(self, duration_ms: int) -> list[Match]:
        """The call ended at ``duration_ms``: the categories only its end decides, and those
        matched by categories that are not live."""
        if self._state is CallState.FINISHED:
            raise CallFinishedError("finish() was already called for this call.")
        self._state = CallState.FINISHED
        self._end_ms = duration_ms
        touched = set(range(len(self.rules)))
        self._duration_passed(duration_ms, touched)
        self._stretched(duration_ms, touched)
        self._silence(self._talk.silences(duration_ms), touched)
        self._said_at_end(duration_ms)
        self._sentiment_at_end(duration_ms)
        for slot, rule in self.rules.duration:
            shorter, longer = rule.shorter_than_ms, rule.longer_than_ms
            too_long = longer is not None and duration_ms <= longer
            if shorter is not None and duration_ms < shorter and not too_long:
                text = evidence.duration(rule, duration_ms)
                self._hit(slot, Hit(duration_ms, duration_ms, text))
        return self._settle(touched)

    # -- the facts ----------------------------------------------------------------------

    def _utterance(self, u: Utterance, touched: set[int]) -> None:
        for slot, words in self.rules.phrases.find(u.text).items():
            rule = self.rules.said_at[slot]
            if rule.by not in (ANYONE, u.role):
                continue
            if rule.window is Window.LAST:
                self._late.setdefault(slot, []).append((u.start_ms, u.end_ms, u.role, words))
            elif rule.window is Window.FIRST and u.start_ms >= rule.window_ms:
                continue
            elif rule.negate:
                self._spoiled.add(slot)
            else:
                text = evidence.said(u.role, words, u.start_ms)
                touched.add(self._hit(slot, Hit(u.start_ms, u.end_ms, text)))
        if u.score is None:
            return
        self._scored.setdefault(u.role, []).append(u)
        for slot, sentiment in self.rules.sentiment_any:
            if sentiment.of in (ANYONE, u.role) and sentiment.holds(u.score, u.label):
                text = evidence.sentiment(u.role, u.label, u.score, u.start_ms, at_end=False)
                touched.add(self._hit(slot, Hit(u.start_ms, u.end_ms, text)))

    def _talk_spurt(self, talk: Talk, touched: set[int]) -> None:
        found = self._talk.add_talk(talk.role, talk.start_ms, talk.end_ms)
        for interruption in found:
            for slot, rule in self.rules.interruptions:
                if rule.by not in (ANYONE, interruption.by) or self._has_hit(slot):
                    continue
                count = self._interruptions[slot] = self._interruptions.get(slot, 0) + 1
                if count > rule.more_than:
                    i = interruption
                    text = evidence.interruptions(count, i.by, i.over, i.at_ms, rule.by)
                    touched.add(self._hit(slot, Hit(i.at_ms, i.known_ms, text)))

    def _quality(self, alert: QualityAlert, touched: set[int]) -> None:
        kind = alert.short_kind
        for slot, rule in self.rules.quality:
            if rule.kind in (ANY_KIND, kind) and rule.of in (ANYONE, alert.role):
                text = evidence.quality(kind, alert.role, alert.at_ms, alert.message)
                touched.add(self._hit(slot, Hit(alert.at_ms, alert.at_ms, text)))

    def _tick(self, tick: Tick, touched: set[int]) -> None:
        now = tick.now_ms
        if not tick.talking and self._talk.pauses.open is None:
            self._silence(self._talk.quiet_gaps(now), touched)
        self._stretched(now, touched)
        for slot, rule in self.rules.missing_early:
            if now < rule.window_ms or self._has_hit(slot) or slot in self._spoiled:
                continue
            roles = None if rule.by == ANYONE else frozenset({rule.by})
            talking = tick.talking if roles is None else tick.talking & roles
            if talking:
                continue  # they may be saying it now: wait for the spurt and its transcript
            settled = self._settled_ms(rule, roles)
            if now >= settled:
                hit = Hit(rule.window_ms, settled, evidence.not_said(rule))
                touched.add(self._hit(slot, hit))

    # -- conditions the clock decides ---------------------------------------------------

    def _duration_passed(self, now_ms: int, touched: set[int]) -> None:
        for slot, rule in self.rules.duration:
            longer = rule.longer_than_ms
            if rule.end_only or longer is None or now_ms <= longer or self._has_hit(slot):
                continue
            text = evidence.duration(rule, now_ms)
            touched.add(self._hit(slot, Hit(longer, longer, text)))

    def _stretched(self, now_ms: int, touched: set[int]) -> None:
        """The time paused, and the time on hold, in all (the stretch going on counted until
        ``now_ms``) against the rules that limit it."""
        limits = (
            (self.rules.paused, self._talk.pauses, evidence.paused),
            (self.rules.hold, self._talk.holds, evidence.hold),
        )
        for slots, stretches, say in limits:
            for slot, rule in slots:
                if self._has_hit(slot):
                    continue
                crossed = stretches.over(rule.longer_than_ms, now_ms)
                if crossed is not None:
                    start, known = crossed
                    text = say(start, rule.longer_than_ms)
                    touched.add(self._hit(slot, Hit(start, known, text)))

    def _silence(self, silences: list[tuple[int, int]], touched: set[int]) -> None:
        for slot, rule in self.rules.silence:
            if self._has_hit(slot):
                continue
            for start, end in silences:
                if end - start > rule.longer_than_ms:
                    text = evidence.silence(start, rule.longer_than_ms)
                    hit = Hit(start, start + rule.longer_than_ms, text)
                    touched.add(self._hit(slot, hit))
                    break

    def _settled_ms(self, rule: SaidRule, roles: frozenset[str] | None) -> int:
        """When the transcript of ``rule``'s window is surely in: its end, or the end of a
        spurt begun in it, plus the recogniser's lag."""
        talked = self._talk.talk_end_before(roles, rule.window_ms)
        return max(rule.window_ms, talked) + TRANSCRIPT_LAG_MS

    # -- conditions the end decides -----------------------------------------------------

    def _said_at_end(self, duration_ms: int) -> None:
        for slot, rule in self.rules.said:
            if self._has_hit(slot):
                continue
            if rule.window is Window.LAST:
                begins = duration_ms - rule.window_ms
                late = sorted(s for s in self._late.get(slot, ()) if s[1] > begins)
                if late and not rule.negate:
                    start, _, role, words = late[0]
                    self._hit(slot, Hit(start, duration_ms, evidence.said(role, words, start)))
                elif not late and rule.negate:
                    self._hit(slot, Hit(duration_ms, duration_ms, evidence.not_said(rule)))
            elif rule.negate and slot not in self._spoiled:
                roles = None if rule.by == ANYONE else frozenset({rule.by})
                if rule.window is Window.FIRST:
                    at = min(rule.window_ms, duration_ms)
                    known = min(self._settled_ms(rule, roles), duration_ms)
                else:
                    at = known = duration_ms
                self._hit(slot, Hit(at, known, evidence.not_said(rule)))

    def _sentiment_at_end(self, duration_ms: int) -> None:
        for slot, rule in self.rules.sentiment_end:
            roles = sorted(self._scored) if rule.of == ANYONE else [rule.of]
            for role in roles:
                said = [
                    {
                        "start_ms": u.start_ms,
                        "end_ms": u.end_ms,
                        "sentiment": {"score": u.score, "label": u.label},
                    }
                    for u in self._scored.get(role, ())
                ]
                end = sentiment_of(said, duration_ms)["end"]
                if end is not None and rule.holds(end["score"], end["label"]):
                    text = evidence.sentiment(
                        role, end["label"], end["score"], end["at_ms"], at_end=True
                    )
                    self._hit(slot, Hit(int(end["at_ms"]), duration_ms, text))
                    break

    # -- hits and matches ---------------------------------------------------------------

    def _has_hit(self, slot: Slot) -> bool:
        return self._hits[slot[0]][slot[1]] is not None

    def _hit(self, slot: Slot, hit: Hit) -> int:
        """Record ``hit`` if it is the condition's first; the category's index."""
        ci, ki = slot
        if self._hits[ci][ki] is None:
            # Decided by finish() and not known before the end: the end decided it. (A fact
            # fed before finish() was seen live, even one known at the very last moment.)
            at_end = self._end_ms is not None and hit.known_ms >= self._end_ms
            self._hits[ci][ki] = replace(hit, at_end=True) if at_end else hit
        return ci

    def _settle(self, touched: set[int]) -> list[Match]:
        """The touched categories that now match, reported once each (not-live ones are
        held back until the end)."""
        new: list[Match] = []
        running = self._end_ms is None
        for ci in sorted(touched):
            if ci in self._matched or (running and ci in self._held):
                continue
            hits = self._hits[ci]
            if any(h is None for h in hits):
                continue
            category = self.rules.categories[ci]
            if running and not category.live:
                self._held.add(ci)
                continue
            live = category.live and not any(h.at_end for h in hits if h is not None)
            match = Match(
                category=category.name,
                at_ms=max(h.at_ms for h in hits if h is not None),
                severity=category.severity,
                alert=category.alert,
                evidence="; ".join(h.evidence for h in hits if h is not None),
                live=live,
            )
            self._matched[ci] = match
            new.append(match)
        return sorted(new, key=lambda m: (m.at_ms, m.category))
