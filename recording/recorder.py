"""The recorder of one call: taps every stream, places frames on the call clock, pauses.

It lives on the event loop but does no I/O there: frames and events go to
the node's writer thread through a queue. Pausing (a customer reading
out a card number) drops the media; the paused stretch is written as
silence, so the recording keeps its length and what follows stays in place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from enum import StrEnum, unique
from pathlib import Path
from typing import Any

from media.clock import CLOCK_RATES, StreamClock
from media.source import EncodedFrame, SourceKey

from .errors import RecordingStateError
from .finalize import finalize, read_events
from .timeline import EntryType, TimelineEntry
from .writer import DiskWriter, RecordingWriter

logger = logging.getLogger(__name__)


@unique
class RecordingState(StrEnum):
    RECORDING = "recording"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Segment:
    """A recording that goes on in a folder an earlier recorder began (the node that held
    the call's media is gone): the ``number``-th part, on the call clock that began at
    ``started_at`` (wall clock), its streams named apart from the earlier parts'."""

    number: int
    started_at: float


def next_segment(folder: Path) -> Segment | None:
    """The segment a recorder starting on ``folder`` writes (None: the folder is new).
    Reads the folder: call it off the event loop."""
    events = read_events(folder)
    parts = [
        e
        for e in events
        if e.get("type") in (EntryType.RECORDING_STARTED, EntryType.RECORDING_CONTINUED)
    ]
    if not parts:
        return None
    return Segment(len(parts) + 1, float(parts[0].get("at") or time.time()))


@dataclass(slots=True)
class _Stream:
    name: str
    kind: str
    clock: StreamClock
    needs_keyframe: bool


class Recorder:
    """Records one call into ``folder``.

    Args:
        disk: the node's writer thread, which writes the files.
        describe: the role and name of a participant, for the timeline.
        request_keyframe: asks a video source for a keyframe (after a pause,
            the file must go on from a picture it can decode).
    """

    def __init__(
        self,
        call_id: str,
        folder: Path,
        *,
        disk: DiskWriter,
        describe: Callable[[str], dict[str, str]],
        request_keyframe: Callable[[SourceKey], None],
        segment: Segment | None = None,
        node: str = "",
    ) -> None:
        self.call_id = call_id
        self.folder = folder
        self.state = RecordingState.RECORDING
        self.segment = segment.number if segment is not None else 1
        self._node = node
        self.started_at = time.time()
        # Call time 0, on EncodedFrame.arrival's clock (a segment goes on from the call's).
        self.started_perf = time.perf_counter()
        if segment is not None:
            self.started_perf -= self.started_at - segment.started_at
            self.started_at = segment.started_at
        self._start = self.started_perf
        self._describe = describe
        self._request_keyframe = request_keyframe
        self._writer = RecordingWriter(folder, disk)
        self._streams: dict[SourceKey, _Stream] = {}

    def start(self, call: dict[str, Any]) -> None:
        self._writer.start()
        if self.segment == 1:
            self.event(
                EntryType.RECORDING_STARTED, call_id=self.call_id, call=call, node=self._node
            )
        else:
            self.event(
                EntryType.RECORDING_CONTINUED,
                call_id=self.call_id,
                segment=self.segment,
                node=self._node,
            )

    def now_ms(self) -> int:
        return round((time.perf_counter() - self._start) * 1000)

    def on_frame(self, key: SourceKey, frame: EncodedFrame) -> None:
        """The tap: called for every frame of every stream, on the packet path."""
        stream = self._streams.get(key)
        if stream is None:
            stream = self._open(key)
        ms = stream.clock.place(frame)  # placed even while paused: the clock keeps its anchor
        if self.state is not RecordingState.RECORDING:
            stream.needs_keyframe = stream.kind == "video"
            return
        if stream.needs_keyframe:
            if not frame.keyframe:
                self._request_keyframe(key)
                return
            stream.needs_keyframe = False
        self._writer.frame(stream.name, stream.kind, frame.data, ms, frame.keyframe)

    def event(self, event_type: str, /, **fields: Any) -> None:
        """Append an event to the call's timeline (events.jsonl), at the call time of now."""
        entry = TimelineEntry(event_type, self.now_ms(), round(time.time(), 3), fields)
        self._writer.event(entry.to_line())

    def pause(self, by: str) -> None:
        if self.state is not RecordingState.RECORDING:
            raise RecordingStateError(f"the recording is {self.state.value}, not recording")
        self.state = RecordingState.PAUSED
        self.event(EntryType.RECORDING_PAUSED, by=by)

    def resume(self, by: str) -> None:
        # The paused stretch becomes silence when the first frame after it is
        # written: the stream file fills any gap in an audio track.
        if self.state is not RecordingState.PAUSED:
            raise RecordingStateError(f"the recording is {self.state.value}, not paused")
        self.state = RecordingState.RECORDING
        self.event(EntryType.RECORDING_RESUMED, by=by)

    async def hand_over(self, to_node: str) -> None:
        """Close this segment's files for another node to go on (this node is stopping);
        the folder is finished by whoever ends the call."""
        if self.state is RecordingState.STOPPED:
            raise RecordingStateError("the recording has already stopped")
        self.state = RecordingState.STOPPED
        self.event(EntryType.RECORDING_HANDED_OVER, to_node=to_node)
        await asyncio.wrap_future(self._writer.stop())

    async def stop(self, finisher: Executor | None = None) -> dict[str, Any]:
        """Close the files and finish the folder in ``finisher``; returns its meta.json."""
        if self.state is RecordingState.STOPPED:
            raise RecordingStateError("the recording has already stopped")
        if self.state is RecordingState.PAUSED:
            # Ended while paused: nothing will close the gap, so fill it now.
            end = self.now_ms()
            for stream in self._streams.values():
                if stream.kind == "audio":
                    self._writer.silence_until(stream.name, end)
            self.event(EntryType.RECORDING_RESUMED, by="system")
        self.state = RecordingState.STOPPED
        self.event(EntryType.RECORDING_STOPPED)
        await asyncio.wrap_future(self._writer.stop())
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(finisher, lambda: finalize(self.folder, recovered=False))

    def _open(self, key: SourceKey) -> _Stream:
        kind = key.source.media_kind
        who = self._describe(key.participant_id)
        name = f"{who.get('role', 'participant')}-{key.source}-{key.participant_id}"
        if self.segment > 1:  # the earlier segments' files stay as they are
            name += f"-s{self.segment}"
        stream = _Stream(
            name=name,
            kind=kind,
            clock=StreamClock(CLOCK_RATES[kind], self._start),
            needs_keyframe=kind == "video",
        )
        self._streams[key] = stream
        self.event(
            EntryType.STREAM_STARTED,
            stream=name,
            participant_id=key.participant_id,
            role=who.get("role"),
            source=str(key.source),
            kind=kind,
        )
        return stream
