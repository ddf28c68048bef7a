"""Every live call's categories on this node, decided as the call goes.

The operator's rules (``categories_file``, see docs/categories.md) are loaded
once; each call whose media this node carries gets a
:class:`~categories.CallCategories`, fed the facts the node already makes: each
final utterance (from live transcription), each closed talk spurt (from the talk
monitor), each quality alert fired, the recording paused and resumed, the
customer put on hold and taken off it (by the call controls), and a tick of the
call clock every second (with who is talking then), so "not said in the first
30 s" or "silent for 20 s" match without waiting for more speech. A
match goes on the recording's timeline (``category_matched``), to the floor and
the call's watchers at once; what only the end can tell is decided when the
call ends. Everything runs on the loop and costs microseconds per fact.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from callcenter.errors import ConfigError
from categories import (
    CallCategories,
    Hold,
    Match,
    Pause,
    QualityAlert,
    Rules,
    RulesError,
    Talk,
    Tick,
    Utterance,
    load_rules,
)
from categories.facts import Fact
from conversation.voice import TalkSpurt
from quality.alerts import AlertChange
from quality.sample import StreamSample
from recording.timeline import EntryType

from .config import Config
from .events import ServerEvent
from .quality_monitor import QualityMonitor
from .recordings import CallRecordings
from .talk_monitor import TalkMonitor
from .transcription import Transcription

logger = logging.getLogger(__name__)

TICK_S = 1.0

# Told of every match (on the loop): call id, match.
MatchListener = Callable[[str, Match], None]
# A kind of stretch of the call that is fed when it begins and again when it ends.
StretchKind = type[Pause] | type[Hold]


@dataclass(slots=True)
class CallRules:
    """One call's engine, its clock, and what matched so far."""

    engine: CallCategories
    call_start: float  # the call clock's zero on time.perf_counter()
    going_on: dict[StretchKind, int] = field(default_factory=dict)
    """The pause and the hold going on now, each with when it began."""
    found: list[Match] = field(default_factory=list)


class LiveCategories:
    """The categories of this node's live calls (none without rules)."""

    def __init__(
        self,
        rules: Rules | None,
        recordings: CallRecordings,
        *,
        talking: Callable[[str], frozenset[str]],
    ) -> None:
        self.rules = rules
        self._recordings = recordings
        self._talking = talking
        self._calls: dict[str, CallRules] = {}
        self.listeners: list[MatchListener] = []

    @classmethod
    def of(
        cls,
        config: Config,
        recordings: CallRecordings,
        *,
        talk: TalkMonitor,
        transcription: Transcription,
        quality: QualityMonitor,
    ) -> LiveCategories:
        """The rules of ``categories_file`` (none: no categories), fed by the node's talk,
        transcription and quality."""
        rules = None
        if config.categories_file is not None:
            try:
                rules = load_rules(config.categories_file)
            except RulesError as exc:
                raise ConfigError(f"categories_file: {exc}") from None
        live = cls(rules, recordings, talking=talk.talking_roles)
        if rules is not None:
            talk.listeners.append(live.on_spurt)
            transcription.listeners.append(live.on_transcript)
            quality.listeners.append(live.on_quality)
        return live

    def start(self, call_id: str) -> None:
        """Decide ``call_id``'s categories from now on (on the recording's clock)."""
        if self.rules is None or call_id in self._calls:
            return
        recorder = self._recordings.recorder(call_id)
        start = recorder.started_perf if recorder else time.perf_counter()
        self._calls[call_id] = CallRules(CallCategories(self.rules), start)

    def matches(self, call_id: str) -> list[Match]:
        rules = self._calls.get(call_id)
        return list(rules.found) if rules is not None else []

    def finish(self, call_id: str) -> list[Match]:
        """The call ended: what only its end can tell is decided; every match, in order."""
        rules = self._calls.pop(call_id, None)
        if rules is None:
            return []
        now = self._now_ms(rules)
        for kind, since in list(rules.going_on.items()):
            self._feed(call_id, rules, kind(since, now))
        for match in rules.engine.finish(now):
            self._matched(call_id, rules, match)
        return list(rules.found)

    # -- the facts ---------------------------------------------------------

    def on_transcript(self, call_id: str, event: ServerEvent, payload: dict[str, Any]) -> None:
        """Transcription's listener: each final utterance."""
        rules = self._calls.get(call_id)
        if rules is None or event is not ServerEvent.TRANSCRIPT_UTTERANCE:
            return
        try:
            utterance = Utterance.from_wire(payload["utterance"])
        except (KeyError, TypeError, ValueError):
            return
        self._feed(call_id, rules, utterance)

    def on_spurt(self, call_id: str, role: str, spurt: TalkSpurt) -> None:
        """The talk monitor's listener: each talk spurt as it closes."""
        rules = self._calls.get(call_id)
        if rules is not None:
            self._feed(call_id, rules, Talk(role, spurt.start_ms, spurt.end_ms))

    def on_quality(
        self, call_id: str, samples: list[StreamSample], changes: list[AlertChange]
    ) -> None:
        """The quality monitor's listener: each alert as it fires."""
        rules = self._calls.get(call_id)
        if rules is None:
            return
        now = self._now_ms(rules)
        for change in changes:
            if change.active:  # read as the timeline keeps it, so a recovered call agrees
                self._feed(call_id, rules, QualityAlert.from_wire(change.alert.to_wire(), now))

    def pause(self, call_id: str, paused: bool) -> None:
        """The recording was paused (card details, say) or resumed."""
        self._stretch(call_id, Pause, paused)

    def hold(self, call_id: str, held: bool) -> None:
        """The agent put the customer on hold or took them off it."""
        self._stretch(call_id, Hold, held)

    async def run(self) -> None:
        """The call clock's tick, every second, for what matches by time alone."""
        while True:
            await asyncio.sleep(TICK_S)
            for call_id, rules in list(self._calls.items()):
                tick = Tick(self._now_ms(rules), self._talking(call_id))
                self._feed(call_id, rules, tick)

    # -- internals ---------------------------------------------------------

    def _stretch(self, call_id: str, kind: StretchKind, on: bool) -> None:
        """A pause or a hold began (``on``) or ended: fed as it begins, and again whole."""
        rules = self._calls.get(call_id)
        if rules is None:
            return
        now = self._now_ms(rules)
        since = rules.going_on.get(kind)
        if on and since is None:
            rules.going_on[kind] = now
            self._feed(call_id, rules, kind(now))
        elif not on and since is not None:
            del rules.going_on[kind]
            self._feed(call_id, rules, kind(since, now))

    def _now_ms(self, rules: CallRules) -> int:
        return max(0, round((time.perf_counter() - rules.call_start) * 1000))

    def _feed(self, call_id: str, rules: CallRules, fact: Fact) -> None:
        if rules.engine.finished:
            return
        try:
            found = rules.engine.feed(fact)
        except Exception:  # a rule the engine cannot take stops this call's categories only
            logger.exception("the categories of call %s could not be decided", call_id)
            self._calls.pop(call_id, None)
            return
        for match in found:
            self._matched(call_id, rules, match)

    def _matched(self, call_id: str, rules: CallRules, match: Match) -> None:
        rules.found.append(match)
        self._recordings.event(call_id, EntryType.CATEGORY_MATCHED, match=match.to_wire())
        for listener in self.listeners:
            listener(call_id, match)
