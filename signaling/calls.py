"""A support call and the people in it."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field

from callcenter.states import NEXT_CALL_STATES, CallState, EndReason
from callcenter.values import CallValue, MonitorValue, ParticipantValue
from media.monitor import MonitorMode

from .auth import Role
from .payloads import (
    barging_payload,
    call_payload,
    monitor_payload,
    participant_payload,
    queue_entry_payload,
)

logger = logging.getLogger(__name__)

__all__ = ["Call", "CallState", "EndReason", "Monitor", "Participant"]


@dataclass(slots=True)
class Participant:
    """Someone in a call, with what the others should see of them."""

    participant_id: str
    role: Role
    subject: str
    name: str
    connected: bool = True
    media_state: str = "new"
    audio_enabled: bool = True
    video_enabled: bool = True
    screen_sharing: bool = False
    media_joins: int = 0
    """How often the participant started media (more than once: rejoined)."""

    def to_value(self) -> ParticipantValue:
        return ParticipantValue(
            participant_id=self.participant_id,
            role=self.role.value,
            subject=self.subject,
            name=self.name,
            connected=self.connected,
            media_state=self.media_state,
            audio_enabled=self.audio_enabled,
            video_enabled=self.video_enabled,
            screen_sharing=self.screen_sharing,
            media_joins=self.media_joins,
        )

    def to_wire(self) -> dict[str, object]:
        return participant_payload(self.to_value())


@dataclass(slots=True)
class Monitor:
    """A supervisor monitoring a call: a hidden member of it until they barge.

    Each monitoring session gets a participant id of its own, so the media
    m-lines of an earlier session are never mistaken for this one's.
    """

    participant_id: str
    subject: str
    name: str
    mode: MonitorMode
    sid: str
    """The socket that owns the session: when it closes, the session ends."""
    source: str | None
    """The supervisor's address, as the server saw it (for the audit log)."""
    started_at: float = field(default_factory=time.time)
    mode_since: float = field(default_factory=time.time)
    media_state: str = "new"

    @property
    def role(self) -> Role:
        return Role.SUPERVISOR

    def to_value(self) -> MonitorValue:
        return MonitorValue(
            participant_id=self.participant_id,
            subject=self.subject,
            name=self.name,
            mode=self.mode,
            sid=self.sid,
            source=self.source,
            started_at=self.started_at,
            mode_since=self.mode_since,
            media_state=self.media_state,
        )

    def to_wire(self) -> dict[str, object]:
        """What the agent and other staff see: who is monitoring, and how."""
        return monitor_payload(self.to_value())

    def as_participant(self) -> dict[str, object]:
        """What the customer sees of a supervisor who barged in: a third participant."""
        return barging_payload(self.to_value())


@dataclass(slots=True)
class Call:
    call_id: str
    customer: Participant
    language: str
    media: str
    metadata: dict[str, str] = field(default_factory=dict)
    state: CallState = CallState.CREATED
    created_at: float = field(default_factory=time.time)
    queued_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: EndReason | None = None
    ended_by: str | None = None
    """The participant who ended the call, when one did."""
    agent: Participant | None = None
    recording_state: str = "off"
    """off, recording, paused or stopped (set by the call's recorder)."""
    tags: list[str] = field(default_factory=list)
    """The agent's tags; for finding the recording, never shown to the customer."""
    quality: dict[str, object] | None = None
    """The quality summary, once the call has ended (average and worst MOS, loss, alerts)."""
    offered_to: str | None = None
    declined_by: set[str] = field(default_factory=set)
    queued_from: str | None = None
    """The address the customer queued from, while the call waits (one address's share)."""
    monitors: dict[str, Monitor] = field(default_factory=dict)
    """Supervisors monitoring the call, by participant id (hidden until they barge)."""
    requeued_at: float | None = None
    """Set while the call waits again because its agent's connection was lost: it goes
    to the head of the queue. Cleared when the next agent takes it."""
    former_agents: list[Participant] = field(default_factory=list)
    """Agents who left the call before it ended; what they said stays theirs."""

    @staticmethod
    def new_id() -> str:
        return "c_" + secrets.token_hex(8)

    @property
    def participants(self) -> list[Participant]:
        return [p for p in (self.customer, self.agent) if p is not None]

    def participant(self, participant_id: str) -> Participant | None:
        return next((p for p in self.participants if p.participant_id == participant_id), None)

    def speaker(self, participant_id: str) -> tuple[Role, str] | None:
        """Role and name of whoever publishes as ``participant_id``: a party or a supervisor."""
        party = self.participant(participant_id) or next(
            (p for p in self.former_agents if p.participant_id == participant_id), None
        )
        if party is not None:
            return party.role, party.name
        monitor = self.monitors.get(participant_id)
        return (monitor.role, monitor.name) if monitor is not None else None

    def set_state(self, state: CallState) -> None:
        if state is self.state:
            return
        if state not in NEXT_CALL_STATES[self.state]:
            raise RuntimeError(f"Call({self.call_id}) cannot go from {self.state} to {state}")
        logger.info("Call(%s) %s -> %s", self.call_id, self.state.value, state.value)
        self.state = state
        now = time.time()
        if state is CallState.QUEUED and self.queued_at is None:
            self.queued_at = now
        elif state is CallState.ACTIVE and self.answered_at is None:
            self.answered_at = now  # a call taken again keeps its first answer
        elif state is CallState.ENDED:
            self.ended_at = now

    def to_value(self) -> CallValue:
        """The call as a value of the call centre's state (what the registry keeps)."""
        return CallValue(
            call_id=self.call_id,
            customer=self.customer.to_value(),
            language=self.language,
            media=self.media,
            created_at=self.created_at,
            metadata=dict(self.metadata),
            state=self.state,
            queued_at=self.queued_at,
            answered_at=self.answered_at,
            ended_at=self.ended_at,
            end_reason=self.end_reason,
            ended_by=self.ended_by,
            agent=self.agent.to_value() if self.agent is not None else None,
            recording_state=self.recording_state,
            tags=tuple(self.tags),
            offered_to=self.offered_to,
            declined_by=frozenset(self.declined_by),
            queued_from=self.queued_from,
            monitors=tuple(m.to_value() for m in self.monitors.values()),
            requeued_at=self.requeued_at,
            former_agents=tuple(p.to_value() for p in self.former_agents),
        )

    def to_wire(self) -> dict[str, object]:
        """What the participants (and staff) see of the call (see payloads.call_payload)."""
        return call_payload(self.to_value())

    def to_queue_entry(self, now: float) -> dict[str, object]:
        """What agents see of a waiting call."""
        return queue_entry_payload(self.to_value(), now)
