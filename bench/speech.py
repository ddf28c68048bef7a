"""The speech ``kotha bench transcribe`` feeds: support-call phrases, spoken and Opus-encoded.

espeak-ng's Korean voice says each phrase, followed by silence, over a faint noise floor;
aiortc's own ``OpusEncoder`` cuts it into 20 ms frames of 48 kHz, as a WebRTC sender
would. Where each phrase's speech begins and ends is kept, to the frame, so latencies
can be measured from it.
"""

from __future__ import annotations

import fractions
import math
import shutil
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from aiortc.codecs.opus import OpusEncoder
from av import AudioFrame

PHRASES = (
    "안녕하세요",
    "주문 번호를 알려 주세요",
    "배송이 늦어서 죄송합니다",
    "환불해 드리겠습니다",
    "잠시만 기다려 주세요",
    "좋은 하루 되세요",
)
LANGUAGE = "ko"
SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms, what browsers send
FRAME_MS = 1000 * FRAME_SAMPLES // SAMPLE_RATE
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
LEAD_S = 0.5  # silence before the first phrase
GAP_S = 1.5  # silence after each phrase
SPEECH_LEVEL = 0.02  # of the phrase's peak: louder samples are speech
# A microphone's noise floor under the speech, in dBFS (a quiet room through a browser's
# noise suppression): far below what the recogniser counts as a voice.
NOISE_DBFS = -60.0
NOISE_SEED = 7


@dataclass(frozen=True, slots=True)
class Phrase:
    """Where one phrase's speech lies, in frames of the Opus stream."""

    text: str
    first: int  # frame holding its first speech sample
    last: int  # frame holding its last one


@dataclass(frozen=True, slots=True)
class Speech:
    """The phrases, spoken, as the Opus frames a WebRTC sender would send."""

    packets: list[bytes]
    timestamps: list[int]
    phrases: list[Phrase]

    @property
    def audio_s(self) -> float:
        return len(self.packets) * FRAME_MS / 1000

    @property
    def phrase_period_s(self) -> float:
        return self.audio_s / len(self.phrases)

    def boundaries_ms(self) -> list[float]:
        """Where each phrase's share of the timeline begins: halfway through the silence before."""
        edges = [0.0]
        for before, after in zip(self.phrases, self.phrases[1:], strict=False):
            edges.append((before.last + 1 + after.first) * FRAME_MS / 2)
        return [*edges, math.inf]


def synthesize(
    phrases: Sequence[str], folder: Path, *, noise_dbfs: float | None = NOISE_DBFS
) -> Speech:
    """``phrases`` spoken by espeak-ng's Korean voice, each followed by silence, Opus-encoded.

    A real microphone never gives exact zeros: the speech gets a faint noise floor
    (``noise_dbfs``, the same noise every run; ``None``: digital silence).
    """
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (apt-get install espeak-ng sox)")
    parts: list[np.ndarray] = [np.zeros(int(LEAD_S * SAMPLE_RATE), dtype=np.int16)]
    bounds: list[tuple[int, int]] = []
    at = len(parts[0])
    for n, text in enumerate(phrases):
        raw, part = folder / f"phrase-{n}.raw.wav", folder / f"phrase-{n}.wav"
        subprocess.run(["espeak-ng", "-v", LANGUAGE, "-w", str(raw), text], check=True)
        # -D: no dither, so every run hears the same samples (Vosk's words move with them).
        subprocess.run(
            ["sox", "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(part)],
            check=True,
        )
        samples = _read_wav(part)
        level = np.abs(samples.astype(np.int32))
        loud = np.flatnonzero(level > SPEECH_LEVEL * level.max())
        bounds.append((at + int(loud[0]), at + int(loud[-1])))
        parts += [samples, np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.int16)]
        at += len(samples) + int(GAP_S * SAMPLE_RATE)
    audio = np.concatenate(parts)
    if noise_dbfs is not None:
        noise = np.random.default_rng(NOISE_SEED).normal(
            0, 32768 * 10 ** (noise_dbfs / 20), audio.size
        )
        audio = np.clip(audio + noise, -32768, 32767).astype(np.int16)
    _write_wav(folder / "speech.wav", audio)
    packets, timestamps, delay = encode_opus(audio)
    # The encoder's look-ahead shifts its frames: frame k carries input samples from
    # k * 960 - delay on.
    return Speech(
        packets,
        timestamps,
        [
            Phrase(text, (first + delay) // FRAME_SAMPLES, (last + delay) // FRAME_SAMPLES)
            for text, (first, last) in zip(phrases, bounds, strict=True)
        ],
    )


def encode_opus(audio: np.ndarray) -> tuple[list[bytes], list[int], int]:
    """Opus frames of 48 kHz mono ``audio`` by aiortc's encoder, their RTP timestamps, the delay."""
    encoder = OpusEncoder()
    packets: list[bytes] = []
    timestamps: list[int] = []
    for start in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        frame = AudioFrame.from_ndarray(
            audio[None, start : start + FRAME_SAMPLES].copy(), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        frame.time_base = TIME_BASE
        data, timestamp = encoder.encode(frame)
        for n, packet in enumerate(data):
            packets.append(packet)
            timestamps.append(timestamp + n * FRAME_SAMPLES)
    return packets, timestamps, -(encoder.first_packet_pts or 0)


def phrase_at(edges: list[float], ms: float) -> int:
    """The phrase whose share of the timeline ``ms`` falls in."""
    for p in range(len(edges) - 1):
        if ms < edges[p + 1]:
            return p
    return len(edges) - 2


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as source:
        shape = (source.getframerate(), source.getnchannels(), source.getsampwidth())
        if shape != (SAMPLE_RATE, 1, 2):
            raise RuntimeError(f"{path} is not 48 kHz 16-bit mono: {shape}")
        return np.frombuffer(source.readframes(source.getnframes()), dtype=np.int16)


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.tobytes())
