"""Quality alerts that fire and clear: a bad second is noise, three of five is a problem.

One trouble is one alert: a slow or lossy line shows on every stream of the party (audio
and video, both ways), so the streams' alerts of one kind are one alert per participant,
naming the streams it covers. It fires with the first stream and clears with the last.

The rules are those of public WebRTC SDKs (Twilio's voice SDK warns when 3
of the last 5 one-second samples are bad): one lost burst or one slow
round trip does not alarm anybody, a connection that stays bad does. An
alert clears when at most one of the last five samples is still bad, so it
does not flap at the edge of its threshold.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum, unique

from .sample import Direction, StreamSample


@unique
class AlertKind(StrEnum):
    HIGH_JITTER = "high_jitter"
    HIGH_LOSS = "high_loss"
    HIGH_RTT = "high_rtt"
    LOW_MOS = "low_mos"
    NO_AUDIO = "no_audio"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a sample is bad. Defaults are Twilio's, except loss (1 % is audible only in bursts)."""

    jitter_ms: float = 30.0
    loss_pct: float = 3.0
    video_jitter_ms: float = 100.0  # video's own (config: quality_video_*)
    video_loss_pct: float = 5.0
    loss_average_pct: float = 3.0  # ...or this, averaged over the last LOSS_AVERAGE_SAMPLES
    rtt_ms: float = 400.0
    mos: float = 3.0  # bad below this
    no_audio_s: int = 3  # seconds without a packet from a participant's microphone
    window: int = 5
    needed: int = 3  # bad samples in the window that fire an alert
    clear_at: int = 1  # the alert clears when no more than this many are bad


LOSS_AVERAGE_SAMPLES = 7


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert on one participant's stream, with what it is in words."""

    kind: AlertKind
    participant_id: str
    role: str
    direction: Direction
    media: str
    value: float
    threshold: float
    message: str
    covers: tuple[tuple[Direction, str], ...] = ()
    """The streams (direction, medium) in trouble; empty: just this alert's own."""

    def touches(self, media: str) -> bool:
        """Whether any stream in this trouble is ``media`` ("audio" or "video")."""
        return any(m == media for _, m in (self.covers or ((self.direction, self.media),)))

    def to_wire(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "participant_id": self.participant_id,
            "role": self.role,
            "direction": self.direction.value,
            "kind_of_media": self.media,
            "value": round(self.value, 1),
            "threshold": self.threshold,
            "message": self.message,
            "covers": [
                {"direction": d.value, "kind_of_media": m}
                for d, m in (self.covers or ((self.direction, self.media),))
            ],
        }


@dataclass(frozen=True, slots=True)
class AlertChange:
    alert: Alert
    active: bool  # True: fired; False: cleared

    def to_wire(self) -> dict[str, object]:
        """The change as consoles are sent it and the timeline keeps it."""
        return {"alert": self.alert.to_wire(), "active": self.active}


@dataclass(slots=True)
class _Rule:
    kind: AlertKind
    value: Callable[[StreamSample], float | None]
    above: bool  # bad above the threshold (else below)
    audio: float
    video: float

    def threshold(self, media: str) -> float:
        return self.video if media == "video" else self.audio

    def bad(self, value: float, media: str) -> bool:
        limit = self.threshold(media)
        return value > limit if self.above else value < limit


def _rules(t: Thresholds) -> list[_Rule]:
    return [
        _Rule(AlertKind.HIGH_JITTER, lambda s: s.jitter_ms, True, t.jitter_ms, t.video_jitter_ms),
        _Rule(AlertKind.HIGH_LOSS, lambda s: s.loss_pct, True, t.loss_pct, t.video_loss_pct),
        _Rule(AlertKind.HIGH_RTT, lambda s: s.rtt_ms, True, t.rtt_ms, t.rtt_ms),
        _Rule(AlertKind.LOW_MOS, lambda s: s.mos, False, t.mos, t.mos),
    ]


@dataclass(slots=True)
class _StreamState:
    history: dict[AlertKind, deque[bool]] = field(default_factory=dict)
    values: dict[AlertKind, deque[float]] = field(default_factory=dict)
    active: dict[AlertKind, Alert] = field(default_factory=dict)
    silent_s: int = 0


@dataclass(slots=True)
class _Trouble:
    """One participant's alerts of one kind: the alert announced, and each stream's own."""

    announced: Alert
    streams: dict[tuple[Direction, str], Alert]

    def alert(self) -> Alert:
        """The announced alert, naming every stream it covers now."""
        covers = tuple(sorted(self.streams, key=lambda k: (k[1] != "audio", k[0].value)))
        first = self.announced
        message = describe_streams(first.kind, first.role, covers, first.value)
        return replace(first, covers=covers, message=message)


