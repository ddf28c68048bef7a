"""``kotha bench relay``: server CPU per forwarded audio stream, against a naive relay.

The benchmark runs kotha as a separate process, exactly as an operator would,
and loads it with two-party audio calls made by headless aiortc peers that
speak the real protocol (:class:`~signaling.client.KothaClient`). It then
measures, over a window that starts after every call carries media:

* the server process's CPU time (``/proc/<pid>/stat``, all threads) divided by
  stream-seconds (2 streams per call times the window);
* ``delivered_ratio``: frames the clients received over frames they sent that
  the server should have forwarded;
* latency: receive time minus send time of the same frame, on one clock. It
  includes the clients' own packing, SRTP and loopback hops, so it bounds the
  time a frame spends in the server from above.

The same load then goes through the naive relay (``KOTHA_MEDIA_PLANE=transcode``:
decode every stream and encode it again per receiver, as aiortc's
``MediaRelay`` examples do), so the ratio compares two runs on the same
machine, minutes apart.

The clients must cost little, or on a small machine they would starve the
server they measure: they send Opus packets encoded once at start-up (aiortc's
sender packs an ``av.Packet`` without encoding) and take received frames before
the decoder (``on_encoded_frame``). They run in separate worker processes
(``python -m signaling.bench``) with uvloop at a lower priority, one or more,
each carrying whole calls so that sender and receiver of a stream share a
process and a clock.
Every packet of the loop is unique, and the forwarding server passes frame
bytes through unchanged, so a received frame is matched to the send time of
the same bytes. The transcoding relay changes the bytes: for it, frames are
counted, not matched, and no latency is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import fractions
import json
import logging
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import aiortc
import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError

from media import aiortc_compat
from media.source import SourceKey, SourceKind

from .auth import Role, TokenAuthority
from .client import KothaClient

logger = logging.getLogger(__name__)

MODES = ("forward", "transcode")
# Targets from the issue: the bench reports whether the forwarding run meets them.
TARGET_RATIO = 7.0
TARGET_DELIVERED = 0.99
TARGET_P95_MS = 20.0

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms of Opus, what browsers send
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
LOOP_S = 30.0  # the pre-encoded loop repeats after this; far longer than any latency
OPUS_BITRATE = 32000  # a browser's voice stream

WARMUP_S = 2.0  # media flows this long before the window opens
GRACE_S = 1.0  # frames sent at the end of the window may still arrive this long after it
CALLS_PER_CLIENT_PROCESS = 30
# Client processes run at a lower priority: on a small machine they need about
# as much CPU as the server, and the scheduler's fairness among several client
# processes and one server would otherwise starve the server being measured.
CLIENT_NICE = 10
CONNECT_CONCURRENCY = 4  # calls set up at once per client process (DTLS is CPU-bound)
HEALTH_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0

JWT_SECRET_BYTES = 32
API_KEY = "kotha-bench-api-key-0123456789"

Progress = Callable[[str], None]


# ---------------------------------------------------------------------------
# The parent: server, calls, client processes, CPU and the figures
# ---------------------------------------------------------------------------


async def run_relay_benchmark(
    *,
    calls: int,
    seconds: float,
    modes: str = "both",
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
        quiet: no progress lines on stderr.
        client_processes: worker processes for the client peers (default: one
            per :data:`CALLS_PER_CLIENT_PROCESS` calls).
        warmup: seconds of media before the window opens.
        client_nice: niceness of the client processes (0: same priority as the server).
        profile: when given, ``py-spy record`` samples the server during the
            window and writes collapsed stacks to ``<profile>.<mode>.txt``
            (it costs CPU on the machine: do not take figures from such a run).
    """
    if calls < 1 or seconds <= 0:
        raise ValueError("calls must be at least 1 and seconds positive")
    wanted = MODES if modes == "both" else (modes,)
    if any(mode not in MODES for mode in wanted):
        raise ValueError(f"modes must be 'both' or one of {MODES}, not {modes!r}")
    progress: Progress = (lambda _: None) if quiet else _stderr
    processes = client_processes or max(1, math.ceil(calls / CALLS_PER_CLIENT_PROCESS))
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
        for mode in wanted:
            run = ModeRun(
                mode=mode,
                calls=calls,
                seconds=seconds,
                warmup=warmup,
                processes=processes,
                workdir=workdir / mode,
                loop_file=loop_file,
                progress=progress,
                profile=profile.with_name(f"{profile.name}.{mode}.txt") if profile else None,
                client_nice=client_nice,
            )
            results[mode] = await run.run()
    return summarise(calls, seconds, results, processes=processes, client_nice=client_nice)


