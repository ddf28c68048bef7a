"""Soak: calls come and go for minutes; the server's memory, files, threads and tasks stay put.

Usage (from the repository root):

    .venv/bin/python -m bench.soak --minutes 10 --json
    .venv/bin/python -m bench.soak --minutes 1        # a quick check

It starts kotha as an operator runs it (its own process, ``python -m signaling
serve``) and keeps ``--calls`` calls going at once, each a customer and an
agent (:class:`~client.participant.KothaClient` peers playing tones) that last a
random 5-20 s and end in one of the ways real calls do: the agent or the
customer hangs up, the customer reloads the page mid-call (a fresh socket and
peer) and hangs up later, or the customer's network goes and never comes back
(the call ends when ``rejoin_grace_s`` runs out).

It samples the server's resident memory (``/proc/<pid>/status`` VmRSS), open files
(``/proc/<pid>/fd``), threads (``Threads``) and asyncio tasks (the
``kotha_asyncio_tasks`` gauge of ``GET /metrics``). After a warm-up of calls (caches,
pools and lazy imports fill, and the C allocator's arenas reach their high-water mark:
resident memory rises for the first 60-70 calls, then stays), it lets every call end,
waits, and takes the starting values; it runs for ``--minutes``, lets the last calls
end, waits the same, and takes the final values. It prints one JSON line: start, end and
end/start of each figure, each passing if it grew by at most ``--tolerance`` (5 %), the
calls made and how they ended, and the peaks seen while running.
The exit code is 0 when every figure passes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from callcenter.identity import Role
from client.participant import KothaClient
from media import aiortc_compat
from media.source import SourceKind
from node.events import ServerEvent
from tests.attack.server import API_KEY, METRICS_TOKEN, ServerProcess
from tests.support import ToneTrack

REJOIN_GRACE_S = 3.0
SETTLE_S = REJOIN_GRACE_S + 7.0  # after the last call: grace timers, peers and files closing
SAMPLE_EVERY_S = 2.0
# Ended calls stay in memory this long (an hour by default) so a page that reconnects learns
# how its call ended: by design, not a leak. Short here, so that both readings hold the same
# few seconds of ended calls and what grows with the calls is a leak.
RETENTION_S = 30.0
ENDINGS = ("agent_hangs_up", "customer_hangs_up", "customer_rejoins", "customer_drops")
FIGURES = ("rss_mb", "open_fds", "threads", "asyncio_tasks")


def say(message: str, *, quiet: bool) -> None:
    if not quiet:
        print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Tally:
    """How the calls went."""

    started: int = 0
    completed: int = 0
    endings: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "completed": self.completed,
            "failed": sum(self.failures.values()),
            "endings": dict(self.endings),
            "failures": dict(self.failures.most_common(10)),
        }


class Soak:
    """The server, the calls that load it, and the readings."""

    def __init__(self, server: ServerProcess, calls: int, quiet: bool) -> None:
        self.server = server
        self.calls = calls
        self.quiet = quiet
        self.tally = Tally()
        self.peaks: dict[str, float] = dict.fromkeys(FIGURES, 0.0)
        self._session: aiohttp.ClientSession | None = None
        self._running = False
        self._serial = 0

    async def __aenter__(self) -> Soak:
        # No keep-alive: an idle connection of ours would count as the server's open file
        # and its handler task at one reading and not at another.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    # -- readings ----------------------------------------------------------

    async def asyncio_tasks(self) -> float:
        assert self._session is not None
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with self._session.get(self.server.url + "/metrics", headers=headers) as response:
            text = await response.text()
            if response.status != 200:
                raise RuntimeError(f"GET /metrics: {response.status} {text[:200]}")
        for line in text.splitlines():
            if line.startswith("kotha_asyncio_tasks "):
                return float(line.split()[1])
        return float("nan")  # a server from before the gauge (ATTACK_SERVER_ROOT)

    async def reading(self) -> dict[str, float]:
        return {
            "rss_mb": round(self.server.rss_mb(), 1),
            "open_fds": float(self.server.open_fds()),
            "threads": float(self.server.threads()),
            "asyncio_tasks": await self.asyncio_tasks(),
        }

    def fd_kinds(self) -> Counter[str]:
        """The server's open files by what they are (socket, pipe, a path...)."""
        kinds: Counter[str] = Counter()
        folder = Path(f"/proc/{self.server.pid}/fd")
        for fd in folder.iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                kinds[target.split(":[")[0] if ":[" in target else target] += 1
        return kinds

    async def steady_reading(self) -> dict[str, float]:
        """The median of three readings a second apart (one scrape's own tasks come and go)."""
        readings = []
        for _ in range(3):
            readings.append(await self.reading())
            await asyncio.sleep(1)
        return {name: statistics.median(r[name] for r in readings) for name in FIGURES}

    async def watch(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                for name, value in (await self.reading()).items():
                    self.peaks[name] = max(self.peaks[name], value)
            await asyncio.sleep(SAMPLE_EVERY_S)

    # -- load ----------------------------------------------------------------

    async def run_calls(self, seconds: float) -> None:
        """Keep ``calls`` calls going for ``seconds``; return once the last has ended."""
        self._running = True
        deadline = time.monotonic() + seconds

        async def slot(index: int) -> None:
            # Start the slots apart, so calls begin and end at different moments.
            await asyncio.sleep(index * 1.7)
            while time.monotonic() < deadline:
                await self.one_call(index)

        await asyncio.gather(*(slot(n) for n in range(self.calls)))
        self._running = False

    async def one_call(self, slot: int) -> None:
        self._serial += 1
        ending = ENDINGS[self._serial % len(ENDINGS)]  # each ending as often as the others
        duration = random.uniform(5, 20)
        self.tally.started += 1
        clients: list[KothaClient] = []
        try:
            await asyncio.wait_for(self._call(slot, ending, duration, clients), duration + 45)
            self.tally.completed += 1
            self.tally.endings[ending] += 1
        except Exception as exc:
            self.tally.failures[f"{ending}: {type(exc).__name__}: {str(exc)[:120]}"] += 1
            say(f"call in slot {slot} ({ending}) failed: {exc!r}", quiet=self.quiet)
            await asyncio.sleep(1)
        finally:
            for client in clients:
                with contextlib.suppress(Exception):
                    await client.close()

    async def _call(
        self, slot: int, ending: str, duration: float, clients: list[KothaClient]
    ) -> None:
        assert self._session is not None
        body = {
            "customer": {"id": f"soak-customer-{self._serial}", "name": "Karim"},
            "language": "bn",
        }
        async with self._session.post(
            self.server.url + "/api/calls", json=body, headers={"X-API-Key": API_KEY}
        ) as response:
            if response.status != 201:
                raise RuntimeError(f"POST /api/calls: {response.status} {await response.text()}")
            created = await response.json()
        call_id = created["call_id"]

        def customer_client() -> KothaClient:
            client = KothaClient(
                self.server.url,
                created["token"],
                sources={SourceKind.MICROPHONE: ToneTrack(440)},
            )
            clients.append(client)
            return client

        customer = customer_client()
        agent = KothaClient(
            self.server.url,
            self.server.token(Role.AGENT, f"soak-agent-{slot}"),
            sources={SourceKind.MICROPHONE: ToneTrack(660)},
        )
        clients.append(agent)
        await customer.connect()
        await agent.connect()
        await customer.request_call()
        await agent.set_availability("available")
        await agent.accept_call(call_id)
        await asyncio.gather(customer.join_call(call_id), agent.join_call(call_id))

        if ending == "customer_rejoins":
            await asyncio.sleep(duration / 2)
            await customer.close()  # the page reloads: socket and peer gone
            customer = customer_client()
            await customer.connect()
            await customer.join_call(call_id)
            await asyncio.sleep(duration / 2)
            await customer.hang_up()
        else:
            await asyncio.sleep(duration)
            if ending == "agent_hangs_up":
                await agent.hang_up()
            elif ending == "customer_hangs_up":
                await customer.hang_up()
            else:  # customer_drops: the network goes, nobody hangs up
                await customer.close()
        await agent.wait_for(ServerEvent.CALL_ENDED, timeout=REJOIN_GRACE_S + 15)


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    aiortc_compat.restrict_ice_addresses(["127.0.0.1"])
    warmup_s = args.warmup if args.warmup is not None else min(300.0, max(15.0, args.minutes * 30))
    with tempfile.TemporaryDirectory(prefix="kotha-soak-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        server = ServerProcess(
            workdir, rejoin_grace_s=REJOIN_GRACE_S, ended_call_retention_s=RETENTION_S
        )
        await server.start()
        try:
            async with Soak(server, args.calls, args.json) as run:
                say(
                    f"server {server.url} pid {server.pid}; warming up {warmup_s:.0f} s",
                    quiet=args.json,
                )
                await run.run_calls(warmup_s)
                await asyncio.sleep(SETTLE_S)
                start = await run.steady_reading()
                fds_start = run.fd_kinds()
                started_calls = run.tally.started
                say(f"start {start}; running {args.minutes} min", quiet=args.json)
                watcher = asyncio.get_running_loop().create_task(run.watch())
                begun = time.monotonic()
                await run.run_calls(args.minutes * 60)
                ran_s = time.monotonic() - begun
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                await asyncio.sleep(SETTLE_S)
                end = await run.steady_reading()
                fds_end = run.fd_kinds()
                say(f"end {end}", quiet=args.json)
                figures: dict[str, Any] = {}
                for name in FIGURES:
                    if math.isnan(start[name]) or math.isnan(end[name]):
                        figures[name] = {"start": None, "end": None, "pass": True}
                        continue
                    ratio = end[name] / start[name] if start[name] else float("inf")
                    figures[name] = {
                        "start": start[name],
                        "end": end[name],
                        "ratio": round(ratio, 4),
                        # A leak grows with the calls; noise does not.
                        "per_100_calls": round(
                            (end[name] - start[name])
                            * 100
                            / max(1, run.tally.started - started_calls),
                            2,
                        ),
                        "peak": run.peaks[name],
                        "pass": ratio <= 1 + args.tolerance,
                    }
                figures["open_fds"]["new"] = dict(fds_end - fds_start)
                tally = run.tally.to_dict()
                tally["during_run"] = run.tally.started - started_calls
        finally:
            exit_code = await server.stop()
    return {
        "minutes": args.minutes,
        "ran_s": round(ran_s, 1),
        "warmup_s": warmup_s,
        "concurrent_calls": args.calls,
        "tolerance": args.tolerance,
        "figures": figures,
        "calls": tally,
        "server_exit_code": exit_code,
        "pass": all(f["pass"] for f in figures.values()) and tally["failed"] == 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (measured)")
    parser.add_argument("--calls", type=int, default=3, help="calls at once")
    parser.add_argument(
        "--warmup",
        type=float,
        help="seconds of calls before the start values (default: 30 per minute run, 15-300)",
    )
    parser.add_argument("--tolerance", type=float, default=0.05, help="growth allowed (0.05: 5 %%)")
    parser.add_argument("--workdir", help="keep the server's data and log here")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--seed", type=int, help="random seed (call lengths)")
    args = parser.parse_args()
    if args.seed is not None:
        random.seed(args.seed)
    result = asyncio.run(soak(args))
    print(json.dumps(result), flush=True)
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
