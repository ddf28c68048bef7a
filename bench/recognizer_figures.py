"""What one recogniser does alone, before the live run: endpointing and warm starts.

The speech decoded once, frame by frame, with nothing else running: how much audio Vosk
needs past each phrase's start and end (the latency of an infinitely fast machine), and
what a stream's first seconds cost on a new recogniser, a warm spare, or one passed on.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from transcribe.decoder import OpusDecoder
from transcribe.recognizer import BYTES_PER_SAMPLE, Final, Partial, StreamRecognizer
from transcribe.recognizer import SAMPLE_RATE as RECOGNIZER_RATE
from transcribe.spares import SpareRecognizers

from .measure import percentile
from .speech import FRAME_MS, Speech, phrase_at

WARM_START_ROUNDS = 5  # cold and warm recognisers, alternated
WARM_START_S = 2.0  # of the speech each one's first feed holds


def endpoint_figures(speech: Speech, model: object) -> dict[str, Any]:
    """How much audio Vosk needs around each phrase: the speech decoded alone, frame by frame.

    The recogniser feeds Vosk on a fixed 100 ms grid whatever the batching, so
    the live streams get the same results at the same frames; this tells the
    recogniser's share of the live latency from the pipeline's.
    """
    decoder = OpusDecoder()
    recognizer = StreamRecognizer(model)
    edges = speech.boundaries_ms()
    first_partial: dict[int, int] = {}
    final_at: dict[int, int] = {}
    trailing_ms: dict[int, float] = {}
    texts: dict[int, list[str]] = {}
    for k, packet in enumerate(speech.packets):
        for result in recognizer.feed(decoder.decode(packet)):
            if isinstance(result, Partial):
                p = phrase_at(edges, recognizer.fed_ms)
                first_partial.setdefault(p, k)
            elif isinstance(result, Final):
                p = phrase_at(edges, (result.start_ms + result.end_ms) / 2)
                final_at[p] = k
                trailing_ms[p] = recognizer.call_time(recognizer.fed_ms) - result.end_ms
                texts.setdefault(p, []).append(result.text)
    partial_ms = [
        (first_partial[p] - phrase.first) * FRAME_MS if p in first_partial else None
        for p, phrase in enumerate(speech.phrases)
    ]
    final_ms = [
        (final_at[p] - phrase.last) * FRAME_MS if p in final_at else None
        for p, phrase in enumerate(speech.phrases)
    ]
    return {
        "partial_audio_ms": partial_ms,
        "final_audio_ms": final_ms,
        "final_audio_ms_p50": percentile([ms for ms in final_ms if ms is not None], 50),
        "trailing_silence_ms": [round(trailing_ms[p]) for p in sorted(trailing_ms)],
        "phrases_final": len(final_at),
        "texts": [" ".join(texts.get(p, [])) for p in range(len(speech.phrases))],
    }


def warm_start_figures(speech: Speech, model: object) -> dict[str, Any]:
    """What a stream's first seconds cost on a new recogniser, a warm spare, and one passed on.

    The first ``WARM_START_S`` of the speech fed in one go, CPU time of this
    thread, on a new recogniser, on a spare warmed on noise, and on one that
    decoded the rest of the speech (other words) and was passed on, as a stream
    that ended passes its recogniser to the next; alternated
    ``WARM_START_ROUNDS`` times so a busy neighbour weighs on all alike.
    """
    decoder = OpusDecoder()
    pcm = b"".join(decoder.decode(packet) for packet in speech.packets)
    cut = round(WARM_START_S * RECOGNIZER_RATE) * BYTES_PER_SAMPLE
    first, rest = pcm[:cut], pcm[cut:]
    spares = SpareRecognizers(keep=1)
    costs: dict[str, list[float]] = {"new": [], "warm": [], "passed_on": []}
    for _ in range(WARM_START_ROUNDS):
        costs["new"].append(_first_feed_cpu_s(StreamRecognizer(model), first))
        spares.warm(model, 1)
        costs["warm"].append(
            _first_feed_cpu_s(StreamRecognizer(model, warm=spares.take(model)), first)
        )
        used = StreamRecognizer(model)
        used.feed(rest)
        used.finish()
        passed = StreamRecognizer(model, warm=used.detach())
        costs["passed_on"].append(_first_feed_cpu_s(passed, first))
    ms = {kind: float(np.median(values)) * 1000 for kind, values in costs.items()}
    return {
        "seconds_fed": WARM_START_S,
        "rounds": WARM_START_ROUNDS,
        **{f"{kind}_cpu_ms_p50": round(value, 1) for kind, value in ms.items()},
        "warm_over_new": round(ms["warm"] / ms["new"], 3) if ms["new"] else None,
        "passed_on_over_new": round(ms["passed_on"] / ms["new"], 3) if ms["new"] else None,
    }


def _first_feed_cpu_s(recognizer: StreamRecognizer, pcm: bytes) -> float:
    started = time.thread_time()
    recognizer.feed(pcm)
    return time.thread_time() - started