def summarise(
    calls: int,
    seconds: float,
    results: dict[str, dict[str, Any]],
    *,
    processes: int,
    client_nice: int,
) -> dict[str, Any]:
    """The top-level figures the issue asks for, with each mode's details below them.

    ``ratio`` divides CPU by the offered stream-seconds on both sides, as the
    issue defines it. When the naive relay cannot carry the load it drops
    media and its CPU stops growing, so that ratio understates its cost:
    ``baseline_saturated`` says so, and ``ratio_per_delivered_stream`` divides
    each side's CPU by the stream-seconds it actually delivered.
    """
    forward = results.get("forward", {})
    baseline = results.get("transcode", {})
    server = forward.get("cpu_ms_per_stream_s")
    naive = baseline.get("cpu_ms_per_stream_s")
    ratio = _ratio(naive, server)
    per_delivered = _ratio(
        baseline.get("cpu_ms_per_delivered_stream_s"), forward.get("cpu_ms_per_delivered_stream_s")
    )
    baseline_delivered = baseline.get("delivered_ratio")
    summary: dict[str, Any] = {
        "benchmark": "relay",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "calls": calls,
        "streams": 2 * calls,
        "seconds": seconds,
        "modes": list(results),
        "server_cpu_ms_per_stream_s": server,
        "baseline_cpu_ms_per_stream_s": naive,
        "ratio": ratio,
        "ratio_per_delivered_stream": per_delivered,
        "delivered_ratio": forward.get("delivered_ratio"),
        "latency_ms_p50": forward.get("latency_ms_p50"),
        "latency_ms_p95": forward.get("latency_ms_p95"),
        "baseline_delivered_ratio": baseline_delivered,
        "baseline_saturated": None
        if baseline_delivered is None
        else baseline_delivered < TARGET_DELIVERED,
        "client_processes": processes,
        "client_nice": client_nice,
        "targets": _targets(forward, ratio, per_delivered),
        "machine": machine_info(),
    }
    summary["meets_targets"] = _all_met(summary["targets"])
    summary.update(results)
    return summary


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 2) if numerator and denominator else None


def _targets(
    forward: dict[str, Any], ratio: float | None, per_delivered: float | None
) -> dict[str, Any]:
    """Each target of the issue and whether this run met it (None: not measured)."""
    delivered = forward.get("delivered_ratio")
    p95 = forward.get("latency_ms_p95")
    return {
        "min_ratio": TARGET_RATIO,
        "min_delivered_ratio": TARGET_DELIVERED,
        "max_latency_ms_p95": TARGET_P95_MS,
        "ratio_met": None if ratio is None else ratio >= TARGET_RATIO,
        "ratio_per_delivered_stream_met": None
        if per_delivered is None
        else per_delivered >= TARGET_RATIO,
        "delivered_ratio_met": None if delivered is None else delivered >= TARGET_DELIVERED,
        "latency_ms_p95_met": None if p95 is None else p95 < TARGET_P95_MS,
    }


def _all_met(targets: dict[str, Any]) -> bool | None:
    """The strict reading: the offered-load ratio, delivery and latency (None: not all known)."""
    checks = [targets[key] for key in ("ratio_met", "delivered_ratio_met", "latency_ms_p95_met")]
    return None if None in checks else all(checks)


def machine_info() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "aiortc": aiortc.__version__,
        "av": av.__version__,
        "platform": platform.platform(),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


