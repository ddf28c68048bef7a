"""The supervisors' floor as a pure function of a snapshot: every live call at a glance,
sorted by how much it needs attention, the queue, and every agent.

:class:`FloorSnapshot` holds what the floor is made of (the calls as values, each with its
live quality view and transcript facts, the agents, the queue); :func:`floor_view` turns it
into the ``floor_updated`` payload, touching nothing else, so every dashboard shows the same
order for the same reasons. The rules of attention are :mod:`callcenter.attention`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from callcenter.attention import FloorAlert, LineRating, attention
from callcenter.values import CallValue
from quality.alerts import AlertKind
from quality.view import QualityView
from transcribe.alert import KEYWORD, TranscriptAlert

# A keyword alert counts as "active" on the floor for this long after it was said.
KEYWORD_SHOWN_S = 120.0
# How much of the customer's mood history a row carries.
MOOD_HISTORY = 20

_MOOD_WORDS = {
    "negative_streak": "the customer keeps sounding negative",
    "falling": "the customer's mood is falling",
}


@dataclass(frozen=True, slots=True)
class CallFacts:
    """One live call and what this node measures of it."""

    call: CallValue
    quality: QualityView | None = None
    mood: dict[str, Any] | None = None  # the customer's mood, as consoles are sent it
    transcription: str = "off"  # the transcript's state
    raised: tuple[tuple[float, TranscriptAlert], ...] = ()  # (Unix time, alert), latest


@dataclass(frozen=True, slots=True)
class FloorSnapshot:
    now: float
    calls: Sequence[CallFacts]
    agents: Sequence[dict[str, Any]]  # as their consoles see them, with "state_for_s"
    queue: dict[str, Any]


def floor_view(snapshot: FloorSnapshot) -> dict[str, Any]:
    """The ``floor_updated`` payload of ``snapshot``."""
    now = snapshot.now
    calls = [call_row(facts, now) for facts in snapshot.calls]
    calls.sort(key=lambda row: (-row["attention"]["score"], row["answered_at"] or now))
    alerts = [alert for row in calls for alert in row["alerts"]]
    alerts.sort(key=lambda alert: -int(alert["weight"]))
    agents = sorted(
        snapshot.agents, key=lambda agent: (not agent["connected"], str(agent["name"]).lower())
    )
    return {
        "server_time": now,
        "calls": calls,
        "queue": snapshot.queue,
        "agents": agents,
        "alerts": alerts,
    }


def call_row(facts: CallFacts, now: float) -> dict[str, Any]:
    """One call's row on the floor: its parties' lines, its troubles, and its attention."""
    call = facts.call
    rated = {p.participant_id: p for p in facts.quality.parties} if facts.quality else {}
    active = facts.quality.alerts if facts.quality else ()
    silent = {a.participant_id for a in active if a.kind is AlertKind.NO_AUDIO}
    alerts: list[FloorAlert] = []
    participants: list[dict[str, Any]] = []
    for party in call.participants:
        pid = party.participant_id
        rating = rated.get(pid)
        participants.append(
            {
                "participant_id": pid,
                "role": party.role,
                "name": party.name,
                "connected": party.connected,
                "media_state": party.media_state,
                # No MOS for a microphone that sends nothing (what the party hears may
                # still score well, which would read as "fine").
                "mos": None if pid in silent or rating is None else rating.mos,
                "rating": rating.rating if rating is not None else "unknown",
                "reason": rating.reason if rating is not None else "",
                # The video rated on its own (None without video): MOS is the voice's.
                "video": rating.video if rating is not None else None,
            }
        )
        if not party.connected:
            alerts.append(
                FloorAlert(
                    call.call_id,
                    "connection",
                    "disconnected",
                    party.role,
                    f"the {party.role}'s connection dropped",
                    pid,
                )
            )
    said: set[tuple[str, str]] = set()
    for alert in active:
        # One per trouble and party: the same words for two streams say it twice.
        if (alert.participant_id, alert.message) in said:
            continue
        said.add((alert.participant_id, alert.message))
        alerts.append(
            FloorAlert(
                call.call_id,
                "quality",
                alert.kind.value,
                alert.role,
                alert.message,
                alert.participant_id,
                alert.direction.value,
                alert.media,
            )
        )
    mood = None
    if facts.mood is not None:
        mood = {**facts.mood, "history": facts.mood["history"][-MOOD_HISTORY:]}
        for kind in mood["alerts"]:
            words = _MOOD_WORDS.get(kind, kind)
            alerts.append(FloorAlert(call.call_id, "sentiment", kind, "customer", words))
    for said_at, raised in facts.raised:
        if raised.kind == KEYWORD and now - said_at <= KEYWORD_SHOWN_S:
            alerts.append(
                FloorAlert(call.call_id, "keyword", KEYWORD, raised.role or None, raised.message)
            )
    lines = [LineRating(p["participant_id"], p["role"], p["rating"]) for p in participants]
    negative = mood is not None and mood.get("label") == "negative" and not mood.get("alerts")
    return {
        "call_id": call.call_id,
        "customer": {"name": call.customer.name, "subject": call.customer.subject},
        "agent": {"name": call.agent.name, "subject": call.agent.subject} if call.agent else None,
        "language": call.language,
        "media": call.media,
        "answered_at": call.answered_at,
        "recording": call.recording_state,
        "participants": participants,
        "sentiment": mood,
        "transcription": facts.transcription,
        "alerts": [alert.to_wire() for alert in alerts],
        "monitors": [
            {
                "participant_id": m.participant_id,
                "subject": m.subject,
                "name": m.name,
                "mode": m.mode.value,
            }
            for m in call.monitors
        ],
        "attention": attention(
            alerts, lines, negative_mood=negative, answered_at=call.answered_at, now=now
        ),
    }
