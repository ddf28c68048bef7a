"""Routing of encoded frames from each publisher to its subscribers (forwarding, no transcoding)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from . import aiortc_compat
from .source import EncodedFrame, SourceKey, is_vp8_keyframe
from .taps import FrameTap
from .track import ForwardedTrack

logger = logging.getLogger(__name__)

# At most one keyframe request per source in this window: a burst of PLIs from
# several receivers (or from one receiver after a loss burst) costs the
# publisher one keyframe, not many.
KEYFRAME_REQUEST_INTERVAL = 0.3


class Source:
    """One published stream and the tracks that forward it to subscribers."""

    def __init__(self, key: SourceKey) -> None:
        self.key = key
        self.kind = key.source.media_kind
        self.tracks: list[ForwardedTrack] = []
        self.taps: list[FrameTap] = []
        self.admitted = True
        """False: frames are refused on arrival (a listening supervisor's microphone),
        so no subscriber, recorder or transcriber ever gets them."""
        self.frames_received = 0
        self.frames_refused = 0
        self.keyframes_received = 0
        self.keyframes_requested = 0
        self._epoch = 0
        self._receiver: RTCRtpReceiver | None = None
        self._media_ssrc = 0
        self._last_keyframe_request = -KEYFRAME_REQUEST_INTERVAL
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, receiver: RTCRtpReceiver) -> None:
        """Take frames from ``receiver`` from now on (a fresh peer starts a new epoch)."""
        self._epoch += 1
        epoch = self._epoch
        self._receiver = receiver
        self._media_ssrc = 0
        is_video = self.kind == "video"

        def on_frame(codec: RTCRtpCodecParameters, frame: JitterFrame, ssrc: int) -> None:
            if epoch != self._epoch:
                return
            self._media_ssrc = ssrc
            self.frames_received += 1
            if not self.admitted:
                self.frames_refused += 1
                return
            data = frame.data
            keyframe = is_video and is_vp8_keyframe(data)
            self.keyframes_received += keyframe
            encoded = EncodedFrame.now(data, frame.timestamp, keyframe, epoch)
            for track in self.tracks:
                track.push(encoded)
            for tap in self.taps:
                tap(self.key, encoded)

        aiortc_compat.tap_receiver(receiver, on_frame)

    def subscribe(self) -> ForwardedTrack:
        track = ForwardedTrack(self.key, self.kind, self.request_keyframe)
        self.tracks.append(track)
        track.on("ended", lambda: self._forget(track))
        if self.kind == "video":
            # A receiver that joins late must not wait for the next natural
            # keyframe (aiortc and browsers send them only on request).
            self.request_keyframe()
        return track

    def request_keyframe(self) -> None:
        if self.kind != "video" or self._receiver is None or not self._media_ssrc:
            return
        now = time.monotonic()
        if now - self._last_keyframe_request < KEYFRAME_REQUEST_INTERVAL:
            return
        self._last_keyframe_request = now
        self.keyframes_requested += 1
        task = asyncio.get_running_loop().create_task(
            aiortc_compat.request_keyframe(self._receiver, self._media_ssrc),
            name=f"Source({self.key})::pli",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        for track in list(self.tracks):
            track.stop()
        self.tracks.clear()
        self._receiver = None

    def _forget(self, track: ForwardedTrack) -> None:
        if track in self.tracks:
            self.tracks.remove(track)


class Router:
    """The forwarding plane of one call: every source and who receives it."""

    def __init__(self) -> None:
        self._sources: dict[SourceKey, Source] = {}
        self._taps: list[FrameTap] = []

    def add_tap(self, tap: FrameTap) -> None:
        """Give ``tap`` every encoded frame of every source, present and future.

        A tap runs on the packet path (in the socket callback): it must only
        hand the frame on, e.g. to a queue that a worker thread drains.
        """
        self._taps.append(tap)
        for source in self._sources.values():
            source.taps.append(tap)

    def remove_tap(self, tap: FrameTap) -> None:
        if tap in self._taps:
            self._taps.remove(tap)
        for source in self._sources.values():
            if tap in source.taps:
                source.taps.remove(tap)

    def attach(self, key: SourceKey, receiver: RTCRtpReceiver) -> None:
        self.source(key).attach(receiver)

    def subscribe(self, key: SourceKey) -> ForwardedTrack:
        return self.source(key).subscribe()

    def request_keyframe(self, key: SourceKey) -> None:
        source = self._sources.get(key)
        if source is not None:
            source.request_keyframe()

    def source(self, key: SourceKey) -> Source:
        source = self._sources.get(key)
        if source is None:
            source = self._sources[key] = Source(key)
            source.taps.extend(self._taps)
        return source

    def sources(self) -> Iterator[Source]:
        return iter(self._sources.values())

    def remove_participant(self, participant_id: str) -> None:
        """End every stream the participant published."""
        for key in [k for k in self._sources if k.participant_id == participant_id]:
            self._sources.pop(key).close()

    def close(self) -> None:
        for source in self._sources.values():
            source.close()
        self._sources.clear()
