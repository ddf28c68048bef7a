"""Opus frames from the media tap, decoded to what Vosk hears: 16 kHz mono 16-bit PCM.

Only transcription decodes: the relay forwards the encoded frames as they
came. Decoding and resampling are work, so this runs in a transcription
worker thread, never on the event loop.
"""

from __future__ import annotations

import av

from .recognizer import BYTES_PER_SAMPLE, SAMPLE_RATE

OPUS_RATE = 48000


class OpusDecoder:
    """Decodes one stream's Opus frames (in order) to 16 kHz mono PCM."""

    def __init__(self) -> None:
        self._codec = av.CodecContext.create("opus", "r")
        self._codec.sample_rate = OPUS_RATE
        self._codec.layout = "stereo"
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        # 48 kHz samples in the last frame decoded: what its RTP timestamp advances by. (The
        # PCM out of the resampler may be a little shorter or longer while it fills.)
        self.last_samples = 0

    def decode(self, data: bytes) -> bytes:
        """The PCM of one Opus frame; a frame that does not decode is heard as nothing."""
        try:
            frames = self._codec.decode(av.Packet(data))
        except av.FFmpegError:
            self.last_samples = 0
            return b""
        self.last_samples = sum(frame.samples for frame in frames)
        return b"".join(
            bytes(out.planes[0])[: out.samples * BYTES_PER_SAMPLE]
            for frame in frames
            for out in self._resampler.resample(frame)
        )


def silence(ms: float) -> bytes:
    """``ms`` of silence as 16 kHz mono PCM."""
    return bytes(round(ms * SAMPLE_RATE / 1000) * BYTES_PER_SAMPLE)
