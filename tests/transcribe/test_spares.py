"""A stream starts on a warm recogniser and hears what a new one hears, at the same times.

Guards: a recogniser warmed on quiet noise and reset decodes the same words at the
same call times as a new one (Vosk keeps counting time across a reset; the
recogniser takes that off); spares are kept per model, up to the limit, and each is
handed out once. What a warm start saves is a speed figure, so it is measured by
``kotha bench transcribe`` (``warm_start``), not here.
"""

from __future__ import annotations

import wave
from pathlib import Path

from transcribe.recognizer import Final, StreamRecognizer
from transcribe.spares import SpareRecognizers


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
        with wave.open(str(speech)) as wav:
            pcm = wav.readframes(wav.getnframes())
        heard = finals(StreamRecognizer(korean_model, offset_ms=1_000), pcm)
        warm = spares.take(korean_model)
        assert warm is not None
        again = finals(StreamRecognizer(korean_model, offset_ms=1_000, warm=warm), pcm)
        assert heard and again == heard
        assert all(start >= 1_000 for _, start, _ in again), again
    assert spares.count(korean_model) == 0


def test_spares_are_kept_per_model_up_to_the_limit(korean_model: object) -> None:
    spares = SpareRecognizers(keep=1)
    spares.warm(korean_model, 2)
    assert spares.count(korean_model) == 1
    assert spares.count(object()) == 0
    assert spares.take(korean_model) is not None and spares.take(korean_model) is None