@dataclass
class ModeRun:
    """One mode's run: its own server process, calls and client processes."""

    mode: str
    calls: int
    seconds: float
    warmup: float
    processes: int
    workdir: Path
    loop_file: Path
    progress: Progress
    profile: Path | None = None
    client_nice: int = CLIENT_NICE
    server: asyncio.subprocess.Process | None = None
    workers: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def run(self) -> dict[str, Any]:
        """Measure this mode; a failure is reported in the result, not raised."""
        self.workdir.mkdir(parents=True)
        try:
            return await self._measure()
        except Exception as exc:
            logger.debug("bench mode %s failed", self.mode, exc_info=True)
            self.progress(f"bench[{self.mode}]: FAILED: {exc}")
            return {"mode": self.mode, "calls": self.calls, "error": str(exc)}
        finally:
            await self._stop()

    async def _measure(self) -> dict[str, Any]:
        secret = secrets.token_urlsafe(JWT_SECRET_BYTES)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        self.server = await start_server(self.mode, port, secret, self.workdir)
        await wait_healthy(url, self.server, self.workdir / "server.log")
        self.progress(f"bench[{self.mode}]: server pid {self.server.pid} on {url}")
        setup_started = time.monotonic()
        specs = await create_calls(url, secret, self.calls)
        await self._start_workers(url, specs)
        await asyncio.gather(*(self._expect(w, "accepted") for w in self.workers))
        for worker in self.workers:
            _send(worker, {"join": True})
        await asyncio.gather(*(self._expect(w, "ready") for w in self.workers))
        setup_s = time.monotonic() - setup_started
        self.progress(
            f"bench[{self.mode}]: {self.calls} calls carry media after {setup_s:.1f} s; "
            f"warm-up {self.warmup:.0f} s, window {self.seconds:.0f} s"
        )
        t0 = time.monotonic() + self.warmup
        t1 = t0 + self.seconds
        for worker in self.workers:
            _send(worker, {"t0": t0, "t1": t1})
        cpu = await self._cpu_over_window(t0, t1)
        reports = await asyncio.gather(*(self._expect(w, "result") for w in self.workers))
        result = self._figures(cpu, reports, t1 - t0)
        result["setup_s"] = round(setup_s, 1)
        self.progress(f"bench[{self.mode}]: {json.dumps(_headline(result))}")
        return result

    async def _start_workers(self, url: str, specs: list[dict[str, str]]) -> None:
        share = math.ceil(len(specs) / self.processes)
        for index in range(self.processes):
            mine = specs[index * share : (index + 1) * share]
            if not mine:
                break
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "signaling.bench",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=(self.workdir / f"client-{index}.log").open("wb"),
                cwd=_project_root(),
                env=_child_env(),
                limit=64 * 1024 * 1024,  # the result line carries every latency sample
            )
            self.workers.append(worker)
            _send(
                worker,
                {
                    "url": url,
                    "calls": mine,
                    "loop_file": str(self.loop_file),
                    "index": index,
                    "nice": self.client_nice,
                },
            )

    async def _expect(self, worker: asyncio.subprocess.Process, event: str) -> dict[str, Any]:
        """The worker's next message, which must be ``event``."""
        assert worker.stdout is not None
        timeout = 60.0 + 2.0 * self.calls + self.warmup + self.seconds
        line = await asyncio.wait_for(worker.stdout.readline(), timeout)
        if not line:
            tail = _tail(self.workdir.glob("client-*.log"))
            raise RuntimeError(f"a client process exited before '{event}':\n{tail}")
        message = json.loads(line)
        if message.get("event") == "error":
            tail = _tail(self.workdir.glob("client-*.log"), lines=8)
            raise RuntimeError(f"client process: {message.get('message')}\n{tail}")
        if message.get("event") != event:
            raise RuntimeError(f"client process said {message.get('event')!r}, not {event!r}")
        return message

    async def _cpu_over_window(self, t0: float, t1: float) -> dict[str, float]:
        """CPU seconds of the server and of all client processes between t0 and t1."""
        assert self.server is not None
        pids = {"server": self.server.pid, "clients": [w.pid for w in self.workers]}
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        before = _cpu_snapshot(pids)
        spy = await self._start_profiler() if self.profile else None
        await asyncio.sleep(max(0.0, t1 - time.monotonic()))
        after = _cpu_snapshot(pids)
        if spy is not None:
            await _wait_quietly(spy, STOP_TIMEOUT_S)
        return {name: after[name] - before[name] for name in before}

    async def _start_profiler(self) -> asyncio.subprocess.Process:
        assert self.server is not None and self.profile is not None
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.progress(f"bench[{self.mode}]: py-spy -> {self.profile}")
        return await asyncio.create_subprocess_exec(
            py_spy,
            "record",
            "--pid",
            str(self.server.pid),
            "--duration",
            str(max(1, int(self.seconds))),
            "--rate",
            "200",
            "--format",
            "raw",
            "--nonblocking",
            "--threads",
            "-o",
            str(self.profile),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=(self.workdir / "py-spy.log").open("wb"),
        )

    def _figures(
        self, cpu: dict[str, float], reports: Sequence[dict[str, Any]], window: float
    ) -> dict[str, Any]:
        stream_s = 2 * self.calls * window
        sent = sum(r["sent"] for r in reports)
        delivered = sum(r["matched"] if self.mode == "forward" else r["arrived"] for r in reports)
        result: dict[str, Any] = {
            "mode": self.mode,
            "calls": self.calls,
            "streams": 2 * self.calls,
            "window_s": round(window, 3),
            "server_cpu_s": round(cpu["server"], 3),
            "server_cpu_cores": round(cpu["server"] / window, 3),
            "server_cpu_system_share": round(cpu["server_system"] / cpu["server"], 3)
            if cpu["server"]
            else None,
            "cpu_ms_per_stream_s": round(1000 * cpu["server"] / stream_s, 3),
            "cpu_ms_per_delivered_stream_s": round(1000 * cpu["server"] / (delivered * FRAME_S), 3)
            if delivered
            else None,
            "frames_sent": sent,
            "frames_delivered": delivered,
            "delivered_ratio": round(delivered / sent, 5) if sent else None,
            "delivered_counted_by": "matched bytes" if self.mode == "forward" else "arrivals",
            "client_processes": len(reports),
            "client_cpu_s": round(cpu["clients"], 3),
            "client_cpu_cores": round(cpu["clients"] / window, 3),
            "client_cpu_ms_per_stream_s": round(1000 * cpu["clients"] / stream_s, 3),
            "udp_receive_drops": int(cpu["udp_drops"]),
            # Anything else the machine ran meanwhile (other jobs skew the figures).
            "other_cpu_cores": round(
                max(0.0, cpu["machine"] - cpu["server"] - cpu["clients"]) / window, 3
            ),
            "server_log_warnings": _count_warnings(self.workdir / "server.log"),
        }
        if self.mode == "forward":
            result["frames_unmatched"] = sum(r["unmatched"] for r in reports)
            result.update(latency_figures([us for r in reports for us in r["latencies_us"]]))
        return result

    async def _stop(self) -> None:
        """Clients first (they close their peers and exit), then SIGTERM the server."""
        for worker in self.workers:
            with contextlib.suppress(Exception):
                _send(worker, {"stop": True})
        await asyncio.gather(*(_wait_quietly(w, STOP_TIMEOUT_S) for w in self.workers))
        self.workers.clear()
        if self.server is not None:
            await _terminate(self.server, STOP_TIMEOUT_S)
            self.server = None


