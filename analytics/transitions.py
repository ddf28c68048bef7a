"""What a change of the registry meant for the floor's numbers and the shop's backend.

Every change of a call or an agent is made by exactly one node
(``Switchboard.commit``), which knows the values before and after it: a call
that entered the queue, was answered, ended or was abandoned; an agent whose
state changed (closing the span of time they spent in the state before). So
each such moment is seen once in the whole call centre, however many nodes
there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from callcenter.states import AgentState, CallState
from callcenter.values import AgentValue, CallValue

from .contact import ABANDON_REASONS


class ContactMoment(StrEnum):
    QUEUED = "call.queued"
    ANSWERED = "call.answered"
    ENDED = "call.ended"
    ABANDONED = "call.abandoned"


@dataclass(frozen=True, slots=True)
class ContactEvent:
    """A moment of a call's story, with the call as it stood then."""

    moment: ContactMoment
    call: CallValue
    at: float


@dataclass(frozen=True, slots=True)
class AgentSpan:
    """An agent spent ``start``..``end`` (Unix seconds) in ``state``."""

    subject: str
    name: str
    state: str
    start: float
    end: float

    def to_record(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "name": self.name,
            "state": self.state,
            "start": self.start,
            "end": self.end,
        }

    @classmethod
    def from_record(cls, record: dict[str, object]) -> AgentSpan:
        return cls(
            str(record["subject"]),
            str(record.get("name", "")),
            str(record["state"]),
            float(record["start"]),  # type: ignore[arg-type]
            float(record["end"]),  # type: ignore[arg-type]
        )


def call_moments(before: CallValue | None, after: CallValue) -> list[ContactEvent]:
    """The moments one write of a call made (in the order they happened)."""
    moments: list[ContactEvent] = []
    was_queued = before is not None and before.queued_at is not None
    if after.queued_at is not None and not was_queued:
        moments.append(ContactEvent(ContactMoment.QUEUED, after, after.queued_at))
    was_answered = before is not None and before.answered_at is not None
    if after.answered_at is not None and not was_answered:
        moments.append(ContactEvent(ContactMoment.ANSWERED, after, after.answered_at))
    was_ended = before is not None and before.state is CallState.ENDED
    if after.state is CallState.ENDED and not was_ended:
        at = after.ended_at or after.created_at
        if after.answered_at is not None:
            moments.append(ContactEvent(ContactMoment.ENDED, after, at))
        elif after.queued_at is not None and after.end_reason in ABANDON_REASONS:
            moments.append(ContactEvent(ContactMoment.ABANDONED, after, at))
        elif after.queued_at is not None:
            # Queued and never answered, not given up by the customer (the server shut
            # down, the call was interrupted): it ended, unanswered.
            moments.append(ContactEvent(ContactMoment.ENDED, after, at))
    return moments


def agent_span(before: AgentValue | None, after: AgentValue | None, now: float) -> AgentSpan | None:
    """The span an agent's change closed: the state they were in until ``now``."""
    if before is None or before.state is AgentState.AWAY:
        return None
    if after is not None and after.state is before.state:
        return None
    start = before.state_since or now
    if now <= start:
        return None
    return AgentSpan(before.subject, before.name, before.state.value, start, now)
