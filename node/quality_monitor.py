"""Every live call's connections, sampled once a second: the live view, alerts and the timeline.

The sampler and the alert rules live in ``quality``; this is where they meet
calls: who is told (the agent now, supervisors later), what goes on the
recording's timeline, and the summary the recording keeps.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from callcenter.errors import CallStateError, RateLimitedError
from callcenter.in_call import speaker_of
from callcenter.values import CallValue, MonitorValue, ParticipantValue
from media.room import Room
from media.router import Router
from quality.alerts import Alert, AlertChange, AlertKind, AlertRules, Thresholds
from quality.line import LineQuality
from quality.meter import StreamMeter
from quality.sample import Direction, StreamSample
from quality.sampler import CallSampler
from quality.summary import QualitySummary
from quality.view import PartyQuality, QualityView
from recording.timeline import EntryType

from .config import Config
from .events import ServerEvent
from .notifier import Send
from .recordings import CallRecordings

logger = logging.getLogger(__name__)

# A page may report its getStats() at most this often; the latest report is shown
# until it is this old.
REPORT_MIN_INTERVAL_S = 2.0
REPORT_SHOWN_S = 15.0
# Samples kept per call for what a line was like while someone spoke (a long utterance
# is well under a minute; the transcript asks as soon as it is final).
HISTORY_SAMPLES = 600
# Views kept per call, compacted, for a supervisor who opens a call mid-way (its charts
# start with the last two minutes instead of empty).
RECENT_VIEWS = 120

# MOS bands of the agent's indicator (as call-quality dashboards draw them).
GOOD_MOS = 4.0
FAIR_MOS = 3.6

# To everyone watching a call (supervisors): call id, event, payload.
Watchers = Callable[[str, ServerEvent, dict[str, Any]], Awaitable[None]]
# Told every tick, for each call: its samples and the alerts that fired or cleared
# (the Prometheus metrics listen here). Must not block: it runs on the event loop.
QualityListener = Callable[[str, list[StreamSample], list[AlertChange]], None]


def thresholds_from(config: Config) -> Thresholds:
    return Thresholds(
        jitter_ms=config.quality_jitter_ms,
        loss_pct=config.quality_loss_pct,
        video_jitter_ms=config.quality_video_jitter_ms,
        video_loss_pct=config.quality_video_loss_pct,
        loss_average_pct=config.quality_loss_average_pct,
        rtt_ms=config.quality_rtt_ms,
        mos=config.quality_mos,
        no_audio_s=config.quality_no_audio_s,
    )


class CallQuality:
    """One call's meter, sampler, alert rules and summary."""

    def __init__(
        self,
        call: CallValue,
        room: Room,
        thresholds: Thresholds,
        known: Callable[[str], CallValue | None],
    ) -> None:
        self.call_id = call.call_id
        self.media = call.media
        self._known = known
        self.room = room
        self.meter = StreamMeter()
        if isinstance(room.plane, Router):
            room.plane.add_tap(self.meter.on_frame)
        self.sampler = CallSampler(self._role_of)
        self.rules = AlertRules(thresholds)
        self.summary = QualitySummary()
        self.latest: list[StreamSample] = []
        self.history: deque[StreamSample] = deque(maxlen=HISTORY_SAMPLES)
        self.reports: dict[str, dict[str, Any]] = {}  # participant id -> latest page report
        self.frames_metered = 0
        self.latest_view: QualityView | None = None
        """The view sent with the latest tick (the supervisors' floor reads it)."""
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_VIEWS)
        """The last views as charts draw them (``QualityView.to_chart``), oldest first."""

    def step(self, now: float) -> list[AlertChange]:
        """Sample every connection of the call; return the alerts that fired or cleared."""
        counts = self.meter.take()
        self.frames_metered += sum(c.frames for c in counts.values())
        # The customer's and the agent's connections, and a supervisor's while they are
        # heard (whispering or barging): a listening one sends nothing, by design.
        heard = self._sampled_ids()
        peers = {pid: peer for pid, peer in self.room.peers().items() if pid in heard}
        self.latest = self.sampler.sample(peers, counts, now)
        self.history.extend(s for s in self.latest if s.source == "microphone")
        changes: list[AlertChange] = []
        for sample in self.latest:
            self.summary.add(sample)
            changes += self.rules.update(sample)
        for change in changes:
            self.summary.alert(change)
        return changes

    def view(self) -> dict[str, Any]:
        """The live quality view of the call, as consoles are sent it."""
        return self.live().to_wire()

    def live(self) -> QualityView:
        """The live quality view of the call: per participant, both directions, in words."""
        parties = []
        active = self.rules.active
        for participant in self._sampled():
            pid = participant.participant_id
            role = self._role_of(pid)
            mine = [s for s in self.latest if s.participant_id == pid]
            if not mine:
                continue
            alerts = [a for a in active if a.participant_id == pid]
            scores = [s.mos for s in mine if s.mos is not None]
            mos = min(scores) if scores else None
            voice = [a for a in alerts if a.touches("audio")]
            rating, reason = _rating(mos, [a.message for a in voice])
            cause = voice[0].kind if voice else None
            parties.append(
                PartyQuality(
                    participant_id=pid,
                    role=role,
                    name=participant.name,
                    mos=mos,
                    rating=rating,
                    reason=reason,
                    suggestion=_suggestion(rating, cause, role, self.media),
                    video=_video_rating(mine, alerts),
                    samples=tuple(mine),
                    reported=self._recent_report(pid),
                )
            )
        return QualityView(self.call_id, round(time.time(), 3), tuple(parties), tuple(active))

    def line(self, participant_id: str, since: float, until: float) -> LineQuality | None:
        """How ``participant_id``'s microphone reached the server between two Unix times.

        The worst second counts: a word lost to a burst of loss is lost even if the
        rest of the utterance was clean. ``None`` when nothing was measured then.
        """
        samples = [
            s
            for s in self.history
            if s.participant_id == participant_id
            and s.direction is Direction.INBOUND
            and since - 1.0 <= s.at <= until + 1.0
        ]
        if not samples:
            return None
        scores = [s.mos for s in samples if s.mos is not None]
        losses = [s.loss_pct for s in samples if s.loss_pct is not None]
        jitters = [s.jitter_ms for s in samples if s.jitter_ms is not None]
        mos = min(scores) if scores else None
        rating, _ = _rating(mos, [])
        return LineQuality(
            mos=mos,
            loss_pct=max(losses) if losses else None,
            jitter_ms=max(jitters) if jitters else None,
            rating=rating,
            samples=len(samples),
        )

    def _recent_report(self, participant_id: str) -> dict[str, Any] | None:
        report = self.reports.get(participant_id)
        if report is None or time.time() - report["at"] > REPORT_SHOWN_S:
            return None
        return report

    def call(self) -> CallValue | None:
        """The call as this node knows it now."""
        return self._known(self.call_id)

    def _sampled(self) -> list[ParticipantValue | MonitorValue]:
        """Whose lines are measured: the parties, and supervisors while they are heard."""
        call = self.call()
        if call is None:
            return []
        speaking = [m for m in call.monitors if m.mode.speaks]
        return [*call.participants, *speaking]

    def _sampled_ids(self) -> set[str]:
        return {p.participant_id for p in self._sampled()}

    def _role_of(self, participant_id: str) -> str:
        speaker = speaker_of(self.call(), participant_id)
        return speaker[0] if speaker is not None else "participant"


