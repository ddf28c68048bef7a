"""``kotha bench``: the benchmarks, each printing one JSON line.

The ``bench`` package is imported inside the ``_bench_*`` functions, when a benchmark runs,
so ``kotha serve`` and the other commands never load it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any


def add_bench(sub: Any) -> None:
    bench = sub.add_parser("bench", help="benchmarks that print JSON")
    bench_sub = bench.add_subparsers(required=True, metavar="benchmark")
    relay = bench_sub.add_parser("relay", help="server CPU per forwarded stream vs a naive relay")
    relay.add_argument(
        "--calls",
        type=int,
        default=5,
        help="two-party calls (default 5: the most one naive-relay process carries here)",
    )
    relay.add_argument("--seconds", type=float, default=20.0)
    relay.add_argument("--json", action="store_true", help="print only the JSON line")
    relay.add_argument(
        "--mode",
        choices=["both", "forward", "transcode"],
        help="the forwarding server, the naive baseline, or both "
        "(default; with --record or --monitor: forward)",
    )
    relay.add_argument(
        "--record",
        action="store_true",
        help="also run the forwarding load with recording on; adds record_cpu_ms_per_stream_s",
    )
    relay.add_argument(
        "--monitor",
        action="store_true",
        help="also run the forwarding load with a listening supervisor on every call "
        "(what listening supervisors cost); adds monitor_overhead_pct and "
        "monitor_cpu_ms_per_supervisor_s",
    )
    relay.add_argument(
        "--analytics",
        action="store_true",
        help="instead, recorded calls transcribed live without and with the conversation "
        "analytics (Bengali calls on the Korean model); adds analytics_overhead_pct",
    )
    relay.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="with --record or --monitor: alternate forward and those runs this many times "
        "and report the median overhead (the machine's speed drifts more than they cost)",
    )
    relay.add_argument(
        "--nodes",
        help="compare node counts instead, e.g. 1,2: the calls each carries (delivered >= 0.99, "
        "p95 < 20 ms) on a ladder of --ladder calls, each node's CPU and loop, and what "
        "Redis costs per call set-up and per relayed message",
    )
    relay.add_argument(
        "--ladder", default="25,50,75,100,125", help="with --nodes: the call counts to climb"
    )
    relay.set_defaults(func=_bench_relay)
    quality = bench_sub.add_parser(
        "quality", help="server CPU of measuring every connection once a second"
    )
    quality.add_argument("--participants", type=int, default=50)
    quality.add_argument("--seconds", type=float, default=20.0)
    quality.add_argument("--json", action="store_true", help="print only the JSON line")
    quality.set_defaults(func=_bench_quality)
    transcribe = bench_sub.add_parser(
        "transcribe", help="live transcription: real time factor and latency of N microphones"
    )
    transcribe.add_argument("--streams", type=int, default=2, help="microphones at once")
    transcribe.add_argument(
        "--phrases", type=int, default=6, help="support-call phrases each says (~3.5 s each)"
    )
    transcribe.add_argument("--workers", type=int, help="the pool's threads (default: cores)")
    transcribe.add_argument(
        "--max-streams",
        type=int,
        default=64,
        help="the pool's limit; with --find-capacity, the most tried",
    )
    transcribe.add_argument(
        "--find-capacity",
        action="store_true",
        help="try 1, 2, 4, 6, 8, ... streams until the pool falls behind; report the capacity",
    )
    transcribe.add_argument(
        "--warm-spares",
        type=int,
        help="warm recognisers the pool keeps ready (default: one per worker)",
    )
    transcribe.add_argument("--json", action="store_true", help="print only the JSON line")
    transcribe.set_defaults(func=_bench_transcribe)
    join = bench_sub.add_parser(
        "join", help="how soon an agent who joins a video call late sees the picture"
    )
    join.add_argument("--joins", type=int, default=10, help="late joins, one call at a time")
    join.add_argument(
        "--lead", type=float, default=2.0, help="seconds the camera sends before the agent joins"
    )
    join.add_argument("--json", action="store_true", help="print only the JSON line")
    join.set_defaults(func=_bench_join)


def _bench_relay(args: argparse.Namespace) -> int:
    if args.nodes:
        return _bench_nodes(args)
    from bench.relay import run_relay_benchmark

    result = asyncio.run(
        run_relay_benchmark(
            calls=args.calls,
            seconds=args.seconds,
            modes=args.mode or ("forward" if args.record or args.monitor else "both"),
            record=args.record,
            monitor=args.monitor,
            analytics=args.analytics,
            rounds=args.rounds,
            quiet=args.json,
        )
    )
    print(json.dumps(result), flush=True)
    return 0


def _bench_nodes(args: argparse.Namespace) -> int:
    from bench.nodes import run_nodes_benchmark

    try:
        counts = tuple(int(n) for n in args.nodes.split(","))
        ladder = tuple(int(n) for n in args.ladder.split(","))
    except ValueError:
        print("kotha: --nodes and --ladder take numbers separated by commas, e.g. 1,2")
        return 2
    result = asyncio.run(
        run_nodes_benchmark(
            node_counts=counts, ladder=ladder, seconds=args.seconds, quiet=args.json
        )
    )
    print(json.dumps(result), flush=True)
    return 0


def _bench_quality(args: argparse.Namespace) -> int:
    from bench.quality import run_quality_benchmark

    result = asyncio.run(
        run_quality_benchmark(participants=args.participants, seconds=args.seconds, quiet=args.json)
    )
    print(json.dumps(result), flush=True)
    return 0 if "error" not in result else 1


def _bench_transcribe(args: argparse.Namespace) -> int:
    from bench.transcribe import run_transcribe_benchmark

    result = asyncio.run(
        run_transcribe_benchmark(
            streams=args.streams,
            phrases=args.phrases,
            workers=args.workers,
            max_streams=args.max_streams,
            find_capacity=args.find_capacity,
            quiet=args.json,
            warm_spares=args.warm_spares,
        )
    )
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0 if "error" not in result else 1


def _bench_join(args: argparse.Namespace) -> int:
    from bench.join import run_join_benchmark

    result = asyncio.run(run_join_benchmark(joins=args.joins, lead_s=args.lead, quiet=args.json))
    print(json.dumps(result), flush=True)
    return 0 if "error" not in result else 1
