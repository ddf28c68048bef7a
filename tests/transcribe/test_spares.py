"""A stream starts on a warm recogniser: its first words come sooner, and are the same.

Guards: a recogniser warmed on quiet noise and reset decodes the same words at the same
call times as a new one (Vosk keeps counting time across a reset; the recogniser takes
that off); its first decode costs a fraction of a new one's (~0.5 s of CPU); spares are
kept per model, up to the limit.
"""

from __future__ import annotations

import time
import wave
from pathlib import Path

from transcribe.recognizer import Final, StreamRecognizer
from transcribe.spares import SpareRecognizers


def finals(recognizer: StreamRecognizer, pcm: bytes) -> list[tuple[str, int, int]]:
    results = recognizer.feed(pcm) + recognizer.finish()
    return [(r.text, r.start_ms, r.end_ms) for r in results if isinstance(r, Final)]


def first_second_cost(recognizer: StreamRecognizer, pcm: bytes) -> float:
    started = time.thread_time()
    recognizer.feed(pcm[: 16000 * 2])
    return time.thread_time() - started


def test_a_warm_recogniser_hears_the_same_words_at_the_same_times_sooner(
    korean_model: object, korean_speech: list[Path]
) -> None:
    with wave.open(str(korean_speech[1])) as wav:
        pcm = wav.readframes(wav.getnframes())
    spares = SpareRecognizers(keep=2)
    spares.warm(korean_model, 2)
    assert spares.count(korean_model) == 2

    fresh = StreamRecognizer(korean_model, offset_ms=1_000)
    cold_cost = first_second_cost(fresh, pcm)
    warm = StreamRecognizer(korean_model, offset_ms=1_000, warm=spares.take(korean_model))
    warm_cost = first_second_cost(warm, pcm)
    assert warm_cost < cold_cost / 2, (warm_cost, cold_cost)

    heard = finals(StreamRecognizer(korean_model, offset_ms=1_000), pcm)
    again = finals(
        StreamRecognizer(korean_model, offset_ms=1_000, warm=spares.take(korean_model)), pcm
    )
    assert heard and again == heard


def test_spares_are_kept_per_model_up_to_the_limit(korean_model: object) -> None:
    spares = SpareRecognizers(keep=1)
    spares.warm(korean_model, 2)
    assert spares.count(korean_model) == 1
    assert spares.count(object()) == 0
    assert spares.take(korean_model) is not None and spares.take(korean_model) is None
