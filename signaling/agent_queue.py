"""The queue of waiting customers, and how long agents lately spend on a call.

Agents are the registry's (:class:`~callcenter.values.AgentValue`); who gets which call,
and the wait told, are :mod:`callcenter.routing`'s rules.

(Named ``agent_queue`` because a module called ``queue`` would shadow the
standard library module that aiortc imports.)
"""

from __future__ import annotations

import bisect

from callcenter import routing

from .calls import Call, CallState


class AgentQueue:
    """Waiting calls in arrival order.

    A call whose agent's connection was lost (``requeued_at`` set) goes ahead of
    every call waiting for a first agent, as contact centres re-queue a dropped
    agent's call with priority; among themselves calls wait in arrival order.
    Calls are kept sorted so and found by id, so adding, removing and placing a
    call cost the same with 500 waiting as with 5.
    """

    def __init__(self, *, default_handle_time_s: float, max_waiting: int) -> None:
        self._waiting: list[Call] = []
        self._ids: set[str] = set()
        self._handle_time_s = default_handle_time_s
        self._max_waiting = max_waiting

    def __len__(self) -> int:
        return len(self._waiting)

    @property
    def is_full(self) -> bool:
        return len(self._waiting) >= self._max_waiting

    def waiting(self) -> list[Call]:
        return list(self._waiting)

    def enqueue(self, call: Call) -> None:
        """Add a call in its place (``requeued_at`` first, then ``queued_at``).

        A call that returns keeps its place: its ``queued_at`` stays.
        """
        if call.call_id in self._ids:
            return
        self._ids.add(call.call_id)
        bisect.insort_right(self._waiting, call, key=_place)

    def remove(self, call: Call) -> None:
        index = self._index(call)
        if index is not None:
            del self._waiting[index]
            self._ids.discard(call.call_id)

    def position(self, call: Call) -> int | None:
        """1-based place in the queue, or None when the call is not waiting."""
        index = self._index(call)
        return None if index is None else index + 1

    def _index(self, call: Call) -> int | None:
        if call.call_id not in self._ids:
            return None
        index = bisect.bisect_left(self._waiting, _place(call), key=_place)
        while self._waiting[index].call_id != call.call_id:  # calls queued in the same instant
            index += 1
        return index

    def head(self) -> Call | None:
        return next((c for c in self._waiting if c.state is CallState.QUEUED), None)

    @property
    def handle_time_s(self) -> float:
        """The average time an agent spends on a call, lately (for wait estimates)."""
        return self._handle_time_s

    def record_handle_time(self, seconds: float) -> None:
        self._handle_time_s = routing.next_handle_time(self._handle_time_s, seconds)


def _place(call: Call) -> tuple[bool, float]:
    """Sort key: re-queued calls (False sorts first), then arrival. Fixed while a call waits."""
    return call.requeued_at is None, call.queued_at or 0.0
