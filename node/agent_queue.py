"""This node's view of the queue of waiting customers, and how long agents lately spend on
a call.

The queue itself is the registry's (:meth:`~callcenter.registry.CallRegistry.queue`): a
call's place is its :class:`~callcenter.values.QueueEntry` score, re-queued calls first.
This is what the node last read of it (after every change that wrote it), so positions and
the agents' list are told without a round trip. Who gets which call, and the wait told,
are :mod:`callcenter.routing`'s rules.

(Named ``agent_queue`` because a module called ``queue`` would shadow the
standard library module that aiortc imports.)
"""

from __future__ import annotations

from collections.abc import Iterable

from callcenter import routing
from callcenter.values import QueueEntry


class AgentQueue:
    """The waiting calls' ids in queue order, as last read from the registry."""

    def __init__(self, *, default_handle_time_s: float, max_waiting: int) -> None:
        self._ids: list[str] = []
        self._places: dict[str, int] = {}
        self._handle_time_s = default_handle_time_s
        self._max_waiting = max_waiting

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def is_full(self) -> bool:
        return len(self._ids) >= self._max_waiting

    def read(self, entries: Iterable[QueueEntry]) -> None:
        """The queue as the registry has it now (head first)."""
        self._ids = [entry.call_id for entry in sorted(entries)]
        self._places = {call_id: place for place, call_id in enumerate(self._ids, 1)}

    def ids(self) -> list[str]:
        return list(self._ids)

    def position(self, call_id: str) -> int | None:
        """1-based place in the queue, or None when the call is not waiting."""
        return self._places.get(call_id)

    @property
    def handle_time_s(self) -> float:
        """The average time an agent spends on a call, lately (for wait estimates)."""
        return self._handle_time_s

    def record_handle_time(self, seconds: float) -> None:
        self._handle_time_s = routing.next_handle_time(self._handle_time_s, seconds)