def _video_rating(samples: list[StreamSample], alerts: list[Alert]) -> dict[str, str] | None:
    """The party's video on its own: a camera's trouble is not a voice's (MOS is the voice's).

    ``None`` when the party has no video either way.
    """
    troubles = [a for a in alerts if a.touches("video")]
    if troubles:
        return {"rating": "poor", "reason": troubles[0].message}
    if any(s.kind == "video" for s in samples):
        return {"rating": "good", "reason": ""}
    return None


def _rating(mos: float | None, alerts: list[str]) -> tuple[str, str]:
    if alerts:
        return "poor", alerts[0]
    if mos is None:
        return "unknown", "measuring"
    if mos < FAIR_MOS:
        return "poor", f"the line sounds poor (MOS {mos:.1f})"
    if mos < GOOD_MOS:
        return "fair", f"the line is a little unsteady (MOS {mos:.1f})"
    return "good", ""


def _suggestion(rating: str, cause: AlertKind | None, role: str, media: str) -> str:
    """What to do about a poor line, in words for the agent (about the customer or themself)."""
    if rating != "poor":
        return ""
    customer = role == "customer"
    if role == "supervisor":
        return "the supervisor's own connection is poor: they should move to a better one"
    if cause is AlertKind.NO_AUDIO:
        if customer:
            return "ask the customer to check that their microphone is on and not muted"
        return "check that your microphone or headset is on and not muted"
    if media == "video":
        return "switch to audio only: it needs far less of the network"
    if customer:
        return "ask them to move to a stronger signal, or call back on another network"
    return "move closer to your Wi-Fi, or use a wired connection"


