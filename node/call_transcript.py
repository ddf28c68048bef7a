"""One live call's transcript: its streams, what was said, and the customer's mood."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from callcenter.values import CallValue
from media.source import EncodedFrame, SourceKey
from transcribe.alert import TranscriptAlert
from transcribe.mood import Mood
from transcribe.speaker import SpeakerStream
from transcribe.utterance import PartialText, Utterance


def _ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"u{next(counter)}"


@dataclass(slots=True)
class CallTranscript:
    """One call's transcription: its streams, what was said, and the customer's mood."""

    call_id: str
    known: Callable[[], CallValue | None]
    """The call as the node knows it now (who is in it)."""
    language: str  # the speech model's language
    call_start: float  # perf_counter() of call time 0 (the recording's)
    call_start_wall: float
    state: str = "starting"  # starting, active, unavailable, off
    reason: str = ""
    model: object | None = None
    paused: bool = False
    streams: dict[str, SpeakerStream] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # participant id -> why
    utterances: list[Utterance] = field(default_factory=list)
    partials: dict[str, PartialText] = field(default_factory=dict)  # participant id -> latest
    mood: Mood = field(default_factory=Mood)
    ids: Callable[[], str] = field(default_factory=_ids)
    tap: Callable[[SourceKey, EncodedFrame], None] | None = None
    lag_shown: bool = False
    raised: deque[tuple[float, TranscriptAlert]] = field(default_factory=lambda: deque(maxlen=20))
    """The latest alerts with the Unix time they were raised (the floor shows recent keywords)."""

    def view(self, lag_s: float) -> dict[str, Any]:
        """The transcript so far, for a console that (re)opens mid-call."""
        return {
            "call_id": self.call_id,
            **self.status(lag_s),
            "utterances": [utterance.to_wire() for utterance in self.utterances],
            "partials": [partial.to_wire() for partial in self.partials.values()],
            "mood": self.mood.to_wire(),
        }

    def status(self, lag_s: float) -> dict[str, Any]:
        streams = {}
        call = self.known()
        for participant in call.participants if call is not None else ():
            pid = participant.participant_id
            if pid in self.streams:
                streams[pid] = {"role": participant.role, "state": "transcribing"}
            elif pid in self.refused:
                streams[pid] = {
                    "role": participant.role,
                    "state": "refused",
                    "reason": self.refused[pid],
                }
        return {
            "state": self.state,
            "language": self.language,
            "reason": self.reason,
            "paused": self.paused,
            "lag_ms": round(lag_s * 1000),
            "streams": streams,
        }
