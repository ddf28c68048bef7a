"""One endpoint's events that are not delivered yet, and those it gave up, kept on disk.

Every change is a line of a journal (``<endpoint>.outbox.jsonl``)::

    {"op":"add","event":{...}}                                 stored for delivery
    {"op":"done","id":"...","at":1767000000.5}                 delivered
    {"op":"failed","id":"...","attempts":12,"error":"...","at":...}   given up
    {"op":"retry","id":"..."}                                  an admin tries it again
    {"op":"tally","delivered":1234,"last_delivered_at":...}    (first line after compaction)

Reading them back in order rebuilds the outbox, so a restart (or ``kill -9``)
resumes where it was: an event is stored before ``add()`` returns, and is sent
again until it is marked done. When done lines outnumber the events still kept,
the journal is rewritten with only those (a tally keeps the delivered count).

In memory, pending events are grouped by call in ``seq`` order: the delivery
sends a call's head only, so a call's events go out in order. The outbox keeps
at most ``max_kept`` events (pending and given up): past it ``add()`` refuses,
so a receiver that is down for long cannot make the server run out of memory.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .errors import EventRefusedError, NotFoundError, OutboxFullError
from .event import WebhookEvent
from .journal import Journal

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_KEPT", "Failed", "Outbox", "Pending"]

# About a week of a busy centre's events for one receiver that is down; each kept
# event costs about a kilobyte of memory (recording.ready with its analytics, 2-3).
DEFAULT_MAX_KEPT = 100_000
# Rewrite the journal once this many lines (and more lines than events kept) are dead.
DEFAULT_COMPACT_AFTER = 1_000


@dataclass(eq=False, slots=True)
class Pending:
    """An event not delivered yet, and how its attempts went since the process started."""

    event: WebhookEvent
    durable: bool = False
    """On disk: it may be sent (an event is never sent before it is stored)."""
    attempts: int = 0
    last_error: str | None = None
    held_since: float | None = None
    """Unix time it first waited for an earlier event of its call held by another server."""
    looks: int = 0
    """Times it looked whether that earlier event was settled, and it was not."""


@dataclass(frozen=True, slots=True)
class Failed:
    """An event given up: kept for the admin to see, and to retry."""

    event: WebhookEvent
    attempts: int
    error: str
    failed_at: float


class Outbox:
    """The durable queue of one endpoint; use :meth:`open`.

    Args:
        journal: the endpoint's journal, already loaded.
        max_kept: events kept at most (pending and given up).
        compact_after: dead journal lines that trigger a rewrite.
    """

    def __init__(
        self,
        journal: Journal,
        *,
        max_kept: int = DEFAULT_MAX_KEPT,
        compact_after: int = DEFAULT_COMPACT_AFTER,
    ) -> None:
        self.max_kept = max_kept
        self.compact_after = compact_after
        self.delivered = 0
        """Events delivered, over the outbox's whole life."""
        self.last_delivered_at: float | None = None
        self._journal = journal
        self._calls: dict[str, list[Pending]] = {}
        self._pending: dict[str, Pending] = {}
        self._failed: dict[str, Failed] = {}

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        executor: ThreadPoolExecutor | None = None,
        max_kept: int = DEFAULT_MAX_KEPT,
        compact_after: int = DEFAULT_COMPACT_AFTER,
    ) -> Outbox:
        """The outbox kept in ``path`` (a new one if missing), read back off the loop."""
        journal = Journal(path, executor)
        outbox = cls(journal, max_kept=max_kept, compact_after=compact_after)
        records = await journal.load()
        # Nothing else sees the outbox yet: 100,000 events are rebuilt off the loop.
        await asyncio.to_thread(outbox._replay, records)
        return outbox

    @property
    def path(self) -> Path:
        return self._journal.path

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def failed_count(self) -> int:
        return len(self._failed)

    def calls(self) -> list[str]:
        """The calls with events to send, those stored first first."""
        return list(self._calls)

    def head(self, call_id: str) -> Pending | None:
        """The call's next event to send (its lowest ``seq``), if any."""
        lane = self._calls.get(call_id)
        return lane[0] if lane else None

    def failed(self) -> list[Failed]:
        """The events given up, oldest first."""
        return list(self._failed.values())

    def highest_seqs(self) -> Iterator[tuple[str, int]]:
        """(call, seq) of every event kept, so a restart goes on counting past them."""
        for event in [p.event for p in self._pending.values()] + [
            f.event for f in self._failed.values()
        ]:
            yield event.call_id, event.seq

    def put(self, event: WebhookEvent) -> asyncio.Future[None]:
        """Store ``event``: it is in its call's queue now, sent once the future is done.

        The future is done when the event is on disk (or fails with JournalError:
        then it is not kept). Raises :class:`OutboxFullError` past ``max_kept``.
        """
        if len(self._pending) + len(self._failed) >= self.max_kept:
            raise OutboxFullError(
                f"{self.max_kept} events are kept for this endpoint already (its receiver "
                "has not taken them): this one was not stored"
            )
        if event.id in self._pending or event.id in self._failed:
            raise EventRefusedError(f"event {event.id} is stored already")
        written = self._journal.append([{"op": "add", "event": event.to_stored()}])
        pending = Pending(event)
        self._insert(pending)
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        written.add_done_callback(partial(self._stored, pending, stored))
        return stored

    async def add(self, event: WebhookEvent) -> None:
        """Store ``event`` and return once it is on disk (see :meth:`put`)."""
        await self.put(event)

    def mark_delivered(self, pending: Pending, at: float) -> asyncio.Future[None]:
        """The receiver took it; the future is done once that is on disk."""
        event_id = pending.event.id
        written = self._journal.append([{"op": "done", "id": event_id, "at": at}])
        if self._pending.pop(event_id, None) is not None:
            self._remove(pending)
        self.delivered += 1
        self.last_delivered_at = at
        self._compact_if_worth_it()
        return written

    def mark_failed(self, pending: Pending, error: str, at: float) -> asyncio.Future[None]:
        """Give it up: the call's next event goes; it stays, as failed, for the admin."""
        event_id = pending.event.id
        record = {"op": "failed", "id": event_id, "attempts": pending.attempts, "error": error}
        written = self._journal.append([{**record, "at": at}])
        if self._pending.pop(event_id, None) is not None:
            self._remove(pending)
        self._failed[event_id] = Failed(pending.event, pending.attempts, error, at)
        self._compact_if_worth_it()
        return written

    def retry(self, event_id: str) -> tuple[Pending, asyncio.Future[None]]:
        """Put a failed event back in its call's queue, at its ``seq``'s place."""
        failed = self._failed.get(event_id)
        if failed is None:
            raise NotFoundError(f"no failed event {event_id} at this endpoint")
        written = self._journal.append([{"op": "retry", "id": event_id}])
        del self._failed[event_id]
        pending = Pending(failed.event, durable=True)
        self._insert(pending)
        self._compact_if_worth_it()
        return pending, written

    async def close(self) -> None:
        """Wait for what is queued for the disk, then close the journal."""
        await self._journal.close()

    def _stored(
        self, pending: Pending, stored: asyncio.Future[None], written: asyncio.Future[None]
    ) -> None:
        error = written.exception()
        if error is None:
            pending.durable = True
        elif self._pending.get(pending.event.id) is pending:
            # Never on disk: never sent either (the caller is told it failed).
            del self._pending[pending.event.id]
            self._remove(pending)
        if stored.done():  # the caller stopped waiting
            return
        if error is None:
            stored.set_result(None)
        else:
            stored.set_exception(error)

    def _insert(self, pending: Pending) -> None:
        self._pending[pending.event.id] = pending
        lane = self._calls.setdefault(pending.event.call_id, [])
        bisect.insort(lane, pending, key=lambda p: p.event.seq)

    def _remove(self, pending: Pending) -> None:
        call_id = pending.event.call_id
        lane = self._calls.get(call_id)
        if lane is None:
            return
        lane.remove(pending)
        if not lane:
            del self._calls[call_id]

    def _compact_if_worth_it(self) -> None:
        live = 1 + len(self._pending) + 2 * len(self._failed)
        if self._journal.lines - live <= max(self.compact_after, live):
            return
        dead = self._journal.lines - live
        logger.debug("%s: rewriting without its %d dead lines", self.path, dead)
        pending = [p.event for p in self._pending.values()]
        failed = list(self._failed.values())
        tally = {
            "op": "tally",
            "delivered": self.delivered,
            "last_delivered_at": self.last_delivered_at,
        }
        replaced = self._journal.replace(partial(_snapshot, tally, pending, failed), live)
        replaced.add_done_callback(self._compacted)

    def _compacted(self, written: asyncio.Future[None]) -> None:
        error = written.exception()
        if error is not None:  # the old journal is whole: it only stays long
            logger.warning("%s could not be compacted: %s", self.path, error)

    def _replay(self, records: list[dict[str, Any]]) -> None:
        unreadable = 0
        for record in records:
            try:
                self._apply(record)
            except (KeyError, TypeError, ValueError):
                unreadable += 1
        if unreadable:
            logger.warning("%s: %d records could not be used: skipped", self.path, unreadable)
        if self._pending or self._failed:
            logger.info(
                "%s: %d events to send, %d given up",
                self.path,
                len(self._pending),
                len(self._failed),
            )

    def _apply(self, record: dict[str, Any]) -> None:
        op = record["op"]
        if op == "add":
            event = WebhookEvent.from_record(record["event"])
            if event.id not in self._pending and event.id not in self._failed:
                self._insert(Pending(event, durable=True))
        elif op == "done":
            pending = self._pending.pop(str(record["id"]), None)
            if pending is not None:
                self._remove(pending)
            elif self._failed.pop(str(record["id"]), None) is None:
                return
            self.delivered += 1
            self.last_delivered_at = record.get("at")
        elif op == "failed":
            attempts, error, at = int(record["attempts"]), str(record["error"]), float(record["at"])
            pending = self._pending.pop(str(record["id"]), None)
            if pending is not None:
                self._remove(pending)
                self._failed[pending.event.id] = Failed(pending.event, attempts, error, at)
        elif op == "retry":
            failed = self._failed.pop(str(record["id"]), None)
            if failed is not None:
                self._insert(Pending(failed.event, durable=True))
        elif op == "tally":
            self.delivered = int(record["delivered"])
            self.last_delivered_at = record.get("last_delivered_at")
        else:
            raise ValueError(f"unknown op {op!r}")


def _snapshot(
    tally: dict[str, Any], pending: list[WebhookEvent], failed: list[Failed]
) -> Iterator[dict[str, Any]]:
    """The records of a compacted journal (made in the writer thread: events never change)."""
    yield tally
    for event in pending:
        yield {"op": "add", "event": event.to_stored()}
    for gave_up in failed:
        yield {"op": "add", "event": gave_up.event.to_stored()}
        yield {
            "op": "failed",
            "id": gave_up.event.id,
            "attempts": gave_up.attempts,
            "error": gave_up.error,
            "at": gave_up.failed_at,
        }
