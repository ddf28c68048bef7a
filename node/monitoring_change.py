"""A supervisor's monitoring session started, changed mode or ended: one event, said once.

The same change goes to the audit log (who listened, whispered or barged in on which call,
from where) and to the recording's timeline (so the replay shows it), each from its own
method here, so the two never tell it differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callcenter.values import MonitorValue
from media.monitor import MonitorMode
from recording.timeline import EntryType

STEPS = frozenset(
    {EntryType.MONITOR_STARTED, EntryType.MONITOR_MODE_CHANGED, EntryType.MONITOR_ENDED}
)


@dataclass(frozen=True, slots=True)
class MonitoringChange:
    step: EntryType  # one of STEPS; also the audit log's action
    call_id: str
    participant_id: str  # the session's own id in the call's media
    subject: str
    name: str
    mode: MonitorMode  # the mode now (ended: the last one)
    previous: MonitorMode | None = None  # a mode change: the mode before
    reason: str | None = None  # an end: stopped, page_closed, call_ended, agent_lost, failed
    duration_s: float | None = None  # an end: how long the session lasted

    @classmethod
    def of(
        cls,
        step: EntryType,
        call_id: str,
        monitor: MonitorValue,
        *,
        mode: MonitorMode | None = None,
        previous: MonitorMode | None = None,
        reason: str | None = None,
        duration_s: float | None = None,
    ) -> MonitoringChange:
        """``monitor``'s session taking ``step`` (in ``mode``, default its own)."""
        return cls(
            step,
            call_id,
            monitor.participant_id,
            monitor.subject,
            monitor.name,
            mode or monitor.mode,
            previous,
            reason,
            duration_s,
        )

    def __post_init__(self) -> None:
        if self.step not in STEPS:
            raise ValueError(f"{self.step} is not a step of a monitoring session")

    def audit_details(self) -> dict[str, Any]:
        """The audit record's details."""
        details: dict[str, Any] = {"participant_id": self.participant_id, "mode": self.mode.value}
        if self.previous is not None:
            details["previous"] = self.previous.value
        if self.reason is not None:
            details["reason"] = self.reason
        if self.duration_s is not None:
            details["duration_s"] = round(self.duration_s, 1)
        return details

    def timeline_fields(self) -> dict[str, Any]:
        """The fields of the recording's timeline entry (its type is ``step``)."""
        fields: dict[str, Any] = {
            "participant_id": self.participant_id,
            "subject": self.subject,
            "name": self.name,
            "mode": self.mode.value,
        }
        if self.previous is not None:
            fields["previous"] = self.previous.value
        if self.reason is not None:
            fields["reason"] = self.reason
        return fields
