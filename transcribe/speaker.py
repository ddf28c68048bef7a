"""One speaking participant's microphone, transcribed: frames in, partials and utterances out.

The tap only queues the encoded frame (on the packet path nothing else may
happen); a worker thread of the pool then places each frame on the call
clock, decodes it, fills what the network left out with silence and feeds the
recogniser. Audio that was never heard (a paused recording, a muted
microphone, a reconnect) is not made up: the recogniser is told to skip
that stretch, after enough silence for it to close what was being said.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from media.clock import StreamClock
from media.source import EncodedFrame

from .decoder import OPUS_RATE, OpusDecoder, silence
from .keywords import KeywordSpotter
from .recognizer import BYTES_PER_SAMPLE, SAMPLE_RATE, Final, Partial, StreamRecognizer
from .spares import SpareRecognizers
from .utterance import PartialText, Speaker, Utterance, partial_of, utterance_of

# A gap in the audio up to this long is filled with silence (lost packets, a
# short DTX pause); a longer one is skipped after ENDPOINT_MS of silence, which
# Vosk's endpointer needs to close an utterance.
MAX_FILL_MS = 1000
ENDPOINT_MS = 600
# At most this much queued audio is decoded in one go, so partials keep flowing.
MAX_BATCH_FRAMES = 25
# What a queued frame holds, before it is decoded: browsers send Opus in 20 ms frames.
FRAME_MS = 20
BYTES_PER_MS = SAMPLE_RATE * BYTES_PER_SAMPLE / 1000

Result = PartialText | Utterance


def _ms_between(expected: int, timestamp: int) -> float:
    """How far ``timestamp`` is past ``expected`` on the 48 kHz RTP clock, in ms (wraps)."""
    ahead = (timestamp - expected) % (1 << 32)
    if ahead >= 1 << 31:
        return -((1 << 32) - ahead) / (OPUS_RATE / 1000)
    return ahead / (OPUS_RATE / 1000)


@dataclass(slots=True)
class StreamStats:
    """What one stream's transcription cost and how far behind live it ran."""

    audio_ms: float = 0.0  # audio fed to the recogniser, silence fills included
    busy_s: float = 0.0  # wall time spent decoding and recognising
    lag_s: float = 0.0  # behind live after the last batch: now minus the last frame's arrival
    final_delay_s: float | None = None  # end of the last utterance to when it was final


