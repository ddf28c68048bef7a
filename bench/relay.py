"""``kotha bench relay``: server CPU per forwarded audio stream, against a naive relay.

The benchmark runs kotha as a separate process, exactly as an operator would,
and loads it with two-party audio calls made by headless aiortc peers that
speak the real protocol (:class:`~client.participant.KothaClient`). It then
measures, over a window that starts after every call carries media:

* the server process's CPU time (``/proc/<pid>/stat``, all threads) divided by
  stream-seconds (2 streams per call times the window);
* ``delivered_ratio``: frames the clients received over frames they sent that
  the server should have forwarded;
* latency: receive time minus send time of the same frame, on one clock. It
  includes the clients' own packing, SRTP and loopback hops, so it bounds the
  time a frame spends in the server from above.

The same load then goes through the naive relay (:mod:`bench.baseline`, served
by ``python -m bench.baseline_server``: decode every stream and encode it again
per receiver, as aiortc's ``MediaRelay`` examples do), so the ratio compares two
runs on the same machine, minutes apart.

The clients must cost little, or on a small machine they would starve the
server they measure: they send Opus packets encoded once at start-up (aiortc's
sender packs an ``av.Packet`` without encoding) and take received frames before
the decoder (``on_encoded_frame``). They run in separate worker processes
(``python -m bench.worker``) with uvloop at a lower priority, one or more,
each carrying whole calls so that sender and receiver of a stream share a
process and a clock.
Every packet of the loop is unique, and the forwarding server passes frame
bytes through unchanged, so a received frame is matched to the send time of
the same bytes. The transcoding relay changes the bytes: for it, frames are
counted, not matched, and no latency is given.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .metrics_probe import read_talk_cpu
from .mode_run import CLIENT_NICE, ModeRun, Progress
from .opus_loop import LOOP_S, encode_opus_loop, write_packets
from .server import ANALYTICS_MODES
from .summary import summarise, summarise_analytics, summarise_rounds

MODES = ("forward", "transcode", "record", "monitor", *ANALYTICS_MODES)
WARMUP_S = 2.0  # media flows this long before the window opens
CALLS_PER_CLIENT_PROCESS = 30


async def run_relay_benchmark(
    *,
    calls: int,
    seconds: float,
    modes: str = "both",
    record: bool = False,
    monitor: bool = False,
    analytics: bool = False,
    rounds: int = 1,
    quiet: bool = False,
    client_processes: int | None = None,
    warmup: float = WARMUP_S,
    profile: Path | None = None,
    client_nice: int = CLIENT_NICE,
) -> dict[str, Any]:
    """Run the relay benchmark and return its figures as one JSON-able dict.

    Args:
        calls: two-party audio calls carried at once.
        seconds: length of the measurement window of each mode.
        modes: ``both`` (forward, then the naive transcoding relay), ``forward``
            or ``transcode``.
        record: also run the forwarding load with every call recorded
            (``record`` mode), to measure what recording adds.
        monitor: also run the forwarding load with a listening supervisor on
            every call (``monitor`` mode), to measure what monitoring adds.
        analytics: instead, run recorded calls transcribed live (``transcribe``) and the
            same with the conversation analytics on (``analytics``), alternately for
            ``rounds``: what the analytics add to a recorded, transcribed call's CPU.
        rounds: with ``record``, ``monitor`` or ``analytics``, run forward and those modes
            alternately this many times: the machine is shared, and its speed
            drifts by more than recording costs, so one pair of runs can
            mislead; the median of the rounds' overheads does not (each round's
            figures are kept).
        quiet: no progress lines on stderr.
        client_processes: worker processes for the client peers (default: one
            per :data:`CALLS_PER_CLIENT_PROCESS` calls).
        warmup: seconds of media before the window opens.
        client_nice: niceness of the client processes (0: same priority as the server).
        profile: when given, ``py-spy record`` samples the server during the
            window and writes collapsed stacks to ``<profile>.<mode>.txt``
            (it costs CPU on the machine: do not take figures from such a run).
    """
    if calls < 1 or seconds <= 0 or rounds < 1:
        raise ValueError("calls and rounds must be at least 1, and seconds positive")
    wanted: tuple[str, ...] = ("forward", "transcode") if modes == "both" else (modes,)
    if any(mode not in MODES for mode in wanted):
        raise ValueError(f"modes must be 'both' or one of {MODES}, not {modes!r}")
    compared = tuple(mode for mode, on in (("record", record), ("monitor", monitor)) if on)
    if analytics:
        wanted, compared = ANALYTICS_MODES, ANALYTICS_MODES[1:]
    elif compared:
        wanted = tuple(dict.fromkeys((*wanted, "forward", *compared)))
    progress: Progress = (lambda _: None) if quiet else _stderr
    # A client process carries CALLS_PER_CLIENT_PROCESS two-party calls' worth of peers; with
    # a listening supervisor a call has three (every mode of the run gets the same processes).
    peers = 3 if monitor else 2
    processes = client_processes or max(
        1, math.ceil(calls * peers / (2 * CALLS_PER_CLIENT_PROCESS))
    )
    with tempfile.TemporaryDirectory(prefix="kotha-bench-") as tmp:
        workdir = Path(tmp)
        loop_file = workdir / "opus-loop.bin"
        started = time.monotonic()
        packets = encode_opus_loop(LOOP_S)
        write_packets(loop_file, packets)
        progress(
            f"bench: {len(packets)} unique Opus packets ({LOOP_S:.0f} s loop) encoded in "
            f"{time.monotonic() - started:.1f} s"
        )
        results: dict[str, dict[str, Any]] = {}
        runs: list[dict[str, dict[str, Any]]] = []
        for round_no in range(rounds if compared else 1):
            one: dict[str, dict[str, Any]] = {}
            for mode in (
                wanted if round_no == 0 else (wanted[0] if analytics else "forward", *compared)
            ):
                run = ModeRun(
                    mode=mode,
                    calls=calls,
                    seconds=seconds,
                    warmup=warmup,
                    processes=processes,
                    workdir=workdir / f"{mode}-{round_no}",
                    loop_file=loop_file,
                    progress=progress,
                    profile=profile.with_name(f"{profile.name}.{mode}.txt") if profile else None,
                    client_nice=client_nice,
                    probe=read_talk_cpu if mode == "analytics" else None,
                )
                one[mode] = results[mode] = await run.run()
            runs.append(one)
    summary = summarise(calls, seconds, results, processes=processes, client_nice=client_nice)
    if analytics:
        summarise_analytics(summary, runs)
    elif compared:
        summarise_rounds(summary, runs)
    return summary


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
