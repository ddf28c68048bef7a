"""The queue of waiting customers, the agents who serve it, and the wait estimate.

(Named ``agent_queue`` because a module called ``queue`` would shadow the
standard library module that aiortc imports.)
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter import routing
from callcenter.states import AgentState
from callcenter.values import AgentValue

from .calls import Call, CallState
from .payloads import agent_payload

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Agent:
    subject: str
    name: str
    state: AgentState = AgentState.AWAY
    state_since: float = field(default_factory=time.time)
    """Wall-clock time the state began (a value read on other nodes and after restarts)."""
    call_id: str | None = None
    connections: int = 0
    lost_call: str | None = None
    """The call that went back to the queue when this agent's connection was lost, until
    they say what they do next (Available or Away): their console tells them."""

    def set_state(self, state: AgentState, call_id: str | None = None) -> None:
        if state is not self.state:
            logger.info("Agent(%s) %s -> %s", self.subject, self.state.value, state.value)
            self.state = state
            self.state_since = time.time()
        self.call_id = call_id

    def to_value(self) -> AgentValue:
        return AgentValue(
            self.subject, self.name, self.state, self.state_since, self.call_id, self.lost_call
        )

    def to_wire(self) -> dict[str, object]:
        return agent_payload(self.to_value(), connected=self.connections > 0)


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

    def online(self) -> set[str]:
        """Agents with a connection open."""
        return {subject for subject, agent in self.agents.items() if agent.connections}

    def staffed(self) -> int:
        """Agents who take calls now or will when their call ends."""
        return routing.staffed(self.agents.values(), self.online())

    def estimated_wait_s(self, position: int) -> float | None:
        """Expected seconds until an agent answers the call at ``position``."""
        return self.wait_estimator()(position)

    def wait_estimator(self) -> Callable[[int], float | None]:
        """The wait estimate by position, with the agents counted once (for a whole queue)."""
        return routing.wait_estimate(list(self.agents.values()), self.online(), self._handle_time_s)

    def record_handle_time(self, seconds: float) -> None:
        self._handle_time_s = routing.next_handle_time(self._handle_time_s, seconds)

    def next_match(self) -> tuple[Call, Agent] | None:
        """The first waiting call (re-queued ones first) and the longest-idle agent free for it."""
        return routing.next_match(self._waiting, self.agents.values(), self.online())


def _place(call: Call) -> tuple[bool, float]:
    """Sort key: re-queued calls (False sorts first), then arrival. Fixed while a call waits."""
    return call.requeued_at is None, call.queued_at or 0.0
