"""Each call's last ``seq``, on disk, so the events of a call are numbered on across restarts.

``sequences.jsonl`` gets a line ``{"call_id","seq","at"}`` for every event
published; read back, the highest per call is where counting goes on. The file
is written by the same writer thread as the outboxes and before them, so an
event on disk in an outbox always has its number on disk too. Calls quiet for
``retention_s`` (a week: a call's events come within minutes of each other) are
forgotten at the next compaction, and at most ``max_calls`` are remembered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from .journal import Journal

__all__ = ["CallSequences"]

DEFAULT_RETENTION_S = 7 * 86_400.0
DEFAULT_MAX_CALLS = 200_000
DEFAULT_COMPACT_AFTER = 1_000


class CallSequences:
    """The next ``seq`` of each call; use :meth:`open`."""

    def __init__(
        self,
        journal: Journal,
        *,
        retention_s: float = DEFAULT_RETENTION_S,
        max_calls: int = DEFAULT_MAX_CALLS,
        compact_after: int = DEFAULT_COMPACT_AFTER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.retention_s = retention_s
        self.max_calls = max_calls
        self.compact_after = compact_after
        self._journal = journal
        self._clock = clock
        # call -> (last seq, Unix time it was given); least recently used first
        self._last: dict[str, tuple[int, float]] = {}

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        executor: ThreadPoolExecutor | None = None,
        retention_s: float = DEFAULT_RETENTION_S,
        max_calls: int = DEFAULT_MAX_CALLS,
        compact_after: int = DEFAULT_COMPACT_AFTER,
        clock: Callable[[], float] = time.time,
    ) -> CallSequences:
        journal = Journal(path, executor)
        sequences = cls(
            journal,
            retention_s=retention_s,
            max_calls=max_calls,
            compact_after=compact_after,
            clock=clock,
        )
        records = await journal.load()
        await asyncio.to_thread(sequences._replay, records)  # nothing else sees it yet
        return sequences

    def last(self, call_id: str) -> int:
        """The call's last ``seq`` (0: none yet)."""
        return self._last.get(call_id, (0, 0.0))[0]

    def at_least(self, call_id: str, seq: int) -> None:
        """Count on past ``seq`` for this call (an event kept elsewhere already has it)."""
        if seq > self.last(call_id):
            self._remember(call_id, seq, self._clock())

    def next(self, call_id: str) -> tuple[int, asyncio.Future[None]]:
        """The call's next ``seq``, and the future done when it is on disk."""
        seq, now = self.last(call_id) + 1, self._clock()
        written = self._journal.append([{"call_id": call_id, "seq": seq, "at": now}])
        self._remember(call_id, seq, now)
        self._compact_if_worth_it(now)
        return seq, written

    async def close(self) -> None:
        await self._journal.close()

    def _replay(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            try:
                self._remember(str(record["call_id"]), int(record["seq"]), record["at"])
            except (KeyError, TypeError, ValueError):
                continue

    def _remember(self, call_id: str, seq: int, at: Any) -> None:
        if seq <= self.last(call_id):
            return
        self._last.pop(call_id, None)  # to the end: most recently used
        self._last[call_id] = (seq, float(at))
        while len(self._last) > self.max_calls:
            del self._last[next(iter(self._last))]

    def _compact_if_worth_it(self, now: float) -> None:
        if self._journal.lines <= max(self.compact_after, 2 * len(self._last)):
            return
        for call_id, (_, at) in list(self._last.items()):
            if now - at <= self.retention_s:
                break  # the rest were used later
            del self._last[call_id]
        kept = list(self._last.items())
        # A failed rewrite leaves the old file whole; the next append tells of a full disk.
        replaced = self._journal.replace(partial(_records, kept), len(kept))
        replaced.add_done_callback(_ignore_failure)


def _ignore_failure(written: asyncio.Future[None]) -> None:
    written.exception()


def _records(kept: list[tuple[str, tuple[int, float]]]) -> Iterator[dict[str, Any]]:
    for call_id, (seq, at) in kept:
        yield {"call_id": call_id, "seq": seq, "at": at}