class QualityMonitor:
    """Samples every watched call each ``interval`` seconds and tells who needs to know."""

    def __init__(
        self,
        config: Config,
        recordings: CallRecordings,
        send: Send,
        *,
        watchers: Watchers | None = None,
    ) -> None:
        self.interval = config.quality_interval_s
        self._watchers = watchers
        self.thresholds = thresholds_from(config)
        self._recordings = recordings
        self._send = send
        self._calls: dict[str, CallQuality] = {}
        self.listeners: list[QualityListener] = []
        # CPU this thread spent sampling, judging and describing (not sending): what
        # `kotha bench quality` reports as the sampler's cost.
        self.cpu_s = 0.0
        self.ticks = 0
        self._frames_of_ended_calls = 0

    def watch(self, call: CallValue, room: Room, known: Callable[[str], CallValue | None]) -> None:
        """Sample ``call`` from now on; ``known`` gives the node's latest view of a call."""
        self._calls[call.call_id] = CallQuality(call, room, self.thresholds, known)

    def unwatch(self, call_id: str) -> dict[str, Any] | None:
        """Stop sampling the call; its summary (also written to the recording's timeline)."""
        quality = self._calls.pop(call_id, None)
        if quality is None:
            return None
        self._frames_of_ended_calls += quality.frames_metered
        summary = quality.summary.to_dict()
        self._recordings.event(call_id, EntryType.QUALITY_SUMMARY, summary=summary)
        return summary

    def participant_left(self, call_id: str, participant_id: str) -> None:
        """A party left a call that goes on: their figures go, their alerts clear."""
        quality = self._calls.get(call_id)
        if quality is None:
            return
        quality.meter.forget(participant_id)
        quality.sampler.forget(participant_id)
        quality.reports.pop(participant_id, None)
        for change in quality.rules.forget(participant_id):
            self._recordings.event(call_id, EntryType.QUALITY_ALERT, **change.to_wire())

    def report(self, call_id: str, participant_id: str, role: str, report: dict[str, Any]) -> None:
        """Keep a page's report (one per REPORT_MIN_INTERVAL_S at most); put it on the timeline."""
        quality = self._calls.get(call_id)
        if quality is None:
            raise CallStateError("this call's quality is not being measured")
        now = time.time()
        last = quality.reports.get(participant_id)
        if last is not None and now - last["at"] < REPORT_MIN_INTERVAL_S:
            raise RateLimitedError(
                f"quality reports are taken at most every {REPORT_MIN_INTERVAL_S:.0f} s"
            )
        quality.reports[participant_id] = {"at": round(now, 3), **report}
        self._recordings.event(
            call_id,
            EntryType.QUALITY_REPORT,
            participant_id=participant_id,
            role=role,
            report=report,
        )

    @property
    def frames_metered(self) -> int:
        """Frames the meter taps have counted, all calls (the bench's tap cost rests on it)."""
        live = sum(q.frames_metered for q in self._calls.values())
        return self._frames_of_ended_calls + live

    def quality(self, call_id: str) -> CallQuality | None:
        return self._calls.get(call_id)

    async def run(self) -> None:
        """Sample on a steady beat (a slow tick does not push the next one later)."""
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self.interval
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at = max(next_at + self.interval, loop.time())
            try:
                await self.tick()
            except Exception:
                logger.exception("quality sampling failed; trying again next tick")

    async def tick(self) -> None:
        now = time.time()
        self.ticks += 1
        for call_id, quality in list(self._calls.items()):
            started = time.thread_time()
            changes = quality.step(now)
            for listener in self.listeners:
                listener(call_id, quality.latest, changes)
            samples = [s.to_wire() for s in quality.latest]
            live = quality.live() if samples else None
            quality.latest_view = live
            view = None if live is None else live.to_wire()
            if live is not None:
                quality.recent.append(live.to_chart())
            self.cpu_s += time.thread_time() - started
            if samples:
                self._recordings.event(call_id, EntryType.QUALITY_SAMPLE, samples=samples)
            call = quality.call()
            agent = call.agent if call is not None else None
            for change in changes:
                self._recordings.event(call_id, EntryType.QUALITY_ALERT, **change.to_wire())
                logger.info(
                    "quality alert %s: %s",
                    "fired" if change.active else "cleared",
                    change.alert.message,
                )
                payload = {"call_id": call_id, **change.to_wire()}
                if agent is not None:
                    await self._send(
                        call_id, agent.participant_id, ServerEvent.QUALITY_ALERT, payload
                    )
                if self._watchers is not None:
                    await self._watchers(call_id, ServerEvent.QUALITY_ALERT, payload)
            if view is None:
                continue
            if agent is not None:
                await self._send(call_id, agent.participant_id, ServerEvent.QUALITY_UPDATED, view)
            if self._watchers is not None:
                await self._watchers(call_id, ServerEvent.QUALITY_UPDATED, view)
