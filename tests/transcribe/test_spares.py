"""A stream starts on a warm recogniser and hears what a new one hears, at the same times.

Guards: a recogniser warmed on quiet noise, or passed on by a stream that ended
(however it ended: finished, or cut off mid-word), decodes the next speaker's
words at the same call times as a new one (Vosk keeps counting time across
streams, the recogniser takes that off; and only a finished recogniser starts on
a new feature pipeline: one merely reset carries on adapted to the last speaker,
with their last frames). Spares are kept per model, up to the limit, each handed
out once, and none that has heard so long its word times would lose precision.
What a warm start saves is a speed figure, measured by ``kotha bench transcribe``
(``warm_start``), not here. A caller who hangs up leaves their recogniser in the
pool for the next.
"""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiortc.codecs.opus import OpusEncoder
from av import AudioFrame

from media.source import EncodedFrame
from tests.transcribe.conftest import as_48k
from transcribe.keywords import KeywordSpotter
from transcribe.pool import TranscriptionPool
from transcribe.recognizer import Final, StreamRecognizer, WarmRecognizer
from transcribe.spares import MAX_HEARD_MS, SpareRecognizers
from transcribe.speaker import SpeakerStream
from transcribe.utterance import Speaker, Utterance

QUIET = bytes(16000 * 2)  # a second of digital silence, 16 kHz


def pcm_of(path: Path) -> bytes:
    with wave.open(str(path)) as wav:
        return QUIET + wav.readframes(wav.getnframes()) + QUIET


def finals(recognizer: StreamRecognizer, pcm: bytes) -> list[tuple[str, int, int]]:
    results = recognizer.feed(pcm) + recognizer.finish()
    return [(r.text, r.start_ms, r.end_ms) for r in results if isinstance(r, Final)]


def test_a_warm_recogniser_hears_the_same_words_at_the_same_times(
    korean_model: object, korean_speech: list[Path]
) -> None:
    spares = SpareRecognizers(keep=2)
    spares.warm(korean_model, 2)
    assert spares.count(korean_model) == 2
    for speech in korean_speech:
        pcm = pcm_of(speech)
        heard = finals(StreamRecognizer(korean_model, offset_ms=1_000), pcm)
        warm = spares.take(korean_model)
        assert warm is not None
        again = finals(StreamRecognizer(korean_model, offset_ms=1_000, warm=warm), pcm)
        assert heard and again == heard
        assert all(start >= 1_000 for _, start, _ in again), again
    assert spares.count(korean_model) == 0


@pytest.mark.parametrize("ending", ["finished", "cut off mid-word"])
def test_the_next_caller_is_heard_as_by_a_new_recogniser(
    korean_model: object, korean_speech: list[Path], ending: str
) -> None:
    first, second = (pcm_of(speech) for speech in korean_speech)
    new = finals(StreamRecognizer(korean_model, offset_ms=5_000), second)

    before = StreamRecognizer(korean_model)
    if ending == "finished":
        assert finals(before, first)
    else:
        before.feed(first[: len(first) // 2])
    spares = SpareRecognizers(keep=1)
    spares.give(korean_model, before.detach())
    warm = spares.take(korean_model)
    assert warm is not None and warm.origin_ms > 0

    passed_on = finals(StreamRecognizer(korean_model, offset_ms=5_000, warm=warm), second)
    assert new and passed_on == new


def test_spares_are_kept_per_model_up_to_the_limit(korean_model: object) -> None:
    spares = SpareRecognizers(keep=1)
    spares.warm(korean_model, 2)
    assert spares.count(korean_model) == 1
    assert spares.count(object()) == 0
    assert spares.take(korean_model) is not None and spares.take(korean_model) is None


def test_a_recogniser_that_has_heard_an_hour_is_let_go(korean_model: object) -> None:
    spares = SpareRecognizers(keep=2)
    detached = StreamRecognizer(korean_model).detach()
    spares.give(korean_model, WarmRecognizer(detached.recognizer, MAX_HEARD_MS))
    assert spares.count(korean_model) == 0
    spares.give(korean_model, detached)
    assert spares.count(korean_model) == 1


def opus_frames(path: Path) -> list[EncodedFrame]:
    """The WAV (48 kHz) as a browser's microphone sends it: 20 ms Opus frames."""
    with wave.open(str(path)) as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    encoder = OpusEncoder()
    frames: list[EncodedFrame] = []
    for start in range(0, len(samples) - 960 + 1, 960):
        audio = AudioFrame.from_ndarray(samples[None, start : start + 960].copy(), layout="mono")
        audio.sample_rate = 48000
        audio.pts = start
        packets, _ = encoder.encode(audio)
        frames += [EncodedFrame.now(packet, start, True, 0) for packet in packets]
    return frames


async def test_a_caller_who_hangs_up_leaves_their_recogniser_for_the_next(
    korean_model: object, korean_speech: list[Path]
) -> None:
    pool = TranscriptionPool(workers=1)
    heard: list[str] = []

    def on_results(_: SpeakerStream, results: list[Any]) -> None:
        heard.extend(r.text for r in results if isinstance(r, Utterance))

    def on_stopped(_: SpeakerStream, reason: str) -> None:
        raise AssertionError(reason)

    try:
        for number, speech in enumerate(korean_speech):
            stream = SpeakerStream(
                Speaker(f"customer-{number}", "customer"),
                "ko",
                korean_model,
                call_start=time.perf_counter(),
                spotter=KeywordSpotter(),
                spares=pool.spares,
            )
            pool.add(stream, on_results, on_stopped)
            for frame in opus_frames(as_48k(speech)):
                pool.offer(stream, frame)
            await pool.remove(stream)
            assert stream.released
            assert pool.spares.count(korean_model) == 1, "the recogniser was not kept"
    finally:
        await asyncio.to_thread(pool.close)
    assert len(heard) >= len(korean_speech), heard
