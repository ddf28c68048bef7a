"""The queue of waiting customers, the agents who serve it, and the wait estimate.

(Named ``agent_queue`` because a module called ``queue`` would shadow the
standard library module that aiortc imports.)
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.states import AgentState

from .calls import Call, CallState

logger = logging.getLogger(__name__)

# Weight of the newest call in the handle-time average: recent calls matter
# more, one odd call does not swing the estimate.
_HANDLE_TIME_ALPHA = 0.2


@dataclass(slots=True)
class Agent:
    subject: str
    name: str
    state: AgentState = AgentState.AWAY
    state_since: float = field(default_factory=time.monotonic)
    call_id: str | None = None
    connections: int = 0
    lost_call: str | None = None
    """The call that went back to the queue when this agent's connection was lost, until
    they say what they do next (Available or Away): their console tells them."""

    def set_state(self, state: AgentState, call_id: str | None = None) -> None:
        if state is not self.state:
            logger.info("Agent(%s) %s -> %s", self.subject, self.state.value, state.value)
            self.state = state
            self.state_since = time.monotonic()
        self.call_id = call_id

    def to_wire(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "name": self.name,
            "state": self.state.value,
            "call_id": self.call_id,
            "connected": self.connections > 0,
        }


class AgentQueue:
    """Waiting calls in arrival order, and the agents who may take them.

    A call whose agent's connection was lost (``requeued_at`` set) goes ahead of
    every call waiting for a first agent, as contact centres re-queue a dropped
    agent's call with priority; among themselves calls wait in arrival order.
    Calls are kept sorted so and found by id, so adding, removing and placing a
    call cost the same with 500 waiting as with 5.
    """

    def __init__(self, *, default_handle_time_s: float, max_waiting: int) -> None:
        self._waiting: list[Call] = []
        self._ids: set[str] = set()
        self.agents: dict[str, Agent] = {}
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

    def agent(self, subject: str, name: str) -> Agent:
        agent = self.agents.get(subject)
        if agent is None:
            agent = self.agents[subject] = Agent(subject=subject, name=name)
        return agent

    def staffed(self) -> int:
        """Agents who take calls now or will when their call ends."""
        return sum(
            1 for a in self.agents.values() if a.state is not AgentState.AWAY and a.connections
        )

    def estimated_wait_s(self, position: int) -> float | None:
        """Expected seconds until an agent answers the call at ``position``."""
        return self.wait_estimator()(position)

    def wait_estimator(self) -> Callable[[int], float | None]:
        """The wait estimate by position, with the agents counted once (for a whole queue).

        Free agents take the first calls at once. After that, each staffed
        agent frees up once per average handle time, the first time about
        half-way through their current call. With nobody staffed there is no
        honest estimate, so None.
        """
        available, staffed, handle_time_s = self._available(), self.staffed(), self._handle_time_s

        def estimate(position: int) -> float | None:
            if position <= available:
                return 0.0
            if staffed == 0:
                return None
            rounds = math.ceil((position - available) / staffed)
            return round((rounds - 0.5) * handle_time_s)

        return estimate

    def record_handle_time(self, seconds: float) -> None:
        self._handle_time_s += _HANDLE_TIME_ALPHA * (seconds - self._handle_time_s)

    def next_match(self) -> tuple[Call, Agent] | None:
        """The first waiting call (re-queued ones first) and the longest-idle agent free for it."""
        idle = sorted(
            (a for a in self.agents.values() if a.state is AgentState.AVAILABLE and a.connections),
            key=lambda a: a.state_since,
        )
        for call in self._waiting:
            if call.state is not CallState.QUEUED:
                continue
            for agent in idle:
                if agent.subject not in call.declined_by:
                    return call, agent
        return None

    def _available(self) -> int:
        return sum(
            1 for a in self.agents.values() if a.state is AgentState.AVAILABLE and a.connections
        )


def _place(call: Call) -> tuple[bool, float]:
    """Sort key: re-queued calls (False sorts first), then arrival. Fixed while a call waits."""
    return call.requeued_at is None, call.queued_at or 0.0
