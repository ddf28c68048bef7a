"""Scripted conversations whose truth is known: who says what, when, and how loud.

Each line is spoken by espeak-ng and placed on a timeline of its own party at a
known time, so the talk, the silences and the interruptions of the call are
known to the millisecond before it is made. Talk is measured from the samples
themselves (any sample above -44 dBFS, pauses shorter than the detector's merge
gap counted as talking, as between words), independently of the server's
per-frame detector.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from conversation.characteristics import MIN_INTERRUPTION_MS, gaps, intersection, total, union
from conversation.voice import MERGE_GAP_MS

RATE = 48000
AUDIBLE = 200  # |sample| above this (-44 dBFS) is sound


@dataclass(frozen=True)
class Line:
    """``who`` says ``text`` starting ``at_s`` into the script, at ``gain`` of espeak's level."""

    who: str
    text: str
    at_s: float
    gain: float = 1.0


@dataclass
class Script:
    """The rendered script: one WAV per party, and the truth about it (ms from its start)."""

    wavs: dict[str, Path]
    talk: dict[str, list[tuple[int, int]]]
    length_ms: int

    @property
    def talking(self) -> list[tuple[int, int]]:
        return union(span for spans in self.talk.values() for span in spans)

    def talk_ms(self, who: str) -> int:
        return total(self.talk.get(who, []))

    def longest_silence_ms(self) -> int:
        """The longest pause between the first and the last word of the script."""
        talking = self.talking
        inner = gaps(talking, talking[0][0], talking[-1][1])
        return max((end - start for start, end in inner), default=0)

    def interruptions(self) -> list[tuple[str, str, int, int]]:
        """(by, over, at_ms, overlap_ms) of every line begun while the other talked."""
        found = []
        for by, spans in self.talk.items():
            for over, others in self.talk.items():
                if by == over:
                    continue
                for start, end in spans:
                    for other_start, other_end in others:
                        if other_start < start < other_end:
                            ms = min(end, other_end) - start
                            if ms >= MIN_INTERRUPTION_MS:
                                found.append((by, over, start, ms))
        return sorted(found, key=lambda i: i[2])

    def overlap_ms(self) -> int:
        return total(intersection(self.talk["agent"], self.talk["customer"]))


def speak(text: str, voice: str, path: Path) -> np.ndarray:
    """``text`` said by espeak-ng's ``voice``, 48 kHz 16-bit mono, silence trimmed off."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (make test installs it with apt)")
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", "-D", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(path)], check=True
    )
    with wave.open(str(path)) as source:
        samples = np.frombuffer(source.readframes(source.getnframes()), dtype=np.int16)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > AUDIBLE)
    return samples[loud[0] : loud[-1] + 1]


def spans_of(samples: np.ndarray, at: int) -> list[tuple[int, int]]:
    """Where ``samples`` (placed at sample ``at``) sound, in ms, short pauses bridged."""
    loud = np.abs(samples.astype(np.int32)) > AUDIBLE
    ms = [int((at + i) * 1000 // RATE) for i in np.flatnonzero(loud)]
    spans: list[tuple[int, int]] = []
    for t in ms:
        if spans and t - spans[-1][1] < MERGE_GAP_MS:
            spans[-1] = (spans[-1][0], t + 1)
        else:
            spans.append((t, t + 1))
    return spans


def render(lines: list[Line], voice: str, folder: Path, tail_s: float = 1.0) -> Script:
    """Each party's microphone for the whole script, and the truth of what it holds."""
    clips = [speak(line.text, voice, folder / f"line-{n}.wav") for n, line in enumerate(lines)]
    length = max(
        round(line.at_s * RATE) + len(clip) for line, clip in zip(lines, clips, strict=True)
    )
    length += round(tail_s * RATE)
    tracks = {who: np.zeros(length, dtype=np.float64) for who in {line.who for line in lines}}
    talk: dict[str, list[tuple[int, int]]] = {who: [] for who in tracks}
    for line, clip in zip(lines, clips, strict=True):
        at = round(line.at_s * RATE)
        placed = clip.astype(np.float64) * line.gain
        tracks[line.who][at : at + len(clip)] += placed
        talk[line.who] += spans_of(placed.astype(np.int16), at)
    wavs = {}
    for who, samples in tracks.items():
        path = folder / f"{who}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(np.clip(samples, -32768, 32767).astype(np.int16).tobytes())
        wavs[who] = path
    return Script(wavs, {who: union(spans) for who, spans in talk.items()}, length * 1000 // RATE)