def latency_figures(latencies_us: Sequence[int]) -> dict[str, Any]:
    """Percentiles of the matched frames' time from sender to receiver, in ms."""
    if not latencies_us:
        return {}
    samples = np.asarray(latencies_us, dtype=np.float64) / 1000
    p50, p95, p99 = np.percentile(samples, [50, 95, 99])
    return {
        "latency_ms_p50": round(float(p50), 2),
        "latency_ms_p95": round(float(p95), 2),
        "latency_ms_p99": round(float(p99), 2),
        "latency_ms_max": round(float(samples.max()), 2),
        "latency_samples": int(samples.size),
    }


def _count_warnings(log: Path) -> int:
    """Lines the server logged at WARNING or above (e.g. a slow consumer's dropped backlog)."""
    with contextlib.suppress(OSError):
        return sum(
            1
            for line in log.read_text(errors="replace").splitlines()
            if "WARNING" in line or "ERROR" in line
        )
    return 0


def _headline(result: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "cpu_ms_per_stream_s",
        "server_cpu_cores",
        "delivered_ratio",
        "latency_ms_p50",
        "latency_ms_p95",
        "client_cpu_cores",
    )
    return {key: result[key] for key in keys if key in result}


async def start_server(
    mode: str, port: int, secret: str, workdir: Path
) -> asyncio.subprocess.Process:
    """kotha as an operator runs it, with the media plane of ``mode``."""
    env = _child_env()
    env.update(
        KOTHA_MEDIA_PLANE=mode,
        KOTHA_ICE_ADDRESSES="127.0.0.1",
        KOTHA_DATA_DIR=str(workdir / "data"),
        KOTHA_JWT_SECRET=secret,
        KOTHA_API_KEYS=API_KEY,
        KOTHA_LOG_LEVEL="WARNING",
        KOTHA_LOG_FORMAT="text",
        KOTHA_MAX_QUEUE="10000",
    )
    log = (workdir / "server.log").open("wb")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "signaling",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        cwd=_project_root(),
        env=env,
    )