class SpeakerStream:
    """The transcription of one participant's microphone.

    Args:
        model: the shared Vosk model of ``language``.
        call_start: the call clock's zero, on ``time.perf_counter()``'s clock
            (the recording's, so utterances line up with what is played back).
    """

    def __init__(
        self,
        speaker: Speaker,
        language: str,
        model: object,
        *,
        call_start: float,
        spotter: KeywordSpotter,
        utterance_ids: Callable[[], str] | None = None,
        spares: SpareRecognizers | None = None,
    ) -> None:
        self.speaker = speaker
        self.language = language
        self.inbox: deque[EncodedFrame] = deque()
        self.busy = False  # a job of this stream is queued or running in the pool
        self.stats = StreamStats()
        self.last_arrival: float | None = None
        self._call_start = call_start
        self._clock = StreamClock(OPUS_RATE, call_start)
        self._model = model
        self._spares = spares
        # Both are built by the first job, in the worker (a KaldiRecognizer takes ~60 ms to
        # make, and its first seconds of speech ~1.5 s of CPU: a warm spare is taken if
        # there is one), and let go by the last one, the recogniser as a spare.
        self._decoder: OpusDecoder | None = None
        self._recognizer: StreamRecognizer | None = None
        self._epoch: int | None = None
        self._next_ts = 0  # RTP timestamp the next frame has if none is missing
        self._spotter = spotter
        counter = itertools.count(1)
        self._next_id = utterance_ids or (lambda: f"{speaker.participant_id}-{next(counter)}")

    @property
    def speaking(self) -> bool:
        return self._recognizer is not None and self._recognizer.speaking

    @property
    def closing(self) -> bool:
        """Whether the queued audio, if quiet, ends the utterance being spoken.

        The pool serves such a stream first: its next job makes the words final.
        """
        recognizer = self._recognizer
        left = recognizer.quiet_left_ms if recognizer is not None else None
        return left is not None and left <= len(self.inbox) * FRAME_MS

    def backlog_s(self, now: float) -> float:
        """How long the oldest queued frame has waited (0 when nothing waits)."""
        try:
            return max(0.0, now - self.inbox[0].arrival)
        except IndexError:
            return 0.0

    def process(self) -> list[Result]:
        """Decode and recognise what is queued (in a worker thread)."""
        started = time.perf_counter()
        if self._recognizer is None or self._decoder is None:
            warm = self._spares.take(self._model) if self._spares is not None else None
            self._recognizer = StreamRecognizer(self._model, warm=warm)
            self._decoder = OpusDecoder()
        recognizer, decoder = self._recognizer, self._decoder
        results: list[Result] = []
        pcm: list[bytes] = []
        queued_ms = 0.0  # audio in pcm, not yet fed
        last: EncodedFrame | None = None
        for _ in range(MAX_BATCH_FRAMES):
            try:
                frame = self.inbox.popleft()
            except IndexError:
                break
            ms = self._clock.place(frame)
            # What is missing is told by the sender's RTP timestamps, which are exact; the
            # call clock (which may move by a few ms to follow drift) only says where a
            # stretch of audio starts.
            gap = _ms_between(self._next_ts, frame.timestamp)
            if frame.epoch != self._epoch:
                self._epoch = frame.epoch
                if recognizer.received_ms + queued_ms > 0:
                    pcm.append(silence(ENDPOINT_MS))
                    results += self._feed(b"".join(pcm))
                    pcm, queued_ms = [], 0.0
                recognizer.skip_to(ms)
            elif gap > MAX_FILL_MS:
                # Close what was being said before the gap, then jump what was never heard.
                pcm.append(silence(ENDPOINT_MS))
                results += self._feed(b"".join(pcm))
                pcm, queued_ms = [], 0.0
                recognizer.skip_to(ms)
            elif gap >= 1:  # lost packets: silence, so what follows keeps its time
                pcm.append(silence(gap))
                queued_ms += gap
            decoded = decoder.decode(frame.data)
            self._next_ts = (frame.timestamp + decoder.last_samples) % (1 << 32)
            pcm.append(decoded)
            queued_ms += len(decoded) / BYTES_PER_MS
            last = frame
        results += self._feed(b"".join(pcm))
        done = time.perf_counter()
        self.stats.busy_s += done - started
        if last is not None:
            self.stats.lag_s = done - last.arrival
        return results

    def flush(self) -> list[Result]:
        """Nothing more is coming for now (silence, hang-up): finish what was being said."""
        if self._recognizer is None:
            return []
        started = time.perf_counter()
        results = self._convert(self._recognizer.finish())
        self.stats.busy_s += time.perf_counter() - started
        return results

    @property
    def released(self) -> bool:
        return self._recognizer is None and self._decoder is None

    def release(self, *, keep: bool = True) -> None:
        """Let the recogniser and decoder go (in a worker: freeing a recogniser takes 20-100 ms).

        With ``keep``, the recogniser is finished and kept as a spare for the next
        stream, which then decodes its first seconds at about half the CPU.
        """
        recognizer, self._recognizer, self._decoder = self._recognizer, None, None
        if keep and recognizer is not None and self._spares is not None:
            self._spares.give(self._model, recognizer.detach())

    def _feed(self, pcm: bytes) -> list[Result]:
        if not pcm or self._recognizer is None:
            return []
        self.stats.audio_ms += len(pcm) / BYTES_PER_MS
        return self._convert(self._recognizer.feed(pcm))

    def _convert(self, raw: list[Partial | Final]) -> list[Result]:
        results: list[Result] = []
        for result in raw:
            if isinstance(result, Partial):
                # Only the newest partial of a batch is worth sending.
                if results and isinstance(results[-1], PartialText):
                    results.pop()
                at = self._recognizer.call_ms if self._recognizer else 0
                results.append(partial_of(result, speaker=self.speaker, t_ms=at))
                continue
            now_ms = (time.perf_counter() - self._call_start) * 1000
            self.stats.final_delay_s = max(0.0, now_ms - result.end_ms) / 1000
            results.append(
                utterance_of(
                    result,
                    utterance_id=self._next_id(),
                    speaker=self.speaker,
                    language=self.language,
                    spotter=self._spotter,
                )
            )
        return results
