"""Summarise a ``py-spy record --format raw`` profile: where the server's CPU goes.

Usage: .venv/bin/python -m bench.pyspy_summary PROFILE.txt [--top 25] [--rate 200 --seconds 20]

Prints the functions with the most samples on top of the stack (self time)
and in the stack at all (inclusive time), as percentages of the busy samples
(py-spy leaves idle samples out unless ``--idle`` was given). With --rate and
--seconds it also says what share of one core those samples are.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def frames(stack: str) -> list[str]:
    """The stack's frames as ``function (file)``, without line numbers or the thread."""
    out = []
    for part in stack.split(";"):
        if part.startswith("thread ("):
            continue
        match = _FRAME.match(part)
        out.append(f"{match['func']} ({match['file']})" if match else part)
    return out


def summarise(path: Path) -> tuple[int, Counter[str], Counter[str], Counter[str]]:
    total = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        stack_frames = frames(stack)
        total += count
        if stack_frames:
            own[stack_frames[-1]] += count
            modules[_module(stack_frames[-1])] += count
        for frame in set(stack_frames):
            inclusive[frame] += count
    return total, own, inclusive, modules


def _module(frame: str) -> str:
    match = re.search(r"\(([^()]+)\)$", frame)
    return match.group(1) if match else frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pyspy_summary", description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rate", type=float, help="py-spy --rate of the recording")
    parser.add_argument("--seconds", type=float, help="py-spy --duration of the recording")
    args = parser.parse_args(argv)
    total, own, inclusive, modules = summarise(args.profile)
    print(f"{total} busy samples")
    if args.rate and args.seconds:
        print(f"= {total / (args.rate * args.seconds):.2f} of one core busy in Python's view")
    for title, table in (
        ("self (top of stack)", own),
        ("self, by file", modules),
        ("inclusive (anywhere in stack)", inclusive),
    ):
        print(f"\n## {title}")
        for name, count in table.most_common(args.top):
            print(f"{100 * count / total:6.1f}%  {name}")


if __name__ == "__main__":
    main()
