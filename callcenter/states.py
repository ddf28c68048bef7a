"""The states a call and an agent go through, and which may follow which."""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class CallState(StrEnum):
    CREATED = "created"  # a join link exists; the customer has not asked for an agent yet
    QUEUED = "queued"  # waiting for an agent
    OFFERED = "offered"  # offered to one agent, who has not accepted yet
    ACTIVE = "active"  # an agent took it; media flows
    ENDED = "ended"  # terminal


# Which state may follow which: anything else is a bug in whoever changed the call.
NEXT_CALL_STATES: dict[CallState, frozenset[CallState]] = {
    CallState.CREATED: frozenset({CallState.QUEUED, CallState.ENDED}),
    CallState.QUEUED: frozenset({CallState.OFFERED, CallState.ACTIVE, CallState.ENDED}),
    CallState.OFFERED: frozenset({CallState.QUEUED, CallState.ACTIVE, CallState.ENDED}),
    # Back to the queue: the agent's connection did not come back, the customer is still there.
    CallState.ACTIVE: frozenset({CallState.QUEUED, CallState.ENDED}),
    CallState.ENDED: frozenset(),
}


@unique
class EndReason(StrEnum):
    HUNG_UP = "hung_up"
    CANCELLED = "cancelled"  # the customer gave up waiting
    ABANDONED = "abandoned"  # the customer's connection did not come back while waiting
    DISCONNECTED = "disconnected"  # a party's connection did not come back during the call
    EXPIRED = "expired"  # the join link was never used
    SHUTDOWN = "shutdown"  # the server was stopped (SIGTERM) and ended it
    INTERRUPTED = "interrupted"  # the server stopped without ending it (a crash); found at start


@unique
class AgentState(StrEnum):
    AWAY = "away"  # signed in, not taking calls
    AVAILABLE = "available"  # waiting for a call
    RINGING = "ringing"  # a call is offered and not yet accepted
    ON_CALL = "on_call"
