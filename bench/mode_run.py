"""``ModeRun``: one mode's server, calls and client processes, and its figures."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .measure import cpu_snapshot, latency_figures
from .nodes_ready import wait_nodes
from .opus_loop import FRAME_S
from .processes import (
    STOP_TIMEOUT_S,
    child_env,
    log_tail,
    project_root,
    terminate,
    wait_quietly,
)
from .server import JWT_SECRET_BYTES, create_calls, free_port, start_server, wait_healthy

logger = logging.getLogger(__name__)

# Client processes run at a lower priority: on a small machine they need about
# as much CPU as the server, and the scheduler's fairness among several client
# processes and one server would otherwise starve the server being measured.
CLIENT_NICE = 10

Progress = Callable[[str], None]
# Reads figures from the server under load (given its URL and JWT secret), at the start
# and at the end of the window; the result carries the difference.
Probe = Callable[[str, str], Awaitable[dict[str, float]]]


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
    probe: Probe | None = None
    sample_quality: bool = False  # the result carries the sampler's per-second packet counts
    nodes: int = 1  # > 1: ``kotha serve --nodes``, that many node processes on one port
    redis: tuple[str, str] | None = None  # the call centre's state there (URL, key prefix)
    redis_pid: int | None = None  # its CPU is measured too
    node_pids: list[int] = field(default_factory=list)
    on_ready: Callable[[], Awaitable[None]] | None = None  # called as the calls' set-up starts
    server: asyncio.subprocess.Process | None = None
    workers: list[asyncio.subprocess.Process] = field(default_factory=list)

    @property
    def forwards(self) -> bool:
        """Frames pass unchanged (forward, record): matched by bytes, latency measured."""
        return self.mode != "transcode"

    @property
    def supervised(self) -> bool:
        """Every call also has a listening supervisor (``monitor``)."""
        return self.mode == "monitor"

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
        self.server = await start_server(
            self.mode, port, secret, self.workdir, nodes=self.nodes, redis=self.redis
        )
        await wait_healthy(url, self.server, self.workdir / "server.log")
        self.node_pids = await wait_nodes(url, secret, self.server, self.nodes)
        self.progress(f"bench[{self.mode}]: server pid {self.server.pid} on {url}")
        if self.on_ready is not None:
            await self.on_ready()
        setup_started = time.monotonic()
        specs = await create_calls(url, secret, self.calls, supervised=self.supervised)
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
        probed: dict[str, float] = {}
        if self.probe is not None:
            probe = self.probe
            await asyncio.sleep(max(0.0, t0 - time.monotonic()))
            started = await probe(url, secret)
            cpu = await self._cpu_over_window(time.monotonic(), t1)
            ended = await probe(url, secret)
            probed = {k: ended[k] - started.get(k, 0.0) for k in ended}
        else:
            cpu = await self._cpu_over_window(t0, t1)
        reports = await asyncio.gather(*(self._expect(w, "result") for w in self.workers))
        result = self._figures(cpu, reports, t1 - t0)
        result["setup_s"] = round(setup_s, 1)
        if probed:
            result["probe"] = probed
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
                "bench.worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=(self.workdir / f"client-{index}.log").open("wb"),
                cwd=project_root(),
                env=child_env(),
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
                    "quality": self.sample_quality,
                },
            )

    async def _expect(self, worker: asyncio.subprocess.Process, event: str) -> dict[str, Any]:
        """The worker's next message, which must be ``event``."""
        assert worker.stdout is not None
        timeout = 60.0 + 2.0 * self.calls + self.warmup + self.seconds
        line = await asyncio.wait_for(worker.stdout.readline(), timeout)
        if not line:
            tail = log_tail(self.workdir.glob("client-*.log"))
            raise RuntimeError(f"a client process exited before '{event}':\n{tail}")
        message = json.loads(line)
        if message.get("event") == "error":
            tail = log_tail(self.workdir.glob("client-*.log"), lines=8)
            raise RuntimeError(f"client process: {message.get('message')}\n{tail}")
        if message.get("event") != event:
            raise RuntimeError(f"client process said {message.get('event')!r}, not {event!r}")
        return message

    async def _cpu_over_window(self, t0: float, t1: float) -> dict[str, float]:
        """CPU seconds of the server and of all client processes between t0 and t1."""
        assert self.server is not None
        pids = {
            "server": self.server.pid,
            "clients": [w.pid for w in self.workers],
            "nodes": self.node_pids,
            "redis": self.redis_pid,
        }
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        before = cpu_snapshot(pids)
        spy = await self._start_profiler() if self.profile else None
        await asyncio.sleep(max(0.0, t1 - time.monotonic()))
        after = cpu_snapshot(pids)
        if spy is not None:
            await wait_quietly(spy, STOP_TIMEOUT_S)
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
        counts = _delivery(reports, matched=self.forwards)
        delivered = counts["frames_delivered"]
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
            **counts,
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
        if self.nodes > 1 or self.redis is not None:
            result["nodes"] = [
                {
                    "cpu_cores": round(cpu[f"node:{pid}"] / window, 3),
                    "loop_busy": round(cpu[f"loop:{pid}"] / window, 3),
                }
                for pid in self.node_pids
            ]
        if "redis" in cpu:
            result["redis_cpu_cores"] = round(cpu["redis"] / window, 4)
        if self.forwards:
            result.update(_matching(reports))
        else:
            # Delivered frames whose bytes equal a sent frame's: none, if the relay re-encodes.
            result["frames_unchanged"] = sum(r["matched"] for r in reports)
        if self.supervised:
            result.update(self._monitoring(reports))
        if self.sample_quality:
            result["quality_samples"] = {
                name: [s for r in reports for s in r["quality_samples"][name]]
                for name in reports[0]["quality_samples"]
            }
        return result

    def _monitoring(self, reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The supervisors: what reached them, and that their own audio reached nobody."""
        heard = [r["supervisors"] for r in reports]
        return {
            "supervisors": self.calls,
            "to_supervisors": {
                "streams": 2 * self.calls,
                **_delivery(heard, matched=True),
                **_matching(heard),
            },
            "refused_frames_sent": sum(r["refused_sent"] for r in reports),
            "refused_frames_arrived": sum(
                r["refused_arrived"] + r["supervisors"]["refused_arrived"] for r in reports
            ),
        }

    async def _stop(self) -> None:
        """Clients first (they close their peers and exit), then SIGTERM the server."""
        for worker in self.workers:
            with contextlib.suppress(Exception):
                _send(worker, {"stop": True})
        await asyncio.gather(*(wait_quietly(w, STOP_TIMEOUT_S) for w in self.workers))
        self.workers.clear()
        if self.server is not None:
            await terminate(self.server, STOP_TIMEOUT_S)
            self.server = None


def _delivery(reports: Sequence[dict[str, Any]], *, matched: bool) -> dict[str, Any]:
    """Frames sent in the window to one set of receivers, and how many of them arrived."""
    sent = sum(r["sent"] for r in reports)
    delivered = sum(r["matched"] if matched else r["arrived"] for r in reports)
    return {
        "frames_sent": sent,
        "frames_delivered": delivered,
        "delivered_ratio": round(delivered / sent, 5) if sent else None,
        "delivered_counted_by": "matched bytes" if matched else "arrivals",
    }


def _matching(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What matching bytes adds: frames that matched no send, and the latency percentiles."""
    return {
        "frames_unmatched": sum(r["unmatched"] for r in reports),
        **latency_figures([us for r in reports for us in r["latencies_us"]]),
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


def _send(worker: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
    assert worker.stdin is not None
    worker.stdin.write(json.dumps(message).encode() + b"\n")
