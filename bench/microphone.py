"""One simulated microphone in ``kotha bench transcribe``: a speaker on the real pool.

It offers the speech's Opus frames in real time, as a caller's browser would, through
``pool.offer``, and keeps every result that comes back with when it reached the event
loop, so each phrase's partial and final latency can be read from it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from media.source import EncodedFrame
from transcribe.errors import CapacityError
from transcribe.keywords import KeywordSpotter
from transcribe.pool import TranscriptionPool
from transcribe.speaker import Result, SpeakerStream
from transcribe.utterance import PartialText, Speaker, Utterance

from .speech import FRAME_MS, LANGUAGE, Speech, phrase_at


@dataclass(slots=True)
class Microphone:
    """One speaker: offers the speech's frames in real time, keeps what comes back and when."""

    number: int
    speech: Speech
    offered: list[float] = field(default_factory=list)  # perf_counter() of each frame offered
    results: list[tuple[float, Result]] = field(default_factory=list)
    refused: str | None = None
    stopped: str | None = None

    async def speak(
        self, pool: TranscriptionPool, model: object, spotter: KeywordSpotter, at: float
    ) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        try:
            pool.admit()
        except CapacityError as exc:
            self.refused = exc.reason
            return
        stream = SpeakerStream(
            Speaker(f"mic{self.number}", "customer"),
            LANGUAGE,
            model,
            call_start=time.perf_counter(),
            spotter=spotter,
            spares=pool.spares,
        )
        pool.add(stream, self._on_results, self._on_stopped)
        started = time.perf_counter()
        for k, (data, timestamp) in enumerate(
            zip(self.speech.packets, self.speech.timestamps, strict=True)
        ):
            wait = started + k * FRAME_MS / 1000 - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            if self.stopped is not None:
                return
            frame = EncodedFrame.now(data, timestamp, True, 0)
            self.offered.append(frame.arrival)
            pool.offer(stream, frame)
        await pool.remove(stream)

    def _on_results(self, _: SpeakerStream, results: list[Result]) -> None:
        now = time.perf_counter()
        self.results.extend((now, result) for result in results)

    def _on_stopped(self, _: SpeakerStream, reason: str) -> None:
        self.stopped = reason

    def latencies(self) -> tuple[dict[int, float], dict[int, float]]:
        """By phrase heard: ms from its first frame to its first partial, and last to final."""
        edges = self.speech.boundaries_ms()
        partial_at: dict[int, float] = {}
        final_at: dict[int, float] = {}
        for arrived, result in self.results:
            if isinstance(result, PartialText):
                partial_at.setdefault(phrase_at(edges, result.t_ms), arrived)
            elif isinstance(result, Utterance):
                final_at[phrase_at(edges, (result.start_ms + result.end_ms) / 2)] = arrived
        partial_ms: dict[int, float] = {}
        final_ms: dict[int, float] = {}
        for p, phrase in enumerate(self.speech.phrases):
            if p in partial_at and phrase.first < len(self.offered):
                partial_ms[p] = (partial_at[p] - self.offered[phrase.first]) * 1000
            if p in final_at and phrase.last < len(self.offered):
                final_ms[p] = (final_at[p] - self.offered[phrase.last]) * 1000
        return partial_ms, final_ms

    def texts(self) -> list[str]:
        edges = self.speech.boundaries_ms()
        texts: dict[int, list[str]] = {}
        for _, result in self.results:
            if isinstance(result, Utterance):
                p = phrase_at(edges, (result.start_ms + result.end_ms) / 2)
                texts.setdefault(p, []).append(result.text)
        return [" ".join(texts.get(p, [])) for p in range(len(self.speech.phrases))]
