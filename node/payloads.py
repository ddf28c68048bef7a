"""What each audience is sent about calls, people and agents: built here, from values, once.

Every payload comes from a value of the call centre's state (:mod:`callcenter.values`), so
a call reads the same on every socket, page and node whoever built it. The shapes are the
wire protocol's (docs/protocol.md); browsers and the Python client read them.
"""

from __future__ import annotations

from callcenter.states import CallState
from callcenter.values import AgentValue, CallValue, MonitorValue, ParticipantValue
from media.monitor import MonitorMode
from media.peer import Offer

from .notifier import Payload

SUPERVISOR = "supervisor"


def participant_payload(party: ParticipantValue) -> Payload:
    """A party of the call as everyone in it sees them."""
    return {
        "participant_id": party.participant_id,
        "role": party.role,
        "name": party.name,
        "connected": party.connected,
        "media_state": party.media_state,
        "audio_enabled": party.audio_enabled,
        "video_enabled": party.video_enabled,
        "screen_sharing": party.screen_sharing,
    }


def monitor_payload(monitor: MonitorValue) -> Payload:
    """What the agent and other staff see of a supervisor monitoring: who, and how."""
    return {
        "participant_id": monitor.participant_id,
        "subject": monitor.subject,
        "name": monitor.name,
        "mode": monitor.mode.value,
        "started_at": monitor.started_at,
        "mode_since": monitor.mode_since,
        "media_state": monitor.media_state,
    }


def barging_payload(monitor: MonitorValue) -> Payload:
    """What the customer sees of a supervisor who barged in: a third participant."""
    return {
        "participant_id": monitor.participant_id,
        "role": SUPERVISOR,
        "name": monitor.name,
        "connected": True,
        "media_state": monitor.media_state,
        "audio_enabled": True,
        "video_enabled": False,
        "screen_sharing": False,
    }


def call_payload(call: CallValue) -> Payload:
    """What the participants (and staff) see of the call.

    Safe for the customer: a supervisor appears only while barging in (listening and
    whispering supervisors are told to the agent apart, in ``monitor_updated``).
    """
    barging = [barging_payload(m) for m in call.monitors if m.mode is MonitorMode.BARGE]
    return {
        "call_id": call.call_id,
        "state": call.state.value,
        "language": call.language,
        "media": call.media,
        "created_at": call.created_at,
        "queued_at": call.queued_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "end_reason": call.end_reason.value if call.end_reason else None,
        "ended_by": call.ended_by,
        "recording": call.recording_state,
        "hold": hold_payload(call),
        "requeued_at": call.requeued_at,
        "participants": [participant_payload(p) for p in call.participants] + barging,
    }


def hold_payload(call: CallValue) -> Payload:
    """Whether the customer is on hold now (since when), and the holds so far."""
    return {
        "on": call.held_since is not None,
        "since": call.held_since,
        "total_s": round(call.hold_s, 3),
        "count": call.holds,
    }


def queue_entry_payload(call: CallValue, now: float) -> Payload:
    """What agents see of a waiting call."""
    return {
        "call_id": call.call_id,
        "customer_name": call.customer.name,
        "language": call.language,
        "media": call.media,
        "waiting_s": round(now - (call.queued_at or now), 1),
        "offered": call.state is CallState.OFFERED,
        "requeued": call.requeued_at is not None,
    }


def ended_payload(call: CallValue) -> Payload:
    """``call_ended``: why, by whom, and the call as it ended."""
    return {
        "call_id": call.call_id,
        "reason": call.end_reason.value if call.end_reason else None,
        "ended_by": call.ended_by,
        "call": call_payload(call),
    }


def agent_payload(agent: AgentValue, *, connected: bool) -> Payload:
    """An agent as their console and the floor see them (``connected``: a socket is open)."""
    return {
        "subject": agent.subject,
        "name": agent.name,
        "state": agent.state.value,
        "call_id": agent.call_id,
        "connected": connected,
    }


def offer_payload(call_id: str, offer: Offer) -> Payload:
    """``media_offer``: the server's SDP offer and what each of its m-lines carries."""
    return {
        "call_id": call_id,
        "peer_id": offer.peer_id,
        "offer_id": offer.offer_id,
        "description": {"type": "offer", "sdp": offer.sdp},
        "slots": [
            {
                "mid": slot.mid,
                "kind": slot.kind,
                "direction": slot.direction.value,
                "participant_id": slot.participant_id,
                "source": slot.source,
            }
            for slot in offer.slots
        ],
    }
