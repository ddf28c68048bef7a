"""What changes inside a call in progress, as changes of the registry: the parties' presence
and media, the agent's tags, the recording's state, and the supervisors monitoring it.

Each function returns a :class:`~callcenter.lifecycle.Change`; a change refuses with
:class:`~callcenter.lifecycle.Refused`, in words, and then writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from media.monitor import MonitorMode

from .lifecycle import Change, Refused
from .registry import Draft
from .states import CallState
from .values import CallValue, MonitorValue, ParticipantValue

# What a party's change may set: presence and what they send.
PARTY_FIELDS = frozenset(
    {"connected", "media_state", "audio_enabled", "video_enabled", "screen_sharing"}
)
RECORDING_STATES = frozenset({"off", "recording", "paused", "stopped"})


def _live(draft: Draft, call_id: str) -> CallValue:
    call = draft.call(call_id)
    if call is None:
        raise Refused("not_found", f"there is no call {call_id}")
    if call.state is CallState.ENDED:
        raise Refused("call_state", f"call {call_id} has ended")
    return call


def update_party(call_id: str, participant_id: str, **fields: Any) -> Change[CallValue]:
    """A party connected or dropped, their media connected or failed, they muted, turned
    the camera off or shared a screen: ``fields`` of :data:`PARTY_FIELDS`."""
    unknown = set(fields) - PARTY_FIELDS
    if unknown:
        raise ValueError(f"a party's change cannot set {', '.join(sorted(unknown))}")

    def apply(draft: Draft) -> CallValue:
        call = _live(draft, call_id)
        if call.customer.participant_id == participant_id:
            return draft.put_call(replace(call, customer=replace(call.customer, **fields)))
        if call.agent is not None and call.agent.participant_id == participant_id:
            return draft.put_call(replace(call, agent=replace(call.agent, **fields)))
        raise Refused("forbidden", f"{participant_id} is not in call {call_id}")

    return Change(apply, calls=(call_id,))


def tag(call_id: str, tags: list[str]) -> Change[CallValue]:
    """The agent tags the call (tags are kept once each, in order)."""

    def apply(draft: Draft) -> CallValue:
        call = _live(draft, call_id)
        if call.state is not CallState.ACTIVE:
            raise Refused("call_state", f"the call is {call.state}; tag it while it is live")
        return draft.put_call(replace(call, tags=tuple(sorted(set(call.tags) | set(tags)))))

    return Change(apply, calls=(call_id,))


def move_media(call_id: str, from_node: str | None, to_node: str) -> Change[CallValue]:
    """The node that held the call's media is gone: it moves to ``to_node``. Refused when
    another node moved it first (its media is no longer on ``from_node``). The parties'
    media starts afresh there; supervisors' sessions were on the old node and are gone."""

    def apply(draft: Draft) -> CallValue:
        call = _live(draft, call_id)
        if call.media_node != from_node:
            raise Refused("moved", f"the call's media is on {call.media_node} now")
        customer = replace(call.customer, media_state="new")
        agent = replace(call.agent, media_state="new") if call.agent is not None else None
        return draft.put_call(
            replace(call, media_node=to_node, customer=customer, agent=agent, monitors=())
        )

    return Change(apply, calls=(call_id,))


def set_recording(call_id: str, state: str) -> Change[CallValue]:
    """The call's recording is ``state`` (its recorder says so: started, paused, stopped)."""
    if state not in RECORDING_STATES:
        raise ValueError(f"a recording is not {state!r}")

    def apply(draft: Draft) -> CallValue:
        call = draft.call(call_id)
        if call is None:
            raise Refused("not_found", f"there is no call {call_id}")
        return draft.put_call(replace(call, recording_state=state))

    return Change(apply, calls=(call_id,))


def hold(call_id: str, on: bool, now: float) -> Change[CallValue]:
    """The agent puts the customer on hold (``on``) or takes them off it."""

    def apply(draft: Draft) -> CallValue:
        call = _live(draft, call_id)
        if call.state is not CallState.ACTIVE:
            raise Refused("call_state", f"the call is {call.state}; only a live call is held")
        if on == (call.held_since is not None):
            held = "on hold already" if on else "not on hold"
            raise Refused("call_state", f"the customer is {held}")
        return draft.put_call(call.on_hold(on, now))

    return Change(apply, calls=(call_id,))


def add_monitor(call_id: str, monitor: MonitorValue) -> Change[CallValue]:
    """A supervisor starts monitoring a call in progress (one session per supervisor)."""

    def apply(draft: Draft) -> CallValue:
        call = _live(draft, call_id)
        if call.state is not CallState.ACTIVE:
            raise Refused("call_state", "only a call in progress can be monitored")
        if any(m.subject == monitor.subject for m in call.monitors):
            raise Refused("already_monitoring", f"{monitor.name} already monitors this call")
        return draft.put_call(replace(call, monitors=(*call.monitors, monitor)))

    return Change(apply, calls=(call_id,))


def update_monitor(
    call_id: str,
    participant_id: str,
    *,
    mode: MonitorMode | None = None,
    media_state: str | None = None,
    now: float,
) -> Change[CallValue]:
    """A monitoring session changes mode (listen, whisper, barge) or its media's state."""

    def change(monitor: MonitorValue) -> MonitorValue:
        if mode is not None and mode is not monitor.mode:
            monitor = replace(monitor, mode=mode, mode_since=now)
        if media_state is not None:
            monitor = replace(monitor, media_state=media_state)
        return monitor

    return _each_monitor(call_id, participant_id, change)


def remove_monitor(call_id: str, participant_id: str) -> Change[CallValue]:
    """A monitoring session ends (the supervisor stopped, left, or the call ended)."""
    return _each_monitor(call_id, participant_id, None)


def _each_monitor(
    call_id: str,
    participant_id: str,
    change: Callable[[MonitorValue], MonitorValue] | None,
) -> Change[CallValue]:
    def apply(draft: Draft) -> CallValue:
        call = draft.call(call_id)
        if call is None:
            raise Refused("not_found", f"there is no call {call_id}")
        if not any(m.participant_id == participant_id for m in call.monitors):
            raise Refused("not_monitoring", f"{participant_id} does not monitor call {call_id}")
        kept: list[MonitorValue] = []
        for monitor in call.monitors:
            if monitor.participant_id != participant_id:
                kept.append(monitor)
            elif change is not None:
                kept.append(change(monitor))
        return draft.put_call(replace(call, monitors=tuple(kept)))

    return Change(apply, calls=(call_id,))


def party_of(call: CallValue, participant_id: str) -> ParticipantValue | None:
    """The party (customer, agent, or an agent who left) publishing as ``participant_id``."""
    parties = (*call.participants, *call.former_agents)
    return next((p for p in parties if p.participant_id == participant_id), None)


def monitor_of(call: CallValue, participant_id: str) -> MonitorValue | None:
    """The monitoring session publishing as ``participant_id``, if there is one."""
    return next((m for m in call.monitors if m.participant_id == participant_id), None)


def speaker_of(call: CallValue | None, participant_id: str) -> tuple[str, str] | None:
    """Role and name of whoever publishes as ``participant_id``: a party (or an agent who
    left) or a supervisor; None for nobody of this call."""
    if call is None:
        return None
    party = party_of(call, participant_id)
    if party is not None:
        return party.role, party.name
    monitor = monitor_of(call, participant_id)
    return ("supervisor", monitor.name) if monitor is not None else None
