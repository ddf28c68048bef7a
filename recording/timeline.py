"""A recording's timeline: one JSON line per event in events.jsonl, on the call clock.

What happens in a call (a stream starts, the recording pauses, an utterance is
final, a quality alert fires) is appended as it happens, so the timeline is
whole up to a crash. Each entry has its call time (``t_ms``), its Unix time
(``at``), its type and its own fields; the entry types are named here once,
for whoever writes them and whoever reads them back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum, unique
from typing import Any


@unique
class EntryType(StrEnum):
    RECORDING_STARTED = "recording_started"
    RECORDING_CONTINUED = "recording_continued"
    """The node that carried the call is gone; another goes on recording it (a segment)."""
    RECORDING_HANDED_OVER = "recording_handed_over"
    """The node carrying the call is stopping: its segment is closed, another goes on."""
    RECORDING_PAUSED = "recording_paused"
    RECORDING_RESUMED = "recording_resumed"
    RECORDING_STOPPED = "recording_stopped"
    STREAM_STARTED = "stream_started"
    CALL_ENDED = "call_ended"
    CALL_TAGGED = "call_tagged"
    PARTICIPANT_JOINED = "participant_joined"
    PARTICIPANT_LEFT = "participant_left"
    PARTICIPANT_REJOINED = "participant_rejoined"
    TRANSCRIPTION_STATE = "transcription_state"
    TRANSCRIPTION_REFUSED = "transcription_refused"
    UTTERANCE = "utterance"
    TRANSCRIPT_ALERT = "transcript_alert"
    TRANSCRIPT_SUMMARY = "transcript_summary"
    TALK_SPURT = "talk_spurt"
    """A party talked from ``start_ms`` to ``end_ms`` (voice activity of their own audio)."""
    CATEGORY_MATCHED = "category_matched"
    """The call met an operator's category (``match``: category, at_ms, evidence...)."""
    HOLD_STARTED = "hold_started"
    """The agent put the customer on hold (``by``: the agent's participant id)."""
    HOLD_ENDED = "hold_ended"
    """The customer is back from hold (``by``; ``system`` when the call ended on hold)."""
    QUALITY_SAMPLE = "quality_sample"
    QUALITY_ALERT = "quality_alert"
    QUALITY_REPORT = "quality_report"
    QUALITY_SUMMARY = "quality_summary"
    MONITOR_STARTED = "monitor_started"
    MONITOR_MODE_CHANGED = "monitor_mode_changed"
    MONITOR_ENDED = "monitor_ended"
    CALL_REQUEUED = "call_requeued"
    """The call went back to the queue: its agent's connection was lost."""
    CALL_TAKEN_AGAIN = "call_taken_again"
    """The next agent took a call that had gone back to the queue."""


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of events.jsonl."""

    type: str  # an EntryType
    t_ms: int  # call time
    at: float  # Unix time, to the millisecond
    fields: Mapping[str, Any]

    def to_line(self) -> str:
        line = {"t_ms": self.t_ms, "at": self.at, "type": str(self.type), **self.fields}
        return json.dumps(line, ensure_ascii=False, default=str)
