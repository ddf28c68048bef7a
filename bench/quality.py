"""``kotha bench quality``: what measuring every connection once a second costs the server.

The relay benchmark's load (two-party audio calls between headless aiortc
peers in worker processes, a real server process) carries
``participants`` participants; over the window, the server's own account of
the CPU its quality monitor spent (``kotha_quality_sampler_cpu_seconds_total``
on ``/metrics``: thread CPU time around sampling, alert rules and building
each call's view) gives ``tick_cpu_pct``. The meter tap that counts bytes and
frames runs on the packet path, where timing each call would cost more than
the call: it is timed here, on the same machine, over synthetic frames, and
multiplied by the frames the server received in the window (``tap_cpu_pct``).
``sampler_cpu_pct`` is their sum, in percent of one core.

``sampler_packets``: what the sampler counts. Every call's agent gets the call's
``quality_updated`` view each second, and each party's part has the packets of its
microphone the server received since the last sample (``inbound_microphone``) and of
the audio it sent them (``outbound_audio``), with the sample's time. Over the window,
for each such stream: packets per sample, the time between samples, and packets per
second over that measured time (the clients send 20 ms Opus: 50 a second).
``samples_outside_40_60`` counts the samples a fixed 40-60 would have failed, the limit
``tests/quality/test_sampler.py`` once set on a second timed by ``sleep(1.0)``.
"""

from __future__ import annotations

import itertools
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from media.source import EncodedFrame, SourceKey, SourceKind
from quality.meter import StreamMeter

from .measure import machine_info, percentile, spread
from .metrics_probe import read_counters
from .mode_run import CLIENT_NICE, ModeRun
from .opus_loop import FRAME_S, LOOP_S, encode_opus_loop, write_packets
from .relay import CALLS_PER_CLIENT_PROCESS, WARMUP_S

TARGET_SAMPLER_CPU_PCT = 2.0
SAMPLER_CPU = "kotha_quality_sampler_cpu_seconds"
TICKS = "kotha_quality_ticks"
FRAMES = "kotha_quality_frames_metered"
TAP_TIMING_FRAMES = 200_000


async def read_sampler_metrics(url: str, secret: str) -> dict[str, float]:
    """The quality monitor's CPU and tick counters from the server's /metrics."""
    return await read_counters(url, secret, {SAMPLER_CPU, TICKS, FRAMES})


def tap_seconds_per_frame() -> float:
    """CPU seconds of one StreamMeter.on_frame call, audio frames of a voice's size."""
    meter = StreamMeter()
    keys = [SourceKey(f"p{n}", SourceKind.MICROPHONE) for n in range(50)]
    frames = [EncodedFrame(bytes(80), n * 960, True, 1, time.perf_counter()) for n in range(64)]
    on_frame = meter.on_frame
    started = time.process_time()
    for n in range(TAP_TIMING_FRAMES):
        on_frame(keys[n % 50], frames[n % 64])
    return (time.process_time() - started) / TAP_TIMING_FRAMES


async def run_quality_benchmark(
    *, participants: int, seconds: float, quiet: bool = False
) -> dict[str, Any]:
    if participants < 2 or seconds <= 0:
        raise ValueError("participants must be at least 2 and seconds positive")
    calls = participants // 2

    def progress(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="kotha-bench-quality-") as tmp:
        workdir = Path(tmp)
        loop_file = workdir / "opus-loop.bin"
        write_packets(loop_file, encode_opus_loop(LOOP_S))
        run = ModeRun(
            mode="forward",
            calls=calls,
            seconds=seconds,
            warmup=WARMUP_S,
            processes=max(1, math.ceil(calls / CALLS_PER_CLIENT_PROCESS)),
            workdir=workdir / "quality",
            loop_file=loop_file,
            progress=progress,
            client_nice=CLIENT_NICE,
            probe=read_sampler_metrics,
            sample_quality=True,
        )
        result = await run.run()
    if "error" in result:
        return {"benchmark": "quality", "participants": 2 * calls, "error": result["error"]}
    window = result["window_s"]
    probed = result.get("probe", {})
    tick_pct = 100 * probed.get(SAMPLER_CPU, 0.0) / window
    per_frame = tap_seconds_per_frame()
    frames = probed.get(FRAMES, 0.0)
    tap_pct = 100 * frames * per_frame / window
    sampler_pct = tick_pct + tap_pct
    samples = result.pop("quality_samples", {})
    return {
        "benchmark": "quality",
        "participants": 2 * calls,
        "seconds": window,
        "sampler_cpu_pct": round(sampler_pct, 3),
        "tick_cpu_pct": round(tick_pct, 3),
        "tap_cpu_pct": round(tap_pct, 3),
        "ticks": probed.get(TICKS),
        "frames_metered": frames,
        "tap_us_per_frame": round(per_frame * 1e6, 3),
        "server_cpu_cores": result["server_cpu_cores"],
        "sampler_share_of_server_pct": round(
            sampler_pct / (100 * result["server_cpu_cores"]) * 100, 1
        )
        if result["server_cpu_cores"]
        else None,
        "delivered_ratio": result["delivered_ratio"],
        "target_max_sampler_cpu_pct": TARGET_SAMPLER_CPU_PCT,
        "target_met": sampler_pct < TARGET_SAMPLER_CPU_PCT,
        "sampler_packets": {
            "expected_packets_per_s": round(1 / FRAME_S),
            **{name: packet_counts(series) for name, series in samples.items()},
        },
        "other_cpu_cores": result["other_cpu_cores"],
        "machine": machine_info(),
        "run": result,
    }


def packet_counts(streams: Sequence[Sequence[Sequence[float]]]) -> dict[str, Any]:
    """Packets per sample and the time between samples, over streams of ``(at, packets)``.

    A sample counts the packets since the one before it, so each stream's first
    sample in the window (whose start is unknown) is left out.
    """
    counts: list[float] = []
    spans: list[float] = []
    for stream in streams:
        for (before, _), (at, packets) in itertools.pairwise(sorted(stream, key=lambda s: s[0])):
            spans.append(at - before)
            counts.append(packets)
    return {
        "streams": len(streams),
        "samples": len(counts),
        "packets_per_sample_min": min(counts, default=None),
        "packets_per_sample_p5": percentile(counts, 5),
        **spread("packets_per_sample", counts),
        "samples_outside_40_60": sum(1 for n in counts if not 40 <= n <= 60),
        "interval_s_min": round(min(spans), 3) if spans else None,
        **spread("interval_s", spans, digits=3),
        "packets_per_s": round(sum(counts) / sum(spans), 2) if spans else None,
    }
