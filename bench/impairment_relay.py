"""How long the tests' impairment relay holds a packet it was told not to delay.

Usage (from the repository root: the relay lives in ``tests/``)::

    .venv/bin/python -m bench.impairment_relay --calls 10 --seconds 20 --json

The quality tests put ``tests/impairment.py``'s UDP relay between a customer's aiortc peer
and the server, and read what it applied (its loss, and the RFC 3550 jitter of the delays
it added). With no delay set, a packet should leave as it arrives; what the relay adds then
is its own handling, from the datagram's callback to its ``sendto``
(``time.perf_counter()``), and the worst packet is what a garbage collection or a busy
machine makes of that. ``tests/quality/test_impairment.py`` once asserted it on 20,000
packets pushed in a loop (worst under 15 ms, jitter under 0.5 ms); it is a figure here,
taken on real traffic.

kotha runs as its own process, as an operator runs it (:func:`~bench.server.start_server`).
``calls`` audio calls are made through the REST API; each customer reaches the server
through a clean relay of its own (``ImpairedLink``), its agent directly. Both send the
relay benchmark's pre-encoded Opus loop (no encoding, and received frames are not
decoded), all in this process on asyncio's own event loop, as the tests run. After every
link carries RTP both ways, ``seconds`` pass; then the relays' own records give, per
direction, the RTP packets forwarded, the worst and the mean delay applied and the largest
RFC 3550 jitter of those delays over the streams. A stream's record covers its whole life
(its first packets came while other calls were being set up), so the figures do too.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from client.participant import KothaClient
from media import aiortc_compat
from media.source import SourceKey, SourceKind
from tests.impairment import ImpairedLink, LinkDirection

from .measure import CpuClock, machine_info
from .opus_loop import LOOP_S, encode_opus_loop
from .server import create_calls, running_server, take_call
from .streams import LoopTrack, Window

MEDIA_TIMEOUT_S = 30.0
# What tests/quality/test_impairment.py asserted before these became figures.
TARGET_MAX_DELAY_MS = 15.0
TARGET_APPLIED_JITTER_MS = 0.5


async def run_impairment_relay_benchmark(
    *, calls: int, seconds: float, quiet: bool = False
) -> dict[str, Any]:
    """Carry ``calls`` calls through clean relays for ``seconds``; the relays' figures."""
    if calls < 1 or seconds <= 0:
        raise ValueError("calls must be at least 1 and seconds positive")

    def progress(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    packets = encode_opus_loop(LOOP_S)
    aiortc_compat.restrict_ice_addresses(["127.0.0.1"])
    try:
        with tempfile.TemporaryDirectory(prefix="kotha-bench-impairment-") as tmp:
            async with running_server("forward", Path(tmp)) as server:
                specs = await create_calls(server.url, server.secret, calls)
                links: list[ImpairedLink] = []
                clients: list[KothaClient] = []
                try:
                    started = time.monotonic()
                    for index, spec in enumerate(specs):
                        link = await ImpairedLink(seed=index).start()
                        links.append(link)
                        clients += await _call_through(server.url, spec, link, packets, index)
                    await _await_rtp(links, MEDIA_TIMEOUT_S)
                    progress(
                        f"bench[impairment_relay]: {calls} calls through relays after "
                        f"{time.monotonic() - started:.1f} s; {seconds:.0f} s of media"
                    )
                    clock = CpuClock(server.process.pid)
                    await asyncio.sleep(seconds)
                    cpu = clock.read()
                    relay = _figures(links)
                finally:
                    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
                    for link in links:
                        await link.close()
    except (RuntimeError, TimeoutError) as exc:
        return {"benchmark": "impairment_relay", "calls": calls, "error": str(exc)}
    finally:
        aiortc_compat.restrict_ice_addresses([])
    return {
        "benchmark": "impairment_relay",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "calls": calls,
        "seconds": seconds,
        **relay,
        "target_max_delay_ms": TARGET_MAX_DELAY_MS,
        "target_applied_jitter_ms": TARGET_APPLIED_JITTER_MS,
        "target_met": relay["max_delay_ms"] < TARGET_MAX_DELAY_MS
        and relay["applied_jitter_ms_max"] < TARGET_APPLIED_JITTER_MS,
        **cpu,
        "machine": machine_info(),
    }


async def _call_through(
    url: str, spec: dict[str, str], link: ImpairedLink, packets: Sequence[bytes], index: int
) -> list[KothaClient]:
    """One call, its customer behind ``link``, both sending the Opus loop; its two clients."""
    window = Window()  # never opened: the tracks keep no count
    offset = index * 97 % len(packets)
    customer = KothaClient(
        url,
        spec["customer_token"],
        sources={SourceKind.MICROPHONE: LoopTrack(packets, offset, window)},
        on_encoded_frame=_ignore,
        **link.client_options(),
    )
    agent = KothaClient(
        url,
        spec["agent"],
        sources={SourceKind.MICROPHONE: LoopTrack(packets, offset + len(packets) // 2, window)},
        on_encoded_frame=_ignore,
    )
    await take_call(customer, agent, spec["call_id"])
    await asyncio.gather(customer.join_call(spec["call_id"]), agent.join_call(spec["call_id"]))
    return [customer, agent]


def _ignore(key: SourceKey, frame: object) -> None:
    """Received frames are neither decoded nor kept."""


async def _await_rtp(links: Sequence[ImpairedLink], patience_s: float) -> None:
    """Every relay has forwarded RTP both ways."""
    deadline = time.monotonic() + patience_s
    while (carrying := sum(_carries_rtp(link) for link in links)) < len(links):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"only {carrying} of {len(links)} relays carry RTP both ways "
                f"after {patience_s:.0f} s"
            )
        await asyncio.sleep(0.1)


def _carries_rtp(link: ImpairedLink) -> bool:
    return all(
        any(s.forwarded for s in direction.streams.values())
        for direction in (link.upstream, link.downstream)
    )


def _figures(links: Sequence[ImpairedLink]) -> dict[str, Any]:
    """Both directions' figures, and the worst of them on top."""
    up = _direction([link.upstream for link in links])
    down = _direction([link.downstream for link in links])
    return {
        "packets": up["packets"] + down["packets"],
        "max_delay_ms": max(up["max_delay_ms"], down["max_delay_ms"]),
        "applied_jitter_ms_max": max(up["applied_jitter_ms_max"], down["applied_jitter_ms_max"]),
        "upstream": up,
        "downstream": down,
    }


def _direction(directions: Sequence[LinkDirection]) -> dict[str, Any]:
    """What the relays did to one direction's RTP: packets, worst and mean delay, jitter."""
    streams = [s for d in directions for s in d.streams.values()]
    forwarded = sum(s.forwarded for s in streams)
    return {
        "rtp_streams": len(streams),
        "packets": forwarded,
        "dropped": sum(s.dropped for s in streams),
        "unroutable": sum(d.unroutable for d in directions),
        "max_delay_ms": round(max((s.max_delay_ms for s in streams), default=0.0), 3),
        "mean_delay_ms": round(sum(s.total_delay_ms for s in streams) / forwarded, 4)
        if forwarded
        else None,
        "applied_jitter_ms_max": round(max((s.applied_jitter_ms for s in streams), default=0.0), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.impairment_relay", description=__doc__)
    parser.add_argument("--calls", type=int, default=10, help="calls, each customer behind a relay")
    parser.add_argument("--seconds", type=float, default=20.0, help="media after set-up")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args(argv)
    result = asyncio.run(
        run_impairment_relay_benchmark(calls=args.calls, seconds=args.seconds, quiet=args.json)
    )
    print(json.dumps(result), flush=True)
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    raise SystemExit(main())
