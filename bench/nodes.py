"""``kotha bench relay --nodes 1,2``: the calls one node and two nodes carry, and what Redis costs.

For each node count, the same forwarding load as ``kotha bench relay`` (two-party audio
calls by client worker processes) climbs a ladder of call counts against ``kotha serve``
with its state in a Redis the bench starts (one node: ``kotha serve``; more:
``kotha serve --nodes N``, one port). A step *carries* its calls when
``delivered_ratio`` ≥ 0.99 and the p95 latency is under 20 ms; the climb stops at the
first step that does not. Each step reports every node's CPU and the busy fraction of its
event loop (its main thread's CPU over the window), the clients' CPU, Redis's CPU, and
what else the machine ran.

On a small machine the clients share the cores with the nodes, so a step can fail because
the clients, not the nodes, ran out of CPU: ``limited_by`` says which (``nodes`` when the
busiest loop was near saturation, ``clients`` when the machine was full and no loop was).
``calls_per_loop`` projects each node count's capacity to fully busy loops (calls carried
over the busiest loop's busy fraction), which is what the node count buys where the nodes
are the limit; ``loop_ratio`` compares it for N and one node.

Redis's own cost: Redis commands per call set-up (one node, from Redis's command count
before the calls and once they carry media), the set-up time against the embedded
registry at the same load, and a relayed signalling message (a request and its reply on
the node bus between two buses in this process: round-trip percentiles, and the CPU of
this process and of Redis per message).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from node.bus import NodeBus
from signaling.local_redis import LocalRedis, start_redis

from .measure import latency_figures, machine_info, process_cpu
from .mode_run import CLIENT_NICE, ModeRun, Progress
from .opus_loop import LOOP_S, encode_opus_loop, write_packets
from .relay import CALLS_PER_CLIENT_PROCESS

CARRIED_DELIVERED = 0.99
CARRIED_P95_MS = 20.0
LOOP_SATURATED = 0.85  # a loop this busy is the limit
MACHINE_FULL = 0.9  # of all cores
BUS_MESSAGES = 2000


async def run_nodes_benchmark(
    *,
    node_counts: tuple[int, ...] = (1, 2),
    ladder: tuple[int, ...] = (25, 50, 75, 100, 125),
    seconds: float = 10.0,
    quiet: bool = False,
    client_nice: int = CLIENT_NICE,
) -> dict[str, Any]:
    """Climb ``ladder`` for each node count; the figures as one JSON-able dict."""
    progress: Progress = (lambda _: None) if quiet else _stderr
    with tempfile.TemporaryDirectory(prefix="kotha-bench-nodes-") as tmp:
        workdir = Path(tmp)
        loop_file = workdir / "opus-loop.bin"
        write_packets(loop_file, encode_opus_loop(LOOP_S))
        redis = start_redis(workdir / "redis")
        try:
            bus = await _bus_cost(redis)
            progress(f"bench[nodes]: a relayed message {bus}")
            bench = Bench(seconds, workdir, loop_file, client_nice, progress)
            setup = await bench.setup_cost(redis, ladder[0])
            ladders = {count: await bench.climb(count, ladder, redis) for count in node_counts}
        finally:
            redis.stop()
    return _summary(ladders, setup, bus, seconds, client_nice)


@dataclass
class Bench:
    """What every step of the benchmark shares: its window, files, clients and voice."""

    seconds: float
    workdir: Path
    loop_file: Path
    client_nice: int
    progress: Progress

    async def climb(
        self, count: int, ladder: tuple[int, ...], redis: LocalRedis
    ) -> list[dict[str, Any]]:
        steps = []
        for calls in ladder:
            result = await self.step(count, calls, redis)
            steps.append(result)
            if not result["carried"]:
                break
        return steps

    async def step(
        self, count: int, calls: int, redis: LocalRedis | None, label: str = "nodes"
    ) -> dict[str, Any]:
        """``calls`` calls on ``count`` nodes (state in ``redis``; None: in memory)."""
        run = ModeRun(
            mode="forward",
            calls=calls,
            seconds=self.seconds,
            warmup=2.0,
            processes=max(1, -(-calls // CALLS_PER_CLIENT_PROCESS)),
            workdir=self.workdir / f"{label}-{count}-{calls}",
            loop_file=self.loop_file,
            progress=self.progress,
            client_nice=self.client_nice,
            nodes=count,
            redis=(redis.url, f"bench:{secrets.token_hex(4)}:") if redis is not None else None,
            redis_pid=redis.pid if redis is not None else None,
        )
        readings: list[tuple[int, float]] = []  # (commands, Redis CPU s): set-up, window
        if redis is not None:
            run.on_ready = _reading(redis, readings)
            run.probe = _probe(redis, readings)
        result = await run.run()
        result["node_count"] = count
        if "error" in result:
            self.progress(f"bench[nodes={count}, calls={calls}]: failed: {result['error']}")
            result["carried"] = False
            result["limited_by"] = "error"
            return result
        if len(readings) == 3:
            (ready, ready_cpu), (start, start_cpu), (end, _) = readings
            # Per second of the window: the nodes' beats, reads and news while calls go on.
            per_s = (end - start) / self.seconds
            result["redis_commands_per_s"] = round(per_s, 1)
            # The set-up (from the first call made to the window, less the warm-up's share).
            result["redis_commands_setup"] = round(start - ready - per_s * run.warmup)
            result["redis_cpu_s_setup"] = round(start_cpu - ready_cpu, 3)
        result["carried"] = bool(
            (result.get("delivered_ratio") or 0) >= CARRIED_DELIVERED
            and (result.get("latency_ms_p95") or 1e9) < CARRIED_P95_MS
        )
        result["limited_by"] = _limit(result)
        self.progress(
            f"bench[nodes={count}, calls={calls}]: carried={result['carried']} "
            f"p95={result.get('latency_ms_p95')} ms delivered={result.get('delivered_ratio')} "
            f"nodes={result.get('nodes')} clients={result['client_cpu_cores']} cores"
        )
        return result

    async def setup_cost(self, redis: LocalRedis, calls: int) -> dict[str, Any]:
        """Set-up of ``calls`` calls with the registry in memory and in Redis, one node."""
        embedded = await self.step(1, calls, None, "embedded")
        shared = await self.step(1, calls, redis, "redis")
        figures: dict[str, Any] = {
            "calls": calls,
            "embedded_setup_s": embedded.get("setup_s"),
            "redis_setup_s": shared.get("setup_s"),
            "redis_commands_per_call_setup": round(
                shared.get("redis_commands_setup", 0) / calls, 1
            ),
            "redis_cpu_ms_per_call_setup": round(
                1000 * shared.get("redis_cpu_s_setup", 0) / calls, 2
            ),
            "redis_commands_per_s_carrying": shared.get("redis_commands_per_s"),
        }
        if embedded.get("setup_s") and shared.get("setup_s"):
            extra = (shared["setup_s"] - embedded["setup_s"]) / calls
            figures["redis_adds_ms_per_call_setup"] = round(1000 * extra, 1)
        return figures


def _limit(result: dict[str, Any]) -> str:
    """What ran out at this step: the nodes' loops, or the machine (the clients' CPU)."""
    busiest = max((n["loop_busy"] for n in result.get("nodes", [])), default=0.0)
    if busiest >= LOOP_SATURATED:
        return "nodes"
    used = result["server_cpu_cores"] + result["client_cpu_cores"] + result["other_cpu_cores"]
    cores = machine_info().get("cpus") or 1
    return "clients" if used >= MACHINE_FULL * cores else "neither"


def _reading(redis: LocalRedis, readings: list[tuple[int, float]]) -> Any:
    async def read() -> None:
        readings.append((await _commands(redis), sum(process_cpu(redis.pid))))

    return read


def _probe(redis: LocalRedis, readings: list[tuple[int, float]]) -> Any:
    """A probe the run calls as the window opens and as it closes."""
    read = _reading(redis, readings)

    async def probe(url: str, secret: str) -> dict[str, float]:
        await read()
        return {}

    return probe


async def _commands(redis: LocalRedis) -> int:
    client = Redis.from_url(redis.url)
    try:
        stats = await client.info("stats")
        return int(stats["total_commands_processed"])
    finally:
        await client.aclose()


async def _bus_cost(redis: LocalRedis) -> dict[str, Any]:
    """A relayed request and its reply between two node buses, ``BUS_MESSAGES`` times."""
    prefix = f"bench:{secrets.token_hex(4)}:"

    async def echo(sender: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, **body}

    async def deaf(sender: str, body: dict[str, Any]) -> None:
        return None

    buses = [
        NodeBus.from_url(redis.url, prefix=prefix, node_id=n, on_request=echo, on_news=deaf)
        for n in ("bench-a", "bench-b")
    ]
    tasks = [asyncio.create_task(bus.run()) for bus in buses]
    try:
        for bus in buses:
            await asyncio.wait_for(bus.subscribed.wait(), 10)
        message = {"event": "add_ice_candidate", "call_id": "c_" + "0" * 16, "sdp": "x" * 200}
        rtts = []
        own, server = sum(process_cpu(os.getpid())), sum(process_cpu(redis.pid))
        for _ in range(BUS_MESSAGES):
            sent = time.perf_counter()
            await buses[0].request("bench-b", message)
            rtts.append(round((time.perf_counter() - sent) * 1e6))
        own = sum(process_cpu(os.getpid())) - own
        server = sum(process_cpu(redis.pid)) - server
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for bus in buses:
            await bus.close()
    figures = latency_figures(rtts)
    return {
        "messages": BUS_MESSAGES,
        "round_trip_ms_p50": figures.get("latency_ms_p50"),
        "round_trip_ms_p95": figures.get("latency_ms_p95"),
        "nodes_cpu_us_per_message": round(1e6 * own / BUS_MESSAGES, 1),
        "redis_cpu_us_per_message": round(1e6 * server / BUS_MESSAGES, 1),
        "redis_commands_per_message": 2,  # a PUBLISH of the request, one of the reply
    }


def _summary(
    ladders: dict[int, list[dict[str, Any]]],
    setup: dict[str, Any],
    bus: dict[str, Any],
    seconds: float,
    client_nice: int,
) -> dict[str, Any]:
    carried: dict[str, Any] = {}
    for count, steps in ladders.items():
        ok = [s for s in steps if s["carried"]]
        best = ok[-1] if ok else None
        stop = next((s for s in steps if not s["carried"]), None)
        busiest = max((n["loop_busy"] for n in (best or {}).get("nodes", [])), default=0.0)
        carried[str(count)] = {
            "calls": best["calls"] if best else 0,
            "latency_ms_p95": best.get("latency_ms_p95") if best else None,
            "busiest_loop_busy": busiest,
            "client_cpu_cores": best["client_cpu_cores"] if best else None,
            "calls_per_loop": round(best["calls"] / busiest, 1) if best and busiest else None,
            "stopped_at": stop["calls"] if stop else None,
            "stopped_by": stop["limited_by"] if stop else "the ladder's end",
        }
    one, more = carried.get("1"), [v for k, v in carried.items() if k != "1"]
    summary: dict[str, Any] = {
        "benchmark": "relay-nodes",
        "seconds": seconds,
        "client_nice": client_nice,
        "carried": carried,
        "redis_setup": setup,
        "relayed_message": bus,
        "machine": machine_info(),
        "steps": {str(k): v for k, v in ladders.items()},
    }
    if one and more and one["calls"]:
        top = more[-1]
        summary["capacity_ratio"] = round(top["calls"] / one["calls"], 2)
        if one["calls_per_loop"] and top["calls_per_loop"]:
            summary["loop_ratio"] = round(top["calls_per_loop"] / one["calls_per_loop"], 2)
    return summary


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
