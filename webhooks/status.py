"""What an admin sees of the webhooks: per endpoint, what waits, what was given up, and why.

Plain values, made on request from the live state; ``to_dict()`` gives the JSON
an admin page or ``GET`` route shows. The secret is never part of it, and the
URL shows without credentials or query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .outbox import Failed

__all__ = ["EndpointStatus", "FailedDelivery"]


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """An event given up: it is kept, and ``Dispatcher.retry()`` sends it again."""

    event_id: str
    type: str
    call_id: str
    seq: int
    occurred_at: float
    attempts: int
    error: str
    """The last attempt's failure, in words ("the receiver answered 500 ...")."""
    failed_at: float

    @classmethod
    def of(cls, failed: Failed) -> FailedDelivery:
        event = failed.event
        return cls(
            event_id=event.id,
            type=str(event.type),
            call_id=event.call_id,
            seq=event.seq,
            occurred_at=event.occurred_at,
            attempts=failed.attempts,
            error=failed.error,
            failed_at=failed.failed_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "call_id": self.call_id,
            "seq": self.seq,
            "occurred_at": self.occurred_at,
            "attempts": self.attempts,
            "error": self.error,
            "failed_at": self.failed_at,
        }


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    """One endpoint, now. Times are Unix seconds."""

    name: str
    url: str
    state: str
    """``delivering`` or ``failing`` (the last attempt failed)."""
    pending: int
    """Events stored and not delivered yet (sending now included)."""
    in_flight: int
    held: int
    """Calls whose next event waits for an earlier one that another server has not delivered."""
    delivered: int
    """Events delivered over the endpoint's life (kept across restarts)."""
    failed_count: int
    failed: tuple[FailedDelivery, ...]
    """The most recently given up first (as many as asked for)."""
    refused: int
    """Events not stored for this endpoint since start: it kept its maximum already."""
    last_error: str | None
    last_error_at: float | None
    last_success_at: float | None
    next_attempt_at: float | None
    """When the next retry of an event waiting out its backoff is due."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "state": self.state,
            "pending": self.pending,
            "in_flight": self.in_flight,
            "held": self.held,
            "delivered": self.delivered,
            "failed_count": self.failed_count,
            "failed": [failed.to_dict() for failed in self.failed],
            "refused": self.refused,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_success_at": self.last_success_at,
            "next_attempt_at": self.next_attempt_at,
        }
