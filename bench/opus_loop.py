"""The Opus loop every client sends: encoded once with libopus, stored in a packet file."""

from __future__ import annotations

import fractions
import struct
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms of Opus, what browsers send
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
LOOP_S = 30.0  # the pre-encoded loop repeats after this; far longer than any latency
OPUS_BITRATE = 32000  # a browser's voice stream


def encode_opus_loop(seconds: float, seed: int = 7) -> list[bytes]:
    """``seconds`` of a voice-like signal, encoded once with libopus; unique packets only.

    Syllable-rate loudness, a gliding pitch with harmonics and a little
    noise keep every 20 ms packet different, so a packet's bytes name it.
    """
    samples = _voice_like(seconds, seed)
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = SAMPLE_RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = OPUS_BITRATE
    codec.time_base = TIME_BASE
    codec.options = {"application": "voip"}
    packets: list[bytes] = []
    for start in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        frame = av.AudioFrame.from_ndarray(
            samples[start : start + FRAME_SAMPLES].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        frame.time_base = TIME_BASE
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    return list(dict.fromkeys(p for p in packets if p))


def _voice_like(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 140 + 40 * np.sin(2 * np.pi * 0.7 * t) + 15 * np.sin(2 * np.pi * 3.1 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + np.sin(2 * np.pi * 0.3 * t))
    signal_ = 6000 * envelope * voice + rng.normal(0, 300, t.size)
    return np.clip(signal_, -32767, 32767).astype(np.int16)


def write_packets(path: Path, packets: Sequence[bytes]) -> None:
    with path.open("wb") as out:
        for packet in packets:
            out.write(struct.pack("!H", len(packet)))
            out.write(packet)


def read_packets(path: Path) -> list[bytes]:
    data = path.read_bytes()
    packets, offset = [], 0
    while offset < len(data):
        (size,) = struct.unpack_from("!H", data, offset)
        packets.append(data[offset + 2 : offset + 2 + size])
        offset += 2 + size
    return packets
