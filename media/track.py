"""The track a server-side sender reads: another participant's frames, forwarded."""

from __future__ import annotations

import asyncio
import fractions
import logging
from collections import deque
from collections.abc import Callable

import av
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
# A subscriber that falls this far behind is a slow consumer: its backlog is
# dropped so that it never holds memory or delays the others (1 s of audio,
# about 4 s of video frames).
_MAX_BACKLOG = {"audio": 50, "video": 120}


class ForwardedTrack(MediaStreamTrack):
    """Hands a sender the encoded frames of one source as ``av.Packet`` objects.

    aiortc's RTCRtpSender packs any ``av.Packet`` its track returns instead of
    encoding, so the frame goes out as it came in. Video starts at a keyframe
    and, after frames were dropped, waits for the next one, asking the source
    for it: a receiver never gets a frame it cannot decode.
    """

    def __init__(
        self,
        key: SourceKey,
        kind: str,
        request_keyframe: Callable[[], None],
    ) -> None:
        super().__init__()
        self.kind = kind
        self.key = key
        self._request_keyframe = request_keyframe
        self._frames: deque[EncodedFrame] = deque()
        self._waiter: asyncio.Future[EncodedFrame] | None = None
        self._time_base = _TIME_BASE[kind]
        self._step = _FRAME_STEP[kind]
        self._max_backlog = _MAX_BACKLOG[kind]
        self._needs_keyframe = kind == "video"
        self._epoch: int | None = None
        self._offset = 0
        self._last_pts: int | None = None
        self.frames_forwarded = 0
        self.frames_dropped = 0
        self.last_frame: EncodedFrame | None = None

    def push(self, frame: EncodedFrame) -> None:
        """Queue one frame for the sender (called on the packet path: keep it cheap)."""
        if self._needs_keyframe:
            if not frame.keyframe:
                self.frames_dropped += 1
                self._request_keyframe()
                return
            self._needs_keyframe = False
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(frame)
                return
        if len(self._frames) >= self._max_backlog:
            self._drop_backlog()
            if self._needs_keyframe and not frame.keyframe:
                return
            self._needs_keyframe = False
        self._frames.append(frame)

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if self._frames:
            frame = self._frames.popleft()
        else:
            waiter: asyncio.Future[EncodedFrame] = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            frame = await waiter
        return self._packet(frame)

    def stop(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(MediaStreamError())
        self._frames.clear()
        super().stop()

    def _packet(self, frame: EncodedFrame) -> av.Packet:
        if frame.epoch != self._epoch:
            # A new epoch starts its timestamps at 0 again; continue from
            # where the last one stopped so the receiver sees a gap, not a jump back.
            self._epoch = frame.epoch
            start = 0 if self._last_pts is None else self._last_pts + self._step
            self._offset = start - frame.timestamp
        pts = frame.timestamp + self._offset
        self._last_pts = pts
        self.frames_forwarded += 1
        self.last_frame = frame
        packet = av.Packet(frame.data)
        packet.pts = pts
        packet.time_base = self._time_base
        return packet

    def _drop_backlog(self) -> None:
        self.frames_dropped += len(self._frames)
        logger.warning(
            "ForwardedTrack(%s) slow consumer: dropped %d queued frames",
            self.key,
            len(self._frames),
        )
        self._frames.clear()
        if self.kind == "video":
            self._needs_keyframe = True
            self._request_keyframe()
