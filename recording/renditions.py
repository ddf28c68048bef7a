"""Renditions made from a finished recording's stream files (they are kept as they are).

* ``dual-channel.wav``: the customer on the left channel, the agent on the
  right, 16 kHz 16-bit PCM, the layout speech-analytics tools take for
  separating speakers.
* ``playback.webm``: both parties mixed to one Opus track with cues, for
  the reviewer's player: small, and seekable at once in a one-hour call.

Both are made by decoding the Opus stream files once, in a worker thread.
Samples are placed by timestamp into memory-mapped scratch files, so a long
call costs disk, not memory.
"""

from __future__ import annotations

import fractions
import tempfile
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np

RATE = 16000
CHUNK = RATE * 10  # samples written per step
DUAL_CHANNEL = "dual-channel.wav"
PLAYBACK = "playback.webm"
# Which party goes on which channel of the dual-channel file. A supervisor who
# whispered or barged in speaks on the contact centre's side, with the agent.
CHANNEL_OF_ROLE = {"customer": 0, "agent": 1, "supervisor": 1}


def make_renditions(
    folder: Path, streams: list[dict[str, Any]], duration_ms: int
) -> dict[str, Any]:
    """Write dual-channel.wav and playback.webm from the microphone streams; describe them."""
    length = max(1, duration_ms * RATE // 1000 + RATE // 10)
    voices = [s for s in streams if s.get("source") == "microphone" and s.get("kind") == "audio"]
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        channels = [
            np.memmap(Path(scratch) / f"ch{n}.raw", dtype=np.int16, mode="w+", shape=(length,))
            for n in range(2)
        ]
        for stream in voices:
            channel = CHANNEL_OF_ROLE.get(stream.get("role") or "", 1)
            _place(folder / stream["file"], channels[channel])
        _write_wav(folder / DUAL_CHANNEL, channels, length)
        _write_playback(folder / PLAYBACK, channels, length)
        del channels  # unmaps the scratch files before their folder is removed
    return {
        "dual_channel": {"file": DUAL_CHANNEL, "rate": RATE, "left": "customer", "right": "agent"},
        "playback": {"file": PLAYBACK},
    }


def _place(path: Path, channel: np.ndarray) -> None:
    """Decode an Opus stream file and add it, at its timestamps, to ``channel`` (16 kHz)."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    with av.open(str(path)) as container:
        try:
            for frame in container.decode(audio=0):
                if frame.pts is None or frame.time_base is None:
                    continue
                start = round(float(frame.pts * frame.time_base) * RATE)
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1)
                    _mix_into(channel, start, samples)
                    start += len(samples)
        except av.FFmpegError:
            pass  # a file cut off by a crash: keep what decoded


def _mix_into(channel: np.ndarray, start: int, samples: np.ndarray) -> None:
    end = min(len(channel), start + len(samples))
    if start >= end:
        return
    mixed = channel[start:end].astype(np.int32) + samples[: end - start]
    channel[start:end] = np.clip(mixed, -32768, 32767).astype(np.int16)


def _chunks(length: int) -> Iterable[tuple[int, int]]:
    for start in range(0, length, CHUNK):
        yield start, min(length, start + CHUNK)


def _write_wav(path: Path, channels: Sequence[np.ndarray], length: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for start, end in _chunks(length):
            stereo = np.empty((end - start, 2), dtype="<i2")
            stereo[:, 0] = channels[0][start:end]
            stereo[:, 1] = channels[1][start:end]
            out.writeframes(stereo.tobytes())
    tmp.replace(path)


def _write_playback(path: Path, channels: Sequence[np.ndarray], length: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with av.open(str(tmp), "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        stream.bit_rate = 32000
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        for start, end in _chunks(length):
            mix = (channels[0][start:end].astype(np.int32) + channels[1][start:end]) // 2
            frame = av.AudioFrame.from_ndarray(
                mix.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = RATE
            frame.pts = start
            frame.time_base = fractions.Fraction(1, RATE)
            for resampled in resampler.resample(frame):
                for packet in stream.encode(resampled):
                    out.mux(packet)
        for resampled in resampler.resample(None):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    tmp.replace(path)
