"""Profile the kotha server under the relay benchmark's load with py-spy.

Usage (as root, from the repository root):

    .venv/bin/python -m bench.profile_relay --calls 60 --seconds 20 --out /tmp/kotha-profile

It runs ``kotha bench relay`` (:func:`bench.relay.run_relay_benchmark`) with
``py-spy record --nonblocking --format raw`` attached to the server for the
measurement window, writes the collapsed stacks to ``<out>.<mode>.txt`` and
prints the summary of :mod:`bench.pyspy_summary`. py-spy costs CPU on the
same machine: take figures from runs without it, not from this one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from .pyspy_summary import main as summary_main
from .relay import run_relay_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_relay", description=__doc__)
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--mode", choices=["forward", "transcode", "record", "monitor", "both"], default="forward"
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/kotha-profile"))
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    result = asyncio.run(
        run_relay_benchmark(
            calls=args.calls, seconds=args.seconds, modes=args.mode, profile=args.out
        )
    )
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}), file=sys.stderr)
    for mode in result["modes"]:
        path = args.out.with_name(f"{args.out.name}.{mode}.txt")
        print(f"\n# {mode}: {path}")
        summary_main(
            [
                str(path),
                "--top",
                str(args.top),
                "--rate",
                "200",
                "--seconds",
                str(max(1, int(args.seconds))),
            ]
        )


if __name__ == "__main__":
    main()
