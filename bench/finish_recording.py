"""What finishing a recording costs: CPU per minute of call, and the event loop meanwhile.

Usage (from the repository root):

    .venv/bin/python -m bench.finish_recording --minutes 10

It writes a two-party recording of ``--minutes`` of Opus tones (customer
440 Hz, agent 660 Hz) through the recorder's own writer, then runs
``finalize`` (the combined file, the dual-channel WAV, the mixed playback
file, checksums) in a worker thread as the server does, while a probe on
the event loop measures how late its 5 ms sleeps wake up. Prints one JSON
line: wall and CPU seconds, CPU per minute of call, and the loop lag.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from recording.finalize import finalize
from recording.writer import DiskWriter, RecordingWriter

FRAME_MS = 20
PROBE_S = 0.005


def tone_packets(freq: float, seconds: float = 1.0) -> list[bytes]:
    """Opus packets of a tone, to loop (a real encoder's output, decodable)."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = 48000
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.time_base = fractions.Fraction(1, 48000)
    count = round(seconds * 1000 / FRAME_MS)
    t = np.arange(960 * count) / 48000
    pcm = (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)
    packets: list[bytes] = []
    for n in range(count):
        chunk = np.repeat(pcm[n * 960 : (n + 1) * 960], 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = n * 960
        packets += [bytes(p) for p in encoder.encode(frame)]
    return packets


def write_recording(folder: Path, minutes: float) -> None:
    streams = {
        "customer-microphone-p1": ("p1", "customer", 440.0),
        "agent-microphone-p2": ("p2", "agent", 660.0),
    }
    disk = DiskWriter()
    writer = RecordingWriter(folder, disk)
    writer.start()
    now = time.time()
    call = {
        "customer": {"name": "Karim", "subject": "karim"},
        "agent": {"name": "Rahim", "subject": "rahim"},
    }
    writer.event(
        json.dumps(
            {"t_ms": 0, "at": now, "type": "recording_started", "call_id": "bench", "call": call}
        )
    )
    loops = {}
    for name, (pid, role, freq) in streams.items():
        writer.event(
            json.dumps(
                {
                    "t_ms": 0,
                    "at": now,
                    "type": "stream_started",
                    "stream": name,
                    "participant_id": pid,
                    "role": role,
                    "source": "microphone",
                    "kind": "audio",
                }
            )
        )
        loops[name] = tone_packets(freq)
    for n in range(int(minutes * 60 * 1000 / FRAME_MS)):
        for name, packets in loops.items():
            writer.frame(name, "audio", packets[n % len(packets)], n * FRAME_MS, True)
    writer.stop().result()
    disk.close().result()


async def finish(folder: Path) -> dict[str, float]:
    lags: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(PROBE_S)
            lags.append((time.perf_counter() - started - PROBE_S) * 1000)

    probing = asyncio.create_task(probe())
    wall, cpu = time.perf_counter(), time.process_time()
    meta = await asyncio.get_running_loop().run_in_executor(
        None, lambda: finalize(folder, recovered=False)
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done.set()
    await probing
    lags.sort()
    return {
        "duration_s": meta["duration_ms"] / 1000,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "loop_lag_ms_p50": round(lags[len(lags) // 2], 2),
        "loop_lag_ms_p99": round(lags[int(len(lags) * 0.99)], 2),
        "loop_lag_ms_max": round(lags[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.finish_recording",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kotha-finish-") as tmp:
        folder = Path(tmp) / "call"
        started = time.perf_counter()
        write_recording(folder, args.minutes)
        written = time.perf_counter() - started
        result = asyncio.run(finish(folder))
    result["cpu_s_per_call_minute"] = round(result["cpu_s"] / args.minutes, 3)
    print(
        json.dumps(
            {
                "benchmark": "finish_recording",
                "minutes": args.minutes,
                "write_s": round(written, 2),
                **result,
            }
        )
    )


if __name__ == "__main__":
    main()
