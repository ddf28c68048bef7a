"""Which agent a waiting call goes to, and how long a waiting customer is told to expect.

Pure rules over the call centre's state: the same answer on any node for the same values.
They read calls and agents through the few fields they need (:class:`Waiting`,
:class:`Staff`), which :class:`~callcenter.values.CallValue` and
:class:`~callcenter.values.AgentValue` have.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from .states import AgentState, CallState

# Weight of the newest call in the handle-time average: recent calls matter more, one odd
# call does not swing the estimate.
HANDLE_TIME_ALPHA = 0.2


class Waiting(Protocol):
    """A call in the queue, as routing reads it."""

    @property
    def call_id(self) -> str: ...
    @property
    def state(self) -> CallState: ...
    @property
    def declined_by(self) -> Collection[str]: ...


class Staff(Protocol):
    """An agent, as routing reads them."""

    @property
    def subject(self) -> str: ...
    @property
    def state(self) -> AgentState: ...
    @property
    def state_since(self) -> float: ...


C = TypeVar("C", bound=Waiting)
A = TypeVar("A", bound=Staff)


def next_match(
    waiting: Iterable[C], agents: Iterable[A], online: Collection[str]
) -> tuple[C, A] | None:
    """The first waiting call (in queue order) and the longest-idle agent free for it.

    Free: available, with a connection open (``online``: subjects with one), and not one
    who declined this call. A call being offered is skipped: it is ringing already.
    """
    idle = sorted(
        (a for a in agents if a.state is AgentState.AVAILABLE and a.subject in online),
        key=lambda a: a.state_since,
    )
    if not idle:
        return None
    for call in waiting:
        if call.state is not CallState.QUEUED:
            continue
        for agent in idle:
            if agent.subject not in call.declined_by:
                return call, agent
    return None


def staffed(agents: Iterable[Staff], online: Collection[str]) -> int:
    """Agents who take calls now or will when their call ends (connected, not Away)."""
    return sum(1 for a in agents if a.state is not AgentState.AWAY and a.subject in online)


def available(agents: Iterable[Staff], online: Collection[str]) -> int:
    """Agents free to take a call this moment."""
    return sum(1 for a in agents if a.state is AgentState.AVAILABLE and a.subject in online)


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    """Expected seconds until an agent answers the call at a 1-based queue position.

    Free agents take the first calls at once. After that, each staffed agent frees up
    once per average handle time, the first time about half-way through their current
    call. With nobody staffed there is no honest estimate: None.
    """

    available: int
    staffed: int
    handle_time_s: float

    def __call__(self, position: int) -> float | None:
        if position <= self.available:
            return 0.0
        if self.staffed == 0:
            return None
        rounds = math.ceil((position - self.available) / self.staffed)
        return round((rounds - 0.5) * self.handle_time_s)


def wait_estimate(
    agents: Sequence[Staff], online: Collection[str], handle_time_s: float
) -> Callable[[int], float | None]:
    """The estimate for a whole queue, the agents counted once."""
    return WaitEstimate(available(agents, online), staffed(agents, online), handle_time_s)


def next_handle_time(average_s: float, seconds: float) -> float:
    """The average handle time after a call that lasted ``seconds`` (a moving average)."""
    return average_s + HANDLE_TIME_ALPHA * (seconds - average_s)
