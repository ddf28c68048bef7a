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
WINDOW_BYTES = WINDOW_SAMPLES * BYTES_PER_SAMPLE
CHUNK_BYTES = SAMPLE_RATE * BYTES_PER_SAMPLE * MAX_CHUNK_MS // 1000
# Kaldi dithers the audio (Gaussian noise of 1 LSB) so digital silence does not break
# its features and endpointer, but from one random generator for the whole process: the
# same audio then gives different words each time. Models are loaded with its dither
# off (models.py) and each recogniser adds the same noise from its own seeded generator.
DITHER = 1.0
DITHER_SEED = 20261125
# One chunk of silence, fed to a recogniser being passed on so it is running and can be
# finished.
FINISH_SILENCE = bytes(CHUNK_BYTES)


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
        self._tracked = 0  # bytes of it whose quiet is counted (whole windows)
        # The chunk being filled ends this far into the carry: short after an utterance
        # closed mid-chunk, and then left out if it stays quiet (see _skip_rest).
        self._chunk_bytes = CHUNK_BYTES
        self._rest_quiet = False
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

    @property
    def quiet_left_ms(self) -> float | None:
        """How much more quiet audio ends the utterance being spoken (None: none is open)."""
        if not self._partial or self._endpoint_ms is None:
            return None
        return max(0.0, self._endpoint_ms - self._quiet_ms)

    def feed(self, pcm: bytes) -> list[Result]:
        """Decode 16-bit mono 16 kHz ``pcm`` (any length), 100 ms at a time.

        Vosk's words depend on where the chunks it is fed begin and end, so the audio
        is always cut on the same grid however it arrives: 100 ms chunks from the start
        of an utterance, the same speech giving the same words live as from a file. The
        quiet that ends an utterance is counted window by window (20 ms) as the audio
        arrives: once it reaches ``endpoint_ms`` the audio short of a chunk is fed and
        the utterance is final there, not up to 80 ms later at the end of its chunk.
        """
        results: list[Result] = []
        self._carry += pcm
        while self._tracked + WINDOW_BYTES <= len(self._carry):
            window = self._carry[self._tracked : self._tracked + WINDOW_BYTES]
            if self._track_quiet(np.frombuffer(window, dtype=np.int16)):
                self._rest_quiet = False
            self._tracked += WINDOW_BYTES
            if self._tracked == self._chunk_bytes:
                if self._rest_quiet:
                    self._skip_rest()
                else:
                    results += self._accept(bytes(self._carry[: self._tracked]))
                self._drop(self._tracked)
            elif self._closing():
                results += self._accept(bytes(self._carry[: self._tracked]))
                rest = CHUNK_BYTES - self._tracked
                self._drop(self._tracked)
                self._chunk_bytes, self._rest_quiet = rest, True
        return results

    def _skip_rest(self) -> None:
        """Leave out the quiet rest of a chunk an utterance closed in, so the next
        utterance starts on the grid, fed what it would have been fed had the last one
        closed at the end of that chunk: the same words (the dither is drawn for it too)."""
        rest_ms = self._tracked / BYTES_PER_SAMPLE / SAMPLE_RATE * 1000
        self._dither.normal(0.0, DITHER, self._tracked // BYTES_PER_SAMPLE)
        at = self.fed_ms
        marks = [(f, c) for f, c in zip(self._fed_marks, self._call_marks, strict=True) if f < at]
        marks.append((at, self.call_time(at + rest_ms)))
        marks += [
            (f - rest_ms, c)
            for f, c in zip(self._fed_marks, self._call_marks, strict=True)
            if f > at + rest_ms
        ]
        self._fed_marks = [f for f, _ in marks]
        self._call_marks = [c for _, c in marks]

    def _drop(self, fed: int) -> None:
        del self._carry[:fed]
        self._tracked = 0
        self._chunk_bytes, self._rest_quiet = CHUNK_BYTES, False

    def _closing(self) -> bool:
        """Whether an utterance is open and the speaker has been quiet long enough to end it."""
        return (
            bool(self._partial)
            and self._endpoint_ms is not None
            and self._quiet_ms >= self._endpoint_ms
        )

    def _accept(self, chunk: bytes) -> list[Result]:
        samples = np.frombuffer(chunk, dtype=np.int16)
        self.fed_ms += len(samples) / SAMPLE_RATE * 1000
        noise = self._dither.normal(0.0, DITHER, len(samples))
        dithered = np.clip(samples + np.round(noise), -32768, 32767).astype(np.int16)
        if self._recognizer.AcceptWaveform(dithered.tobytes()):
            final = self._final(self._recognizer.Result())
            return [final] if final is not None else []
        if self._closing():
            final = self._final(self._recognizer.FinalResult())
            return [final] if final is not None else []
        text = json.loads(self._recognizer.PartialResult()).get("partial", "")
        if text and text != self._partial:
            self._partial = text
            return [Partial(text)]
        return []

    def _track_quiet(self, window: np.ndarray) -> bool:
        """Add one 20 ms window to the quiet at the end of the audio; whether it was loud."""
        if np.sqrt(np.mean(window.astype(np.float64) ** 2)) >= QUIET_RMS:
            self._quiet_ms = 0.0
            return True
        self._quiet_ms += len(window) / SAMPLE_RATE * 1000
        return False

    def finish(self) -> list[Result]:
        """The stream ended or went quiet: whatever was being said becomes final."""
        while self._tracked + WINDOW_BYTES <= len(self._carry):
            window = self._carry[self._tracked : self._tracked + WINDOW_BYTES]
            self._track_quiet(np.frombuffer(window, dtype=np.int16))
            self._tracked += WINDOW_BYTES
        results = self._accept(bytes(self._carry)) if self._carry else []
        self._drop(len(self._carry))
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
        self._drop(len(self._carry))
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
