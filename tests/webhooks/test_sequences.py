"""Each call's seq on disk: it goes on after a reopen, and the file does not grow forever.

Guards: a call's numbers continue where the last run stopped; once the file is
mostly old lines it is rewritten with one line per call, and calls quiet for longer
than the retention are forgotten (a new event of theirs would start again at 1).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from webhooks.sequences import CallSequences


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_calls_numbers_go_on_after_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sequences.jsonl"
    sequences = await CallSequences.open(path)
    numbered = [sequences.next("call-1"), sequences.next("call-1"), sequences.next("call-2")]
    assert [seq for seq, _ in numbered] == [1, 2, 1]
    await asyncio.gather(*(written for _, written in numbered))
    await sequences.close()

    reopened = await CallSequences.open(path)
    assert reopened.next("call-1")[0] == 3
    assert reopened.next("call-2")[0] == 2
    reopened.at_least("call-3", 7)
    assert reopened.next("call-3")[0] == 8
    await reopened.close()


async def test_the_file_is_compacted_and_quiet_calls_are_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "sequences.jsonl"
    clock = Clock()
    sequences = await CallSequences.open(path, retention_s=3600, compact_after=50, clock=clock)
    for n in range(10):
        sequences.next(f"old-{n}")
    clock.now += 7200
    writes = [sequences.next(f"new-{n % 5}")[1] for n in range(100)]
    await asyncio.gather(*writes)
    await sequences.close()

    assert len(path.read_text().splitlines()) < 60
    reopened = await CallSequences.open(path, clock=clock)
    assert reopened.last("new-0") == 20
    assert reopened.last("old-0") == 0
    await reopened.close()
