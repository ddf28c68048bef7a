"""One participant's microphone, listened to for talk: encoded frames in, talk spurts out.

The tap only queues the encoded frame; a worker thread then places each frame on
the call clock (the recording's, so spurts line up with what is played back and
with the transcript's word times), decodes it and measures its level. Nothing
is decoded on the event loop, and no speech model is needed: a Bengali call is
measured the same as any other.
"""

from __future__ import annotations

import time
from collections import deque

import av
import numpy as np

from media.clock import StreamClock
from media.source import EncodedFrame

from .voice import SILENT_DB, TalkSpurt, VoiceActivity, level_db

OPUS_RATE = 48000
# At most this many queued frames are measured in one go (a second of audio).
MAX_BATCH_FRAMES = 50


class OpusLevels:
    """Decodes one stream's Opus frames (in order) and measures each one's level."""

    def __init__(self) -> None:
        self._codec = av.CodecContext.create("opus", "r")
        self._codec.sample_rate = OPUS_RATE
        self._codec.layout = "mono"  # libopus mixes down while it decodes: no resampler

    def level(self, data: bytes) -> float:
        """The level of one frame in dBFS; a frame that does not decode is heard as silence."""
        try:
            frames = self._codec.decode(av.Packet(data))
        except av.FFmpegError:
            return SILENT_DB
        if not frames:
            return SILENT_DB
        return level_db(np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames]))


class TalkStream:
    """The talk of one participant, measured in the node's talk worker.

    Args:
        participant_id: whose microphone.
        role: customer, agent or supervisor (what the spurts are counted as).
        call_start: the call clock's zero on ``time.perf_counter()``'s clock.
    """

    def __init__(self, participant_id: str, role: str, *, call_start: float) -> None:
        self.participant_id = participant_id
        self.role = role
        self.inbox: deque[EncodedFrame] = deque()
        self.busy = False  # a job of this stream is queued or running
        self.last_arrival: float | None = None
        self.cpu_s = 0.0  # the worker thread's CPU time spent on it
        self._clock = StreamClock(OPUS_RATE, call_start)
        self._levels: OpusLevels | None = None  # made by the first job, in the worker
        self._voice = VoiceActivity()
        self._last_ms = 0

    @property
    def talking(self) -> bool:
        return self._voice.talking

    def process(self) -> list[TalkSpurt]:
        """Measure what is queued (in a worker thread); the spurts it closed."""
        started = time.thread_time()
        if self._levels is None:
            self._levels = OpusLevels()
        spurts: list[TalkSpurt] = []
        for _ in range(MAX_BATCH_FRAMES):
            try:
                frame = self.inbox.popleft()
            except IndexError:
                break
            t_ms = self._clock.place(frame)
            spurts += self._voice.add(t_ms, self._levels.level(frame.data))
            self._last_ms = t_ms
        self.cpu_s += time.thread_time() - started
        return spurts

    def flush(self) -> list[TalkSpurt]:
        """Nothing more is coming for now (muted, paused, hung up): close the open spurt."""
        return self._voice.flush()
