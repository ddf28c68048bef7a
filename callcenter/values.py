"""Calls, the people in them, agents and the queue as plain values.

Frozen dataclasses with wall-clock times (``time.time()``, never ``time.monotonic()``: a
value is read on other nodes and after restarts). Nobody changes a value in place: a change
reads values from the registry, makes new ones with :func:`dataclasses.replace` and writes
them back with their version (see :mod:`callcenter.registry`). Each value turns into a
record of msgpack-able types and back, field by field.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from media.monitor import MonitorMode

from .states import NEXT_CALL_STATES, AgentState, CallState, EndReason

Record = dict[str, Any]


def new_call_id() -> str:
    return "c_" + secrets.token_hex(8)


def new_participant_id() -> str:
    """A party's or a monitoring session's id in one call (fresh for each session)."""
    return "p_" + secrets.token_hex(5)


class IllegalTransitionError(ValueError):
    """A change asked for a state that may not follow the current one: a bug in the change."""


@dataclass(frozen=True, slots=True)
class ParticipantValue:
    """Someone in a call, with what the others should see of them."""

    participant_id: str
    role: str  # "customer" or "agent" (a supervisor in a call is a MonitorValue)
    subject: str
    name: str
    connected: bool = True
    media_state: str = "new"
    audio_enabled: bool = True
    video_enabled: bool = True
    screen_sharing: bool = False
    media_joins: int = 0
    """How often the participant started media (more than once: rejoined)."""

    def to_record(self) -> Record:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_record(cls, record: Record) -> ParticipantValue:
        return cls(**{k: v for k, v in record.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class MonitorValue:
    """A supervisor monitoring a call: a hidden member of it until they barge."""

    participant_id: str
    subject: str
    name: str
    mode: MonitorMode
    sid: str
    """The socket that owns the session (on the node that holds it)."""
    source: str | None
    """The supervisor's address, as the server saw it (for the audit log)."""
    started_at: float
    mode_since: float
    media_state: str = "new"

    def to_record(self) -> Record:
        record = {name: getattr(self, name) for name in self.__dataclass_fields__}
        record["mode"] = self.mode.value
        return record

    @classmethod
    def from_record(cls, record: Record) -> MonitorValue:
        fields = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "mode": MonitorMode(record["mode"])})


