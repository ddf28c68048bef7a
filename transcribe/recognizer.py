"""One speaking participant's recogniser: 16 kHz PCM in, partial and final utterances out.

Vosk times words from the start of the audio it was fed; the recogniser
adds the call time of its first sample, so every word lands on the
recording's clock. It blocks while it decodes: run it in a worker thread,
never on the event loop. Partials are passed on only when their text changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import vosk

SAMPLE_RATE = 16000
BYTES_PER_SAMPLE = 2
# Vosk is fed at most this much audio at a time, so partials keep up with speech.
MAX_CHUNK_MS = 100


@dataclass(frozen=True, slots=True)
class Word:
    word: str
    start_ms: int
    end_ms: int
    confidence: float


@dataclass(frozen=True, slots=True)
class Partial:
    """Words heard so far in an utterance still being spoken."""

    text: str


@dataclass(frozen=True, slots=True)
class Final:
    """An utterance the speaker finished (Vosk's endpointer heard them pause)."""

    text: str
    start_ms: int
    end_ms: int
    words: list[Word] = field(default_factory=list)


Result = Partial | Final


class StreamRecognizer:
    """A KaldiRecognizer for one stream; ``offset_ms`` is the call time of its first sample."""

    def __init__(self, model: Any, *, offset_ms: int = 0) -> None:
        self._recognizer = vosk.KaldiRecognizer(model, SAMPLE_RATE)
        self._recognizer.SetWords(True)
        self.offset_ms = offset_ms
        self.fed_ms = 0.0
        self._partial = ""

    def feed(self, pcm: bytes) -> list[Result]:
        """Decode 16-bit mono 16 kHz ``pcm`` (any length; fed in chunks of at most 100 ms)."""
        results: list[Result] = []
        step = SAMPLE_RATE * BYTES_PER_SAMPLE * MAX_CHUNK_MS // 1000
        for start in range(0, len(pcm), step):
            chunk = pcm[start : start + step]
            self.fed_ms += len(chunk) / (SAMPLE_RATE * BYTES_PER_SAMPLE) * 1000
            if self._recognizer.AcceptWaveform(chunk):
                final = self._final(self._recognizer.Result())
                if final is not None:
                    results.append(final)
            else:
                text = json.loads(self._recognizer.PartialResult()).get("partial", "")
                if text and text != self._partial:
                    self._partial = text
                    results.append(Partial(text))
        return results

    def finish(self) -> list[Result]:
        """The stream ended: whatever was being said becomes final."""
        final = self._final(self._recognizer.FinalResult())
        return [final] if final is not None else []

    def _final(self, raw: str) -> Final | None:
        self._partial = ""
        result = json.loads(raw)
        text = result.get("text", "").strip()
        if not text:
            return None
        words = [
            Word(
                w["word"],
                self.offset_ms + round(w["start"] * 1000),
                self.offset_ms + round(w["end"] * 1000),
                float(w.get("conf", 1.0)),
            )
            for w in result.get("result", [])
        ]
        start = words[0].start_ms if words else self.offset_ms + round(self.fed_ms)
        end = words[-1].end_ms if words else start
        return Final(text, start, end, words)
