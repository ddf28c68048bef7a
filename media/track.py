"""One subscriber's copy of a source: keyframe gating, timestamps, and the send itself."""

from __future__ import annotations

import asyncio
import fractions
import logging
from collections.abc import Callable
from typing import Protocol

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .source import EncodedFrame, SourceKey

logger = logging.getLogger(__name__)

AUDIO_CLOCK_RATE = 48000
VIDEO_CLOCK_RATE = 90000
# One frame on each clock: 20 ms of Opus, one video frame at 30 fps. Used to
# keep timestamps moving forward when the source restarts (a fresh peer).
_FRAME_STEP = {"audio": 960, "video": 3000}
_TIME_BASE = {
    "audio": fractions.Fraction(1, AUDIO_CLOCK_RATE),
    "video": fractions.Fraction(1, VIDEO_CLOCK_RATE),
}


class FrameOutput(Protocol):
    """Where a forwarded frame goes: a sender's RTP stream (``aiortc_compat.FrameSender``)."""

    def ready(self) -> bool: ...
    def send(self, data: bytes, pts: int, time_base: fractions.Fraction) -> bool: ...


class ForwardedTrack(MediaStreamTrack):
    """Forwards one source's encoded frames to one subscriber, as they arrive.

    The frame is sent from the publisher's receive callback through the
    subscriber's sender (:class:`~media.aiortc_compat.FrameSender`): no queue,
    no task hop, so a frame spends microseconds in the server and a slow
    subscriber has nothing to pile up (the socket buffer drops for it). The
    sender still holds this track, whose ``recv()`` only waits for the end,
    so aiortc's own send loop stays parked.

    Video starts at a keyframe and, after frames were lost on the way,
    waits for the next one, asking the source for it: a receiver never gets
    a frame it cannot decode.
    """

    def __init__(self, key: SourceKey, kind: str, request_keyframe: Callable[[], None]) -> None:
        super().__init__()
        self.kind = kind
        self.key = key
        self._request_keyframe = request_keyframe
        self._output: FrameOutput | None = None
        self._time_base = _TIME_BASE[kind]
        self._step = _FRAME_STEP[kind]
        self._needs_keyframe = kind == "video"
        self._epoch: int | None = None
        self._offset = 0
        self._last_pts: int | None = None
        self._ended: asyncio.Future[None] | None = None
        self.gated = False
        """Closed: frames are held back (a supervisor's microphone the subscriber may not hear)."""
        self.frames_forwarded = 0
        self.frames_dropped = 0
        self.frames_gated = 0

    def send_through(self, output: FrameOutput) -> None:
        self._output = output

    def wait_for_keyframe(self) -> None:
        """Video after a gap (a gate reopened): nothing until a keyframe, or it smears."""
        if self.kind == "video":
            self._needs_keyframe = True

    def push(self, frame: EncodedFrame) -> None:
        """Send one frame now (called on the packet path: keep it cheap)."""
        if self.gated:
            # Not a loss: to the subscriber a closed gate looks like a pause in the
            # speech (the timestamps jump, the sequence numbers do not), as with DTX.
            self.frames_gated += 1
            return
        output = self._output
        if output is None or not output.ready() or self.readyState != "live":
            self._drop()
            return
        if self._needs_keyframe:
            if not frame.keyframe:
                self._drop()
                return
            self._needs_keyframe = False
        if output.send(frame.data, self._pts(frame), self._time_base):
            self.frames_forwarded += 1
        else:
            self._drop()

    async def recv(self) -> None:  # type: ignore[override]
        """Never yields a frame: frames are sent by :meth:`push`. Ends with the track."""
        if self.readyState == "live":
            if self._ended is None:
                self._ended = asyncio.get_running_loop().create_future()
            await self._ended
        raise MediaStreamError

    def stop(self) -> None:
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)
        super().stop()

    def _pts(self, frame: EncodedFrame) -> int:
        if frame.epoch != self._epoch:
            # A new epoch starts its timestamps at 0 again; continue from
            # where the last one stopped so the receiver sees a gap, not a jump back.
            self._epoch = frame.epoch
            start = 0 if self._last_pts is None else self._last_pts + self._step
            self._offset = start - frame.timestamp
        pts = frame.timestamp + self._offset
        self._last_pts = pts
        return pts

    def _drop(self) -> None:
        self.frames_dropped += 1
        if self.kind == "video":
            # The receiver's decoder now misses a reference: start again at a keyframe.
            self._needs_keyframe = True
            self._request_keyframe()