async def wait_healthy(url: str, server: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                raise RuntimeError(f"the server exited with {server.returncode}:\n{_tail([log])}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server was not healthy within {HEALTH_TIMEOUT_S:.0f} s")


async def create_calls(url: str, secret: str, count: int) -> list[dict[str, str]]:
    """``count`` calls made through the REST API, with a distinct agent for each."""
    authority = TokenAuthority(secret)
    specs: list[dict[str, str]] = []
    async with aiohttp.ClientSession(headers={"X-API-Key": API_KEY}) as session:
        for index in range(count):
            body = {
                "customer": {"id": f"bench-customer-{index}", "name": f"Customer {index}"},
                "language": "bn",
                "media": "audio",
            }
            async with session.post(f"{url}/api/calls", json=body) as response:
                if response.status != 201:
                    text = await response.text()
                    raise RuntimeError(f"POST /api/calls: {response.status} {text}")
                created = await response.json()
            agent = authority.issue(
                Role.AGENT, f"bench-agent-{index}", name=f"Agent {index}", ttl_s=3600
            )
            specs.append(
                {"call_id": created["call_id"], "customer_token": created["token"], "agent": agent}
            )
    return specs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_snapshot(pids: dict[str, Any]) -> dict[str, float]:
    user, system = process_cpu(pids["server"])
    clients = [process_cpu(pid) for pid in pids["clients"]]
    return {
        "server": user + system,
        "server_system": system,
        "clients": sum(u + s for u, s in clients),
        "machine": machine_busy_seconds(),
        "udp_drops": udp_receive_drops(),
    }


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (``/proc/stat``): to see other load."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def udp_receive_drops() -> float:
    """Datagrams the kernel dropped for a full socket buffer, machine-wide (``/proc/net/snmp``).

    A client or server too slow to read its socket loses packets there, not in kotha.
    """
    rows = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
    names, values = (row for row in rows if row and row[0] == "Udp:")
    counters = dict(zip(names[1:], values[1:], strict=True))
    return float(counters.get("RcvbufErrors", 0))


def process_cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of every thread of ``pid`` (``/proc/<pid>/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; the fields after it do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


async def _wait_quietly(process: asyncio.subprocess.Process, patience_s: float) -> None:
    """Let a process end by itself; SIGTERM it when it does not, SIGKILL as a last resort."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), patience_s)
        return
    await _terminate(process, patience_s)


async def _terminate(process: asyncio.subprocess.Process, patience_s: float) -> None:
    """SIGTERM (kotha shuts down cleanly on it), then SIGKILL if it hangs."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), patience_s)


def _send(worker: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
    assert worker.stdin is not None
    worker.stdin.write(json.dumps(message).encode() + b"\n")


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(_project_root())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def _project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _tail(paths: Any, lines: int = 20) -> str:
    out = []
    for path in paths:
        with contextlib.suppress(OSError):
            text = Path(path).read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path}\n" + "\n".join(text))
    return "\n".join(out)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# The Opus loop every client sends
# ---------------------------------------------------------------------------


def encode_opus_loop(seconds: float, seed: int = 7) -> list[bytes]:
    """``seconds`` of a voice-like signal, encoded once with libopus; unique packets only.

    Syllable-rate loudness, a gliding pitch with harmonics and a little
    noise keep every 20 ms packet different, so a packet's bytes name it.
    """
    samples = _voice_like(seconds, seed)
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = SAMPLE_RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = OPUS_BITRATE
    codec.time_base = TIME_BASE
    codec.options = {"application": "voip"}
    packets: list[bytes] = []
    for start in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        frame = av.AudioFrame.from_ndarray(
            samples[start : start + FRAME_SAMPLES].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        frame.time_base = TIME_BASE
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    return list(dict.fromkeys(p for p in packets if p))


def _voice_like(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 140 + 40 * np.sin(2 * np.pi * 0.7 * t) + 15 * np.sin(2 * np.pi * 3.1 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + np.sin(2 * np.pi * 0.3 * t))
    signal_ = 6000 * envelope * voice + rng.normal(0, 300, t.size)
    return np.clip(signal_, -32767, 32767).astype(np.int16)


def write_packets(path: Path, packets: Sequence[bytes]) -> None:
    with path.open("wb") as out:
        for packet in packets:
            out.write(struct.pack("!H", len(packet)))
            out.write(packet)


def read_packets(path: Path) -> list[bytes]:
    data = path.read_bytes()
    packets, offset = [], 0
    while offset < len(data):
        (size,) = struct.unpack_from("!H", data, offset)
        packets.append(data[offset + 2 : offset + 2 + size])
        offset += 2 + size
    return packets


# ---------------------------------------------------------------------------
# A client process: whole calls, paced pre-encoded senders, matching receivers
# ---------------------------------------------------------------------------


@dataclass
class Window:
    """The measurement window on the machine-wide monotonic clock (closed until set)."""

    t0: float = math.inf
    t1: float = -math.inf


class LoopTrack(MediaStreamTrack):
    """A microphone that sends the pre-encoded loop as ``av.Packet`` every 20 ms.

    aiortc's sender packs the packet as it is, so a client stream costs no
    encoding. The send time of each packet's bytes is kept for matching.
    """

    kind = "audio"

    def __init__(self, packets: Sequence[bytes], offset: int, window: Window) -> None:
        super().__init__()
        self._packets = packets
        self._offset = offset
        self._window = window
        self._count = 0
        self._start: float | None = None
        self.sent_at: dict[bytes, float] = {}
        self.sent_in_window = 0

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._count * FRAME_S - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        data = self._packets[(self._offset + self._count) % len(self._packets)]
        packet = av.Packet(data)
        packet.pts = self._count * FRAME_SAMPLES
        packet.time_base = TIME_BASE
        self._count += 1
        now = time.monotonic()
        self.sent_at[data] = now
        if self._window.t0 <= now <= self._window.t1:
            self.sent_in_window += 1
        return packet


class Tally:
    """What the receivers of one client process saw."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.senders: dict[str, LoopTrack] = {}
        self.receiving: set[str] = set()
        self.matched = 0
        self.arrived = 0
        self.unmatched = 0
        self.latencies_us: list[int] = []

    def on_frame(self, key: SourceKey, frame: JitterFrame) -> None:
        """Called by the client peer for every received encoded frame (keep it cheap)."""
        now = time.monotonic()
        sender = self.senders.get(key.participant_id)
        if sender is None:
            return
        self.receiving.add(key.participant_id)
        window = self.window
        if window.t0 <= now <= window.t1:
            self.arrived += 1
        sent = sender.sent_at.get(frame.data)
        if sent is None:
            if window.t0 <= now <= window.t1:
                self.unmatched += 1
            return
        if window.t0 <= sent <= window.t1:
            self.matched += 1
            self.latencies_us.append(int((now - sent) * 1e6))

    def report(self) -> dict[str, Any]:
        return {
            "event": "result",
            "sent": sum(s.sent_in_window for s in self.senders.values()),
            "matched": self.matched,
            "arrived": self.arrived,
            "unmatched": self.unmatched,
            "latencies_us": self.latencies_us,
        }


@dataclass
class Call:
    """One call of a client process: its two peers and what each sends."""

    call_id: str
    customer_track: LoopTrack
    agent_track: LoopTrack
    customer: KothaClient | None = None
    agent: KothaClient | None = None


class ClientProcess:
    """The calls of one worker process and the protocol with the parent."""

    def __init__(self, job: dict[str, Any], out: Any) -> None:
        self.url: str = job["url"]
        self.specs: list[dict[str, str]] = job["calls"]
        self.packets = read_packets(Path(job["loop_file"]))
        self.window = Window()
        self.tally = Tally(self.window)
        self.clients: list[KothaClient] = []
        self._out = out
        self._index = int(job.get("index", 0))

    def say(self, message: dict[str, Any]) -> None:
        self._out.write(json.dumps(message) + "\n")
        self._out.flush()

    async def run(self) -> None:
        try:
            # All calls are taken before any media flows (the parent waits for
            # every process): call set-up then does not compete with media.
            limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
            calls = await asyncio.gather(
                *(self._take_call(i, spec, limit) for i, spec in enumerate(self.specs))
            )
            self.say({"event": "accepted", "calls": len(calls)})
            await _read_message()
            await asyncio.gather(*(self._join(call, limit) for call in calls))
            await self._await_media(30.0 + len(self.specs))
            self.say({"event": "ready", "calls": len(self.specs)})
            window = await _read_message()
            self.window.t0, self.window.t1 = float(window["t0"]), float(window["t1"])
            await asyncio.sleep(max(0.0, self.window.t1 + GRACE_S - time.monotonic()))
            self.say(self.tally.report())
        except Exception as exc:
            logger.exception("client process failed")
            self.say({"event": "error", "message": f"{type(exc).__name__}: {exc}"})
        finally:
            await self.close()

    async def _take_call(self, index: int, spec: dict[str, str], limit: asyncio.Semaphore) -> Call:
        """Signalling only: the customer asks, the call's own agent takes it."""
        async with limit:
            # Different starting points, so that streams do not send identical bytes at once.
            offset = (index * 97 + self._index * 31) % len(self.packets)
            call = Call(
                spec["call_id"],
                LoopTrack(self.packets, offset, self.window),
                LoopTrack(self.packets, offset + len(self.packets) // 2, self.window),
            )
            customer = call.customer = self._client(spec["customer_token"], call.customer_track)
            agent = call.agent = self._client(spec["agent"], call.agent_track)
            await customer.connect()
            await agent.connect()
            await customer.request_call(media="audio")
            await agent.set_availability("available")
            await agent.accept_call(call.call_id)
            return call

    async def _join(self, call: Call, limit: asyncio.Semaphore) -> None:
        """Both sides join the media; their participant ids name the streams."""
        assert call.customer is not None and call.agent is not None
        async with limit:
            joined = await asyncio.gather(
                call.customer.join_call(call.call_id), call.agent.join_call(call.call_id)
            )
            self.tally.senders[joined[0]["participant_id"]] = call.customer_track
            self.tally.senders[joined[1]["participant_id"]] = call.agent_track

    def _client(self, token: str, track: LoopTrack) -> KothaClient:
        client = KothaClient(
            self.url,
            token,
            sources={SourceKind.MICROPHONE: track},
            on_encoded_frame=self.tally.on_frame,
        )
        self.clients.append(client)
        return client

    async def _await_media(self, patience_s: float) -> None:
        """Every stream of this process has delivered a frame."""
        deadline = time.monotonic() + patience_s
        expected = 2 * len(self.specs)
        while len(self.tally.receiving) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"only {len(self.tally.receiving)} of {expected} streams carry media "
                    f"after {patience_s:.0f} s"
                )
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)


async def _read_message() -> dict[str, Any]:
    """The parent's next line on stdin (read in a thread: stdin is a plain pipe)."""
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if not line:
        raise RuntimeError("the parent closed the pipe")
    message: dict[str, Any] = json.loads(line)
    if message.get("stop"):
        raise RuntimeError("stopped by the parent")
    return message


def worker_main() -> None:
    """Entry point of a client process (``python -m signaling.bench``)."""
    import uvloop  # noqa: PLC0415 - only the worker runs on uvloop

    # Protocol lines go to the real stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    aiortc_compat.restrict_ice_addresses(["127.0.0.1"])
    job = json.loads(sys.stdin.readline())
    os.nice(int(job.get("nice", 0)))
    uvloop.run(ClientProcess(job, out).run())


if __name__ == "__main__":
    worker_main()
