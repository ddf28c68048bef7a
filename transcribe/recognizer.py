"""One speaking participant's recogniser: 16 kHz PCM in, partial and final utterances out.

Vosk times words from the start of the audio it was fed; the recogniser
maps that onto the call clock (the call time of its first sample, and of
where it resumed after audio it never heard: a paused recording, a muted
microphone), so every word lands on the recording's clock. It blocks while
it decodes: run it in a worker thread, never on the event loop. Partials
are passed on only when their text changes.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import vosk

SAMPLE_RATE = 16000
BYTES_PER_SAMPLE = 2
# Vosk is fed at most this much audio at a time, so partials keep up with speech.
MAX_CHUNK_MS = 100
# An utterance is final once the speaker has been quiet this long (Vosk's own
# endpointer waits 0.5-2 s and, on clean audio, may not fire at all).
ENDPOINT_MS = 500
# Quiet: 20 ms windows below this RMS (about -47 dBFS: a room, not a voice). Where the
# background is louder, Vosk's own endpointer still closes utterances.
QUIET_RMS = 150
WINDOW_SAMPLES = SAMPLE_RATE // 50
# Kaldi dithers the audio (Gaussian noise of 1 LSB) so digital silence does not break
# its features and endpointer, but from one random generator for the whole process: the
# same audio then gives different words each time. Models are loaded with its dither
# off (models.py) and each recogniser adds the same noise from its own seeded generator.
DITHER = 1.0
DITHER_SEED = 20261125
# One chunk of silence, fed to a recogniser being passed on so it is running and can be
# finished.
FINISH_SILENCE = bytes(SAMPLE_RATE * BYTES_PER_SAMPLE * MAX_CHUNK_MS // 1000)


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


@dataclass(slots=True)
class WarmRecognizer:
    """A KaldiRecognizer that has decoded before and was finished: it decodes faster.

    Its decoding graph is composed lazily, per recogniser, and the states it has
    expanded stay: a new one spends ~0.9 s of CPU on its first computation and
    100-300 ms on each new stretch of speech, a used one 15-35 ms. Finished, it
    starts the next stream on a new feature pipeline and decoder, so it hears what a
    new one would (the same words at the same times); but Vosk keeps counting time
    from its first sample: ``origin_ms`` is where it has got to.
    """

    recognizer: Any
    origin_ms: float


class StreamRecognizer:
    """A KaldiRecognizer for one stream; ``offset_ms`` is the call time of its first sample."""

    def __init__(
        self,
        model: Any,
        *,
        offset_ms: int = 0,
        endpoint_ms: int | None = ENDPOINT_MS,
        warm: WarmRecognizer | None = None,
    ) -> None:
        if warm is not None:
            self._recognizer, self._origin_ms = warm.recognizer, warm.origin_ms
        else:
            self._recognizer, self._origin_ms = vosk.KaldiRecognizer(model, SAMPLE_RATE), 0.0
        self._recognizer.SetWords(True)
        self._endpoint_ms = endpoint_ms
        self._quiet_ms = 0.0  # how long the audio fed has been quiet, up to now
        self._dither = np.random.default_rng(DITHER_SEED)
        self.fed_ms = 0.0
        self._partial = ""
        self._carry = bytearray()  # audio short of a whole chunk, fed with the next
        # Where fed audio sits on the call clock: (fed ms, call ms) at each jump.
        self._fed_marks = [0.0]
        self._call_marks = [float(offset_ms)]

    @property
    def call_ms(self) -> int:
        """The call time the next sample fed will have."""
        return round(self.call_time(self.received_ms))

    @property
    def received_ms(self) -> float:
        """Audio handed to :meth:`feed` so far (fed to Vosk, or waiting for a whole chunk)."""
        return self.fed_ms + len(self._carry) / (SAMPLE_RATE * BYTES_PER_SAMPLE) * 1000

    def call_time(self, fed_ms: float) -> float:
        """The call time of the sample ``fed_ms`` into the audio fed so far."""
        mark = bisect.bisect_right(self._fed_marks, fed_ms) - 1
        return self._call_marks[mark] + fed_ms - self._fed_marks[mark]

    def skip_to(self, call_ms: float) -> None:
        """The next audio fed belongs at ``call_ms``: the time between was never heard."""
        at = self.received_ms
        if call_ms <= self.call_time(at):
            return
        if self._fed_marks[-1] == at:
            self._call_marks[-1] = call_ms
        else:
            self._fed_marks.append(at)
            self._call_marks.append(call_ms)

    @property
    def speaking(self) -> bool:
        """Whether words have been heard since the last final utterance."""
        return bool(self._partial)

    def feed(self, pcm: bytes) -> list[Result]:
        """Decode 16-bit mono 16 kHz ``pcm`` (any length), 100 ms at a time.

        Vosk's words depend on where the chunks it is fed begin and end, so the audio
        is always cut on the same 100 ms grid however it arrives: the same speech gives
        the same words live as from a file.
        """
        results: list[Result] = []
        self._carry += pcm
        step = SAMPLE_RATE * BYTES_PER_SAMPLE * MAX_CHUNK_MS // 1000
        whole = len(self._carry) - len(self._carry) % step
        for start in range(0, whole, step):
            results += self._accept(bytes(self._carry[start : start + step]))
        del self._carry[:whole]
        return results

    def _accept(self, chunk: bytes) -> list[Result]:
        samples = np.frombuffer(chunk, dtype=np.int16)
        self.fed_ms += len(samples) / SAMPLE_RATE * 1000
        self._track_quiet(samples)
        noise = self._dither.normal(0.0, DITHER, len(samples))
        dithered = np.clip(samples + np.round(noise), -32768, 32767).astype(np.int16)
        if self._recognizer.AcceptWaveform(dithered.tobytes()):
            final = self._final(self._recognizer.Result())
            return [final] if final is not None else []
        if self._partial and self._endpoint_ms is not None and self._quiet_ms >= self._endpoint_ms:
            final = self._final(self._recognizer.FinalResult())
            return [final] if final is not None else []
        text = json.loads(self._recognizer.PartialResult()).get("partial", "")
        if text and text != self._partial:
            self._partial = text
            return [Partial(text)]
        return []

    def _track_quiet(self, samples: np.ndarray) -> None:
        """Add up the quiet at the end of the audio, 20 ms window by window."""
        windows = samples[: len(samples) - len(samples) % WINDOW_SAMPLES].reshape(
            -1, WINDOW_SAMPLES
        )
        loud = np.sqrt(np.mean(windows.astype(np.float64) ** 2, axis=1)) >= QUIET_RMS
        if not loud.any():
            self._quiet_ms += len(samples) / SAMPLE_RATE * 1000
        else:
            last_loud = int(np.nonzero(loud)[0][-1])
            self._quiet_ms = (len(loud) - 1 - last_loud) * WINDOW_SAMPLES / SAMPLE_RATE * 1000

    def finish(self) -> list[Result]:
        """The stream ended or went quiet: whatever was being said becomes final."""
        results = self._accept(bytes(self._carry)) if self._carry else []
        self._carry.clear()
        final = self._final(self._recognizer.FinalResult())
        return results + ([final] if final is not None else [])

    def detach(self) -> WarmRecognizer:
        """The recogniser, finished, for another stream (see WarmRecognizer).

        Only a finished KaldiRecognizer (FinalResult) starts again on a new feature
        pipeline and decoder (vosk-api's Recognizer::CleanUp). After Reset() or an
        endpoint it carries on the old ones: adapted to this speaker, with this
        stream's last frames in them, so the next stream's words would differ. And
        FinalResult only finishes a recogniser that is running, which a chunk of
        silence makes it.
        """
        self._carry.clear()
        self._recognizer.AcceptWaveform(FINISH_SILENCE)
        self._recognizer.FinalResult()
        return WarmRecognizer(self._recognizer, self._origin_ms + self.fed_ms + MAX_CHUNK_MS)

    def _final(self, raw: str) -> Final | None:
        self._partial = ""
        result = json.loads(raw)
        text = result.get("text", "").strip()
        if not text:
            return None
        words = [
            Word(
                w["word"],
                round(self.call_time(w["start"] * 1000 - self._origin_ms)),
                round(self.call_time(w["end"] * 1000 - self._origin_ms)),
                float(w.get("conf", 1.0)),
            )
            for w in result.get("result", [])
        ]
        start = words[0].start_ms if words else self.call_ms
        end = words[-1].end_ms if words else start
        return Final(text, start, end, words)
