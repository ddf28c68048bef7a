"""A client process: whole calls, paced pre-encoded senders, matching receivers.

A call whose spec carries a ``supervisor`` token also has a listening
supervisor in this process: it hears both parties (its own receivers' tally)
and sends paced audio of its own, which the server must drop.

With ``quality`` in the job, the report also carries what the server's quality
sampler counted each second (``quality_updated``, sent to every call's agent).

Started by :class:`~bench.mode_run.ModeRun` as ``python -m bench.worker``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.participant import KothaClient
from media import aiortc_compat
from media.source import SourceKind
from node.events import ServerEvent

from .opus_loop import read_packets
from .server import take_call
from .streams import LoopTrack, Tally, Window

logger = logging.getLogger(__name__)

GRACE_S = 1.0  # frames sent at the end of the window may still arrive this long after it
CONNECT_CONCURRENCY = 4  # calls set up at once per client process (DTLS is CPU-bound)
# The sampler's figures kept from each party's part of a quality_updated view: name ->
# (direction, source), inbound being what the party sends the server.
SAMPLED = {"inbound_microphone": ("inbound", "microphone"), "outbound_audio": ("outbound", "audio")}


@dataclass
class Call:
    """One call of a client process: its peers and what each sends."""

    call_id: str
    customer_track: LoopTrack
    agent_track: LoopTrack
    customer: KothaClient | None = None
    agent: KothaClient | None = None
    supervisor_track: LoopTrack | None = None
    supervisor: KothaClient | None = None  # listens (``monitor`` mode only)


class ClientProcess:
    """The calls of one worker process and the protocol with the parent."""

    def __init__(self, job: dict[str, Any], out: Any) -> None:
        self.url: str = job["url"]
        self.specs: list[dict[str, str]] = job["calls"]
        self.packets = read_packets(Path(job["loop_file"]))
        self.window = Window()
        self.tally = Tally(self.window)  # the parties' receivers
        self.overheard = self.tally.alongside()  # the supervisors' receivers
        self.clients: list[KothaClient] = []
        self._out = out
        self._index = int(job.get("index", 0))
        self._quality = bool(job.get("quality", False))

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
            self.say(self._report())
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
            customer = call.customer = self._client(
                spec["customer_token"], call.customer_track, self.tally
            )
            agent = call.agent = self._client(spec["agent"], call.agent_track, self.tally)
            if "supervisor" in spec:
                await self._seat_supervisor(call, spec["supervisor"], offset)
            await take_call(customer, agent, call.call_id)
            return call

    async def _seat_supervisor(self, call: Call, token: str, offset: int) -> None:
        """The call's supervisor signs in, with a microphone of its own that nobody should hear."""
        track = call.supervisor_track = LoopTrack(
            self.packets, offset + len(self.packets) // 4, self.window
        )
        call.supervisor = self._client(token, track, self.overheard)
        await call.supervisor.connect()

    async def _join(self, call: Call, limit: asyncio.Semaphore) -> None:
        """Both sides join the media; their participant ids name the streams."""
        assert call.customer is not None and call.agent is not None
        async with limit:
            joined = await asyncio.gather(
                call.customer.join_call(call.call_id), call.agent.join_call(call.call_id)
            )
            self.tally.senders[joined[0]["participant_id"]] = call.customer_track
            self.tally.senders[joined[1]["participant_id"]] = call.agent_track
            if call.supervisor is not None and call.supervisor_track is not None:
                # Only a call in progress, with both parties in its room, can be monitored.
                monitored = await call.supervisor.monitor_call(call.call_id, "listen")
                self.tally.refused[monitored["participant_id"]] = call.supervisor_track

    def _client(self, token: str, track: LoopTrack, tally: Tally) -> KothaClient:
        client = KothaClient(
            self.url,
            token,
            sources={SourceKind.MICROPHONE: track},
            on_encoded_frame=tally.on_frame,
        )
        self.clients.append(client)
        return client

    @property
    def supervised(self) -> bool:
        """Whether this process's calls have listening supervisors (all or none)."""
        return any("supervisor" in spec for spec in self.specs)

    def _report(self) -> dict[str, Any]:
        report: dict[str, Any] = {"event": "result", **self.tally.report()}
        if self.supervised:
            report["supervisors"] = self.overheard.report()
        if self._quality:
            report["quality_samples"] = self._quality_samples()
        return report

    def _quality_samples(self) -> dict[str, list[list[tuple[float, int]]]]:
        """Per stream, ``(at, packets)`` of each sample the server took in the window.

        Every call's agent gets the call's ``quality_updated`` view each second: for
        each party, the packets of its microphone the server received since the last
        sample, and of audio it sent them, with the sample's Unix time.
        """
        unix = time.time() - time.monotonic()
        t0, t1 = self.window.t0 + unix, self.window.t1 + unix
        streams: dict[tuple[str, str, str], dict[float, int]] = {}
        for client in self.clients:
            for view in client.events(ServerEvent.QUALITY_UPDATED):
                for party in view["participants"]:
                    for name, (direction, source) in SAMPLED.items():
                        sample = party[direction].get(source)
                        if sample and t0 <= sample["at"] <= t1:
                            key = (name, view["call_id"], party["participant_id"])
                            # A watching supervisor gets the same views: keyed by time, once.
                            streams.setdefault(key, {})[sample["at"]] = sample["packets"]
        return {
            name: [sorted(samples.items()) for key, samples in streams.items() if key[0] == name]
            for name in SAMPLED
        }

    async def _await_media(self, patience_s: float) -> None:
        """Every stream of this process has delivered a frame (to each of its receivers)."""
        deadline = time.monotonic() + patience_s
        tallies = (self.tally, self.overheard) if self.supervised else (self.tally,)
        expected = 2 * len(self.specs) * len(tallies)
        while (carrying := sum(len(t.receiving) for t in tallies)) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"only {carrying} of {expected} streams carry media after {patience_s:.0f} s"
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
    """Entry point of a client process (``python -m bench.worker``)."""
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