@dataclass(frozen=True, slots=True)
class CallValue:
    """A support call: who is in it, where it stands, and which node holds its media."""

    call_id: str
    customer: ParticipantValue
    language: str
    media: str  # "audio" or "video"
    created_at: float
    metadata: Mapping[str, str] = field(default_factory=dict)
    state: CallState = CallState.CREATED
    queued_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: EndReason | None = None
    ended_by: str | None = None
    agent: ParticipantValue | None = None
    recording_state: str = "off"
    tags: tuple[str, ...] = ()
    offered_to: str | None = None
    declined_by: frozenset[str] = frozenset()
    queued_from: str | None = None
    monitors: tuple[MonitorValue, ...] = ()
    requeued_at: float | None = None
    former_agents: tuple[ParticipantValue, ...] = ()
    media_node: str | None = None
    """The node that owns the call's media (its room, recording, taps); None before any."""
    held_since: float | None = None
    """The agent put the customer on hold then (None: not on hold now)."""
    hold_s: float = 0.0
    """Time on hold before ``held_since`` (holds that ended)."""
    holds: int = 0
    """How many times the customer was put on hold."""
    version: int = 0
    """The registry's count of writes of this call; 0 for a call never written."""

    @property
    def participants(self) -> tuple[ParticipantValue, ...]:
        return (self.customer,) if self.agent is None else (self.customer, self.agent)

    def hold_total_s(self, now: float) -> float:
        """Time on hold so far, the hold going on included."""
        return self.hold_s + (max(0.0, now - self.held_since) if self.held_since else 0.0)

    def on_hold(self, on: bool, now: float) -> CallValue:
        """This call with the customer put on hold (``on``) or taken off it."""
        if on == (self.held_since is not None):
            return self
        if on:
            return replace(self, held_since=now, holds=self.holds + 1)
        return replace(self, held_since=None, hold_s=self.hold_total_s(now))

    def moved_to(self, state: CallState, now: float) -> CallValue:
        """This call in ``state`` (with the time stamps that state sets)."""
        if state is self.state:
            return self
        if state not in NEXT_CALL_STATES[self.state]:
            raise IllegalTransitionError(
                f"call {self.call_id} cannot go from {self.state} to {state}"
            )
        changes: dict[str, Any] = {"state": state}
        if state is CallState.QUEUED and self.queued_at is None:
            changes["queued_at"] = now
        elif state is CallState.ACTIVE and self.answered_at is None:
            changes["answered_at"] = now  # a call taken again keeps its first answer
        elif state is CallState.ENDED:
            changes["ended_at"] = now
        if state is not CallState.ACTIVE and self.held_since is not None:
            # A hold ends with the call, or when the agent leaves it to the queue.
            changes.update(held_since=None, hold_s=self.hold_total_s(now))
        return replace(self, **changes)

    def to_record(self) -> Record:
        return {
            "call_id": self.call_id,
            "customer": self.customer.to_record(),
            "language": self.language,
            "media": self.media,
            "created_at": self.created_at,
            "metadata": dict(self.metadata),
            "state": self.state.value,
            "queued_at": self.queued_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "end_reason": self.end_reason.value if self.end_reason else None,
            "ended_by": self.ended_by,
            "agent": self.agent.to_record() if self.agent else None,
            "recording_state": self.recording_state,
            "tags": list(self.tags),
            "offered_to": self.offered_to,
            "declined_by": sorted(self.declined_by),
            "queued_from": self.queued_from,
            "monitors": [m.to_record() for m in self.monitors],
            "requeued_at": self.requeued_at,
            "former_agents": [p.to_record() for p in self.former_agents],
            "media_node": self.media_node,
            "held_since": self.held_since,
            "hold_s": self.hold_s,
            "holds": self.holds,
            "version": self.version,
        }

    @classmethod
    def from_record(cls, record: Record) -> CallValue:
        agent = record.get("agent")
        end_reason = record.get("end_reason")
        return cls(
            call_id=record["call_id"],
            customer=ParticipantValue.from_record(record["customer"]),
            language=record["language"],
            media=record["media"],
            created_at=record["created_at"],
            metadata=dict(record.get("metadata") or {}),
            state=CallState(record["state"]),
            queued_at=record.get("queued_at"),
            answered_at=record.get("answered_at"),
            ended_at=record.get("ended_at"),
            end_reason=EndReason(end_reason) if end_reason else None,
            ended_by=record.get("ended_by"),
            agent=ParticipantValue.from_record(agent) if agent else None,
            recording_state=record.get("recording_state", "off"),
            tags=tuple(record.get("tags") or ()),
            offered_to=record.get("offered_to"),
            declined_by=frozenset(record.get("declined_by") or ()),
            queued_from=record.get("queued_from"),
            monitors=tuple(MonitorValue.from_record(m) for m in record.get("monitors") or ()),
            requeued_at=record.get("requeued_at"),
            former_agents=tuple(
                ParticipantValue.from_record(p) for p in record.get("former_agents") or ()
            ),
            media_node=record.get("media_node"),
            held_since=record.get("held_since"),
            hold_s=float(record.get("hold_s") or 0.0),
            holds=int(record.get("holds") or 0),
            version=record.get("version", 0),
        )


@dataclass(frozen=True, slots=True)
class AgentValue:
    """An agent as the whole call centre sees them (their sockets are their node's)."""

    subject: str
    name: str
    state: AgentState = AgentState.AWAY
    state_since: float = 0.0
    call_id: str | None = None
    lost_call: str | None = None
    """The call that went back to the queue when this agent's connection was lost, until
    they say what they do next (Available or Away): their console tells them."""
    version: int = 0

    def moved_to(self, state: AgentState, now: float, call_id: str | None = None) -> AgentValue:
        """This agent in ``state`` (``state_since`` moves only when the state does)."""
        since = self.state_since if state is self.state else now
        return replace(self, state=state, state_since=since, call_id=call_id)

    def to_record(self) -> Record:
        return {
            "subject": self.subject,
            "name": self.name,
            "state": self.state.value,
            "state_since": self.state_since,
            "call_id": self.call_id,
            "lost_call": self.lost_call,
            "version": self.version,
        }

    @classmethod
    def from_record(cls, record: Record) -> AgentValue:
        return cls(
            subject=record["subject"],
            name=record["name"],
            state=AgentState(record["state"]),
            state_since=record.get("state_since", 0.0),
            call_id=record.get("call_id"),
            lost_call=record.get("lost_call"),
            version=record.get("version", 0),
        )


# Calls whose agent's connection was lost wait ahead of every first-time caller; among
# themselves, and among first-time callers, in the order they first queued.
_REQUEUED_AHEAD_S = 1e10


@dataclass(frozen=True, slots=True, order=True)
class QueueEntry:
    """A waiting call's place: by ``score`` (lower first), then by id."""

    score: float
    call_id: str

    @staticmethod
    def score_of(queued_at: float, *, requeued: bool = False) -> float:
        return queued_at - _REQUEUED_AHEAD_S if requeued else queued_at
