"""What the shop's backend is told about a call: one event, as it goes on the wire.

An event is made once, when it happens, and never changes: its ``id`` is how the
receiver drops a duplicate (delivery is at least once), its ``seq`` is its place
among the events of its call (the receiver can tell a late retry from news). The
body is canonical JSON, so the bytes signed are the bytes kept on disk and sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum, unique
from typing import Any

__all__ = ["EventType", "Follow", "WebhookEvent"]


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
class Follow:
    """An earlier event of the same call that must reach a receiver first, if it wants it."""

    seq: int
    type: EventType


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event of one call."""

    id: str
    """uuid4 hex; the same on every attempt, so the receiver can drop duplicates."""
    type: EventType
    call_id: str
    seq: int
    """Its place among the call's events: the publisher's (the same on every server that
    publishes the call's events), or counted 1, 2, 3... on this one, across restarts."""
    occurred_at: float
    """Unix seconds."""
    data: Mapping[str, Any]
    """The type's own fields (docs/webhooks.md); JSON values only."""
    follows: tuple[Follow, ...] = ()
    """The events of the call, possibly published by other nodes, that go before this one
    (nearest first). Kept with the event, never sent: it is how a delivery knows what to
    wait for (see :class:`~webhooks.order.DeliveryOrder`)."""

    def after(self, wants: Callable[[EventType], bool]) -> int:
        """The ``seq`` this event waits for at a receiver that ``wants`` those types (0: none)."""
        return next((f.seq for f in self.follows if wants(f.type)), 0)

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

    def to_stored(self) -> dict[str, Any]:
        """The event as kept on disk: the body's fields and what it follows."""
        record = self.to_record()
        if self.follows:
            record["follows"] = [[f.seq, str(f.type)] for f in self.follows]
        return record

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
            follows=tuple(
                Follow(int(seq), EventType(kind)) for seq, kind in record.get("follows") or ()
            ),
        )
