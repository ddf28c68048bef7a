"""A contact: one call as the floor's numbers count it, and what became of it.

Amazon Connect keeps a contact record per call (when it was queued, answered,
ended, by whom) and adds what was learnt later (the analytics, the customer's
rating). kotha does the same: the record is made when the call leaves the
queue's story (answered, ended or abandoned), from the call's own time stamps,
and the recording's figures and the customer's rating are added when they come.
Plain values: the same record on one node (SQLite) or many (Redis).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from callcenter.states import CallState, EndReason
from callcenter.values import CallValue

# A call that ended in the queue for one of these reasons was abandoned: the customer gave up
# waiting (cancelled, hung up) or their connection never came back. Not one the server ended
# (shut down, interrupted by a crash).
ABANDON_REASONS = frozenset(
    {EndReason.CANCELLED, EndReason.HUNG_UP, EndReason.ABANDONED, EndReason.DISCONNECTED}
)


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """One call that reached the queue. Times are Unix seconds."""

    call_id: str
    language: str
    queued_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    agent_subject: str | None = None
    agent_name: str | None = None
    customer_name: str = ""
    hold_s: float = 0.0
    """Time the customer spent on hold (the agent's hold button), over the call."""
    holds: int = 0
    # Added when the recording is finished (None: not recorded, or not yet).
    mos_average: float | None = None
    customer_end_sentiment: str | None = None  # positive, negative, neutral
    categories: tuple[str, ...] = ()
    # Added when the customer rates the call.
    csat: int | None = None
    csat_comment: str | None = None
    rated_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def abandoned(self) -> bool:
        return self.answered_at is None and self.end_reason in ABANDON_REASONS

    @property
    def handled(self) -> bool:
        """Answered and over: it has a handle time."""
        return self.answered_at is not None and self.ended_at is not None

    @property
    def wait_s(self) -> float | None:
        """In the queue until answered, or until the customer gave up."""
        if self.answered_at is not None:
            return max(0.0, self.answered_at - self.queued_at)
        if self.abandoned and self.ended_at is not None:
            return max(0.0, self.ended_at - self.queued_at)
        return None

    @property
    def handle_s(self) -> float | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.answered_at)

    def with_call(self, call: CallValue) -> ContactRecord:
        """This record with what the call's latest value says (the later facts kept)."""
        made = contact_of(call)
        return (
            replace(
                made,
                mos_average=self.mos_average,
                customer_end_sentiment=self.customer_end_sentiment,
                categories=self.categories,
                csat=self.csat,
                csat_comment=self.csat_comment,
                rated_at=self.rated_at,
            )
            if made is not None
            else self
        )

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["categories"] = list(self.categories)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ContactRecord:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in record.items() if k in known}
        values["categories"] = tuple(values.get("categories") or ())
        return cls(**values)


def contact_of(call: CallValue) -> ContactRecord | None:
    """The contact record of a call that reached the queue (None: it never did)."""
    if call.queued_at is None:
        return None
    agent = call.agent or (call.former_agents[-1] if call.former_agents else None)
    ended = call.state is CallState.ENDED
    return ContactRecord(
        call_id=call.call_id,
        language=call.language,
        queued_at=call.queued_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at if ended else None,
        end_reason=call.end_reason.value if ended and call.end_reason else None,
        agent_subject=agent.subject if agent and call.answered_at is not None else None,
        agent_name=agent.name if agent and call.answered_at is not None else None,
        customer_name=call.customer.name,
        hold_s=round(call.hold_total_s(call.ended_at or call.created_at), 3) if ended else 0.0,
        holds=call.holds,
    )
