"""Readings the figures rest on: /proc CPU times, UDP drops, percentiles, the machine."""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiortc
import av
import numpy as np


def cpu_snapshot(pids: dict[str, Any]) -> dict[str, float]:
    """CPU seconds so far of the server, the clients and the machine; with ``nodes`` (the
    server's node processes), each node's (``node:<pid>``) and its event loop's thread's
    (``loop:<pid>``); with ``redis``, the redis-server's."""
    nodes = pids.get("nodes") or [pids["server"]]
    per_node = {pid: process_cpu(pid) for pid in nodes}
    user = sum(u for u, _ in per_node.values())
    system = sum(s for _, s in per_node.values())
    clients = [process_cpu(pid) for pid in pids["clients"]]
    snapshot = {
        "server": user + system,
        "server_system": system,
        "clients": sum(u + s for u, s in clients),
        "machine": machine_busy_seconds(),
        "udp_drops": udp_receive_drops(),
    }
    for pid, (u, s) in per_node.items():
        snapshot[f"node:{pid}"] = u + s
        snapshot[f"loop:{pid}"] = sum(thread_cpu(pid, pid))
    if pids.get("redis"):
        snapshot["redis"] = sum(process_cpu(pids["redis"]))
    return snapshot


def thread_cpu(pid: int, tid: int) -> tuple[float, float]:
    """User and system CPU seconds of one thread (the main thread, ``tid == pid``, runs the
    event loop)."""
    return _stat_cpu(Path(f"/proc/{pid}/task/{tid}/stat"))


def child_pids(pid: int) -> list[int]:
    """The processes ``pid`` started (``/proc/<pid>/task/<pid>/children``)."""
    with contextlib.suppress(OSError):
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


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
    return _stat_cpu(Path(f"/proc/{pid}/stat"))


def _stat_cpu(path: Path) -> tuple[float, float]:
    stat = path.read_text()
    # The command name (field 2) may hold spaces; the fields after it do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


class CpuClock:
    """CPU the server, this process and the rest of the machine used since it was made.

    For benchmarks whose clients run in this process: what else the machine ran
    meanwhile (``other_cpu_cores``) tells a disturbed run from a quiet one.
    """

    def __init__(self, server_pid: int) -> None:
        self._server_pid = server_pid
        self._started = time.monotonic()
        self._start = self._now()

    def read(self) -> dict[str, float]:
        """Cores used on average since the start (call it while the server still runs)."""
        wall = time.monotonic() - self._started
        machine, server, own = (b - a for a, b in zip(self._start, self._now(), strict=True))
        return {
            "wall_s": round(wall, 3),
            "server_cpu_cores": round(server / wall, 3),
            "bench_cpu_cores": round(own / wall, 3),
            "other_cpu_cores": round(max(0.0, machine - server - own) / wall, 3),
        }

    def _now(self) -> tuple[float, float, float]:
        return (
            machine_busy_seconds(),
            sum(process_cpu(self._server_pid)),
            sum(process_cpu(os.getpid())),
        )


def percentile(values: Sequence[float], q: float, digits: int = 1) -> float | None:
    """The ``q``-th percentile, rounded; ``None`` of nothing."""
    return round(float(np.percentile(values, q)), digits) if len(values) else None


def spread(name: str, values: Sequence[float], digits: int = 1) -> dict[str, float | None]:
    """``<name>_p50``, ``_p95`` and ``_max`` of ``values`` (``None`` of nothing)."""
    return {
        f"{name}_p50": percentile(values, 50, digits),
        f"{name}_p95": percentile(values, 95, digits),
        f"{name}_max": round(max(values), digits) if len(values) else None,
    }


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