class AlertRules:
    """The alert state of every stream of a call; feed it each second's samples."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self._rules = _rules(self.thresholds)
        self._streams: dict[tuple[str, Direction, str], _StreamState] = {}  # (who, way, source)
        self._troubles: dict[tuple[str, AlertKind], _Trouble] = {}

    @property
    def active(self) -> list[Alert]:
        """One alert per participant and kind, naming the streams it covers."""
        return [trouble.alert() for trouble in self._troubles.values()]

    def update(self, sample: StreamSample) -> list[AlertChange]:
        """Take one sample; return the alerts it fired or cleared (one per trouble)."""
        return self._gather(self._update_stream(sample))

    def _gather(self, changes: list[AlertChange]) -> list[AlertChange]:
        """Streams' alerts into troubles: fired with the first stream, cleared with the last."""
        out: list[AlertChange] = []
        for change in changes:
            stream_alert = change.alert
            key = (stream_alert.participant_id, stream_alert.kind)
            stream = (stream_alert.direction, stream_alert.media)
            trouble = self._troubles.get(key)
            if change.active:
                if trouble is None:
                    trouble = self._troubles[key] = _Trouble(stream_alert, {stream: stream_alert})
                    out.append(AlertChange(trouble.alert(), active=True))
                else:
                    trouble.streams[stream] = stream_alert
            elif trouble is not None:
                trouble.streams.pop(stream, None)
                if not trouble.streams:
                    del self._troubles[key]
                    out.append(AlertChange(trouble.announced, active=False))
        return out

    def _update_stream(self, sample: StreamSample) -> list[AlertChange]:
        key = (sample.participant_id, sample.direction, sample.source)
        state = self._streams.setdefault(key, _StreamState())
        changes: list[AlertChange] = []
        t = self.thresholds
        for rule in self._rules:
            value = rule.value(sample)
            if value is None:
                continue  # not measured this second: the window waits
            history = state.history.setdefault(rule.kind, deque(maxlen=t.window))
            values = state.values.setdefault(rule.kind, deque(maxlen=LOSS_AVERAGE_SAMPLES))
            history.append(rule.bad(value, sample.kind))
            values.append(value)
            bad = sum(history)
            firing = bad >= t.needed
            if rule.kind is AlertKind.HIGH_LOSS and len(values) == LOSS_AVERAGE_SAMPLES:
                average = sum(values) / len(values)
                limit = t.video_loss_pct if sample.kind == "video" else t.loss_average_pct
                if not firing and average > limit:
                    # Fired by the average: say the average, not this second's figure.
                    firing, value = True, average
            changes += self._settle(
                state,
                rule.kind,
                sample,
                value=value,
                threshold=rule.threshold(sample.kind),
                firing=firing,
                bad=bad,
            )
        if sample.kind == "audio" and sample.direction is Direction.INBOUND:
            state.silent_s = state.silent_s + 1 if sample.packets == 0 else 0
            firing = state.silent_s >= t.no_audio_s
            changes += self._settle(
                state,
                AlertKind.NO_AUDIO,
                sample,
                value=state.silent_s,
                threshold=t.no_audio_s,
                firing=firing,
                bad=0,
            )
        return changes

    def forget(self, participant_id: str) -> list[AlertChange]:
        """The participant left: their alerts clear."""
        changes = []
        for key in [k for k in self._streams if k[0] == participant_id]:
            state = self._streams.pop(key)
            changes += [AlertChange(alert, active=False) for alert in state.active.values()]
        return self._gather(changes)

    def _settle(
        self,
        state: _StreamState,
        kind: AlertKind,
        sample: StreamSample,
        *,
        value: float,
        threshold: float,
        firing: bool,
        bad: int,
    ) -> list[AlertChange]:
        current = state.active.get(kind)
        if current is None and firing:
            alert = Alert(
                kind,
                sample.participant_id,
                sample.role,
                sample.direction,
                sample.kind,
                float(value),
                threshold,
                describe(kind, sample.role, sample.direction, sample.kind, float(value)),
            )
            state.active[kind] = alert
            return [AlertChange(alert, active=True)]
        # Not while it is still firing (loss fires on its average too: no flapping).
        clears = not firing and (kind is AlertKind.NO_AUDIO or bad <= self.thresholds.clear_at)
        if current is not None and clears:
            del state.active[kind]
            return [AlertChange(current, active=False)]
        return []


def describe(kind: AlertKind, role: str, direction: Direction, media: str, value: float) -> str:
    """An alert in words an agent or supervisor can act on."""
    way = f"{'from' if direction is Direction.INBOUND else 'to'} the {role}"
    if kind is AlertKind.HIGH_LOSS:
        return f"the {role}'s network is losing {value:.0f}% of {media} packets ({way})"
    if kind is AlertKind.HIGH_JITTER:
        return f"the {role}'s network delivers {media} unevenly: jitter {value:.0f} ms ({way})"
    if kind is AlertKind.HIGH_RTT:
        return f"the {role}'s connection is slow: {value:.0f} ms round trip, expect talk-over"
    if kind is AlertKind.LOW_MOS:
        heard = "sounds" if direction is Direction.INBOUND else "hears the call"
        return f"the {role} {heard} poor (MOS {value:.1f})"
    return f"no audio from the {role} for {value:.0f} s: a muted or failed microphone, or one-way"


def describe_streams(
    kind: AlertKind, role: str, covers: tuple[tuple[Direction, str], ...], value: float
) -> str:
    """One alert's words for every stream it covers, each medium and direction named once."""
    if len(covers) <= 1 or kind in (AlertKind.HIGH_RTT, AlertKind.NO_AUDIO):
        direction, media = covers[0] if covers else (Direction.INBOUND, "audio")
        return describe(kind, role, direction, media, value)
    media = " and ".join(dict.fromkeys(m for _, m in covers))
    ways = {d for d, _ in covers}
    if len(ways) == 2:
        way = f"both ways: from and to the {role}"
    else:
        way = f"{'from' if Direction.INBOUND in ways else 'to'} the {role}"
    if kind is AlertKind.HIGH_LOSS:
        return f"the {role}'s network is losing {value:.0f}% of {media} packets ({way})"
    if kind is AlertKind.HIGH_JITTER:
        return f"the {role}'s network delivers {media} unevenly: jitter {value:.0f} ms ({way})"
    return f"the {role}'s call sounds poor ({way}; MOS {value:.1f})"
