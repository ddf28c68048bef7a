"""One participant stream written to its own WebM file, without re-encoding.

The file is written the way live streams are (FFmpeg's ``live`` mode): no
seeking back to fill in sizes, a cluster at least every second, and every
packet handed to the OS as it is written. A file cut off at any point
therefore still plays up to its last cluster. Used only from the writer
thread: PyAV calls and disk writes never run on the event loop.
"""

from __future__ import annotations

import fractions
import logging
from pathlib import Path

import av
from av.container import OutputContainer

from media.source import vp8_size

logger = logging.getLogger(__name__)

MS = fractions.Fraction(1, 1000)
# Matroska cluster every second at most: what a cut-off file can lose, at worst.
CLUSTER_MS = 1000
WRITE_OPTIONS = {
    "live": "1",
    "cluster_time_limit": str(CLUSTER_MS),
    "flush_packets": "1",
}


AUDIO_FRAME_MS = 20


class StreamFile:
    """A WebM file with one Opus or VP8 track, fed encoded frames in call time (ms).

    An audio track is kept continuous: where frames are missing (lost
    packets, DTX, a paused stretch) it is filled with ``silence`` packets,
    because players and decoders play audio packets back to back, and a gap
    left in the timestamps would pull everything after it forward.
    """

    def __init__(self, path: Path, kind: str, silence: bytes = b"") -> None:
        self.path = path
        self.kind = kind
        self._silence = silence
        self.frames = 0
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self._container: OutputContainer | None = None
        self._stream: av.stream.Stream | None = None

    @property
    def is_open(self) -> bool:
        return self._container is not None

    def write(self, data: bytes, ms: int, keyframe: bool) -> bool:
        """Mux one frame; False when it cannot start the file (video before a keyframe)."""
        if self._container is None and not self._open(data, keyframe):
            return False
        if self.last_ms is not None:
            if ms <= self.last_ms:
                ms = self.last_ms + 1  # Matroska needs increasing timestamps per track
            elif self.kind == "audio" and self._silence:
                missing = round((ms - self.last_ms) / AUDIO_FRAME_MS) - 1
                for n in range(1, missing + 1):
                    self._mux(self._silence, self.last_ms + n * AUDIO_FRAME_MS, True)
        self._mux(data, ms, keyframe)
        if self.first_ms is None:
            self.first_ms = ms
        self.last_ms = ms
        self.frames += 1
        return True

    def _mux(self, data: bytes, ms: int, keyframe: bool) -> None:
        assert self._container is not None and self._stream is not None
        packet = av.Packet(data)
        packet.pts = packet.dts = ms
        packet.time_base = MS
        packet.stream = self._stream
        if keyframe or self.kind == "audio":
            packet.is_keyframe = True
        self._container.mux(packet)

    def close(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except (av.FFmpegError, OSError):
                logger.exception("StreamFile(%s) did not close cleanly", self.path.name)
            self._container = None

    def _open(self, data: bytes, keyframe: bool) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = vp8_size(data) if self.kind == "video" and keyframe else None
        if self.kind == "video" and size is None:
            return False
        container = av.open(str(self.path), "w", format="webm", options=WRITE_OPTIONS)
        stream: av.stream.Stream
        if self.kind == "audio":
            audio = container.add_stream("libopus", rate=48000)
            audio.layout = "stereo"
            stream = audio
        else:
            assert size is not None
            video = container.add_stream("libvpx", rate=90000)
            video.width, video.height = size
            video.pix_fmt = "yuv420p"
            stream = video
        stream.time_base = MS
        self._container, self._stream = container, stream
        return True
