"""What the shop's backend is told about a call: one event, as it goes on the wire.

An event is made once, when it happens, and never changes: its ``id`` is how the
receiver drops a duplicate (delivery is at least once), its ``seq`` is its place
among the events of its call (the receiver can tell a late retry from news). The
body is canonical JSON, so the bytes signed are the bytes kept on disk and sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum, unique
from typing import Any

__all__ = ["EventType", "WebhookEvent"]


@unique
class EventType(StrEnum):
    CALL_QUEUED = "call.queued"
    """A customer asked for an agent and waits in the queue."""
    CALL_ANSWERED = "call.answered"
    """An agent took the call."""
    CALL_ENDED = "call.ended"
    """An answered call ended (either party hung up, or the server ended it)."""
    CALL_ABANDONED = "call.abandoned"
    """The customer left the queue before an agent took the call."""
    RECORDING_READY = "recording.ready"
    """The call's recording is finished, with its analytics."""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event of one call."""

    id: str
    """uuid4 hex; the same on every attempt, so the receiver can drop duplicates."""
    type: EventType
    call_id: str
    seq: int
    """1, 2, 3... within the call, kept growing across restarts."""
    occurred_at: float
    """Unix seconds."""
    data: Mapping[str, Any]
    """The type's own fields (docs/webhooks.md); JSON values only."""

    def to_record(self) -> dict[str, Any]:
        """The event as a JSON object, in the order the body has."""
        return {
            "id": self.id,
            "type": str(self.type),
            "call_id": self.call_id,
            "seq": self.seq,
            "occurred_at": self.occurred_at,
            "data": dict(self.data),
        }

    def to_body(self) -> bytes:
        """The exact bytes POSTed (and signed): compact JSON, UTF-8."""
        return json.dumps(self.to_record(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> WebhookEvent:
        """The event of a :meth:`to_record` object; raises ValueError, KeyError or TypeError."""
        data = record["data"]
        if not isinstance(data, dict):
            raise TypeError("an event's data is a JSON object")
        return cls(
            id=str(record["id"]),
            type=EventType(record["type"]),
            call_id=str(record["call_id"]),
            seq=int(record["seq"]),
            occurred_at=float(record["occurred_at"]),
            data=data,
        )
