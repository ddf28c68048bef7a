"""The supervisors' floor as a pure function of a snapshot: every live call at a glance,
sorted by how much it needs attention, the queue, and every agent.

:class:`FloorSnapshot` holds what the floor is made of (the calls as values, each with its
live quality view and transcript facts, the agents, the queue); :func:`floor_view` turns it
into the ``floor_updated`` payload, touching nothing else, so every dashboard shows the same
order for the same reasons. The rules of attention are :mod:`callcenter.attention`'s.

With many nodes a call's figures (its lines' ratings, its mood, its transcript's state and
the alerts they raise) are measured by the node that owns its media: :func:`figures_of` is
the part of its row that node sends the others, and a :class:`CallFacts` with ``measured``
makes a row of them on any node, with that node's own view of the call (who is in it, who
monitors it, whose connection dropped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from callcenter.attention import FloorAlert, LineRating, attention
from callcenter.nodes import NodeValue
from callcenter.values import CallValue
from categories import Match
from quality.alerts import AlertKind
from quality.view import QualityView
from transcribe.alert import KEYWORD, TranscriptAlert

from .payloads import hold_payload

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
    categories: tuple[Match, ...] = ()  # the operator's categories it met so far
    measured: Mapping[str, Any] | None = None
    """What the call's owner (another node) measured of it (:func:`figures_of` its row),
    used instead of the four above."""


@dataclass(frozen=True, slots=True)
class FloorSnapshot:
    now: float
    calls: Sequence[CallFacts]
    agents: Sequence[dict[str, Any]]  # as their consoles see them, with "state_for_s"
    queue: dict[str, Any]
    nodes: Sequence[dict[str, Any]] = ()  # the live nodes, as node_row makes them


@dataclass(frozen=True, slots=True)
class _Measured:
    """A call's figures, measured here or by its owner: what its row shows of them."""

    lines: Mapping[str, Mapping[str, Any]]  # participant id: mos, rating, reason, video
    alerts: list[FloorAlert]  # quality, mood and keyword alerts, in the row's order
    mood: dict[str, Any] | None
    transcription: str
    categories: list[dict[str, Any]]  # Match.to_wire() of each category met, in order


# At most this many of a call's categories travel to the other nodes' floors.
MAX_CATEGORIES = 50
# What a row says of a party's line before anyone measured it.
_UNRATED: dict[str, Any] = {"mos": None, "rating": "unknown", "reason": "", "video": None}
_LINE_KEYS = tuple(_UNRATED)


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
        "nodes": list(snapshot.nodes),
    }


def node_row(node: NodeValue) -> dict[str, Any]:
    """One node and its load, as the floor lists it."""
    return {
        "node_id": node.node_id,
        "calls": node.calls,
        "capacity": node.capacity,
        "headroom": round(node.headroom, 3),
        "loop_lag_ms": round(node.loop_lag_ms),
        "draining": node.draining,
    }


def call_row(facts: CallFacts, now: float) -> dict[str, Any]:
    """One call's row on the floor: its parties' lines, its troubles, and its attention."""
    call = facts.call
    measured = _measured_here(facts, now) if facts.measured is None else _measured_by_owner(facts)
    alerts: list[FloorAlert] = []
    participants: list[dict[str, Any]] = []
    for party in call.participants:
        pid = party.participant_id
        participants.append(
            {
                "participant_id": pid,
                "role": party.role,
                "name": party.name,
                "connected": party.connected,
                "media_state": party.media_state,
                **measured.lines.get(pid, _UNRATED),
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
    alerts.extend(measured.alerts)
    mood = measured.mood
    lines = [LineRating(p["participant_id"], p["role"], p["rating"]) for p in participants]
    negative = mood is not None and mood.get("label") == "negative" and not mood.get("alerts")
    return {
        "call_id": call.call_id,
        "customer": {"name": call.customer.name, "subject": call.customer.subject},
        "agent": {"name": call.agent.name, "subject": call.agent.subject} if call.agent else None,
        "language": call.language,
        "media": call.media,
        "node": call.media_node,
        "answered_at": call.answered_at,
        "recording": call.recording_state,
        "hold": hold_payload(call),
        "participants": participants,
        "sentiment": mood,
        "transcription": measured.transcription,
        "categories": measured.categories,
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


def _measured_here(facts: CallFacts, now: float) -> _Measured:
    """What this node measures of a call whose media it has."""
    call = facts.call
    rated = {p.participant_id: p for p in facts.quality.parties} if facts.quality else {}
    active = facts.quality.alerts if facts.quality else ()
    silent = {a.participant_id for a in active if a.kind is AlertKind.NO_AUDIO}
    lines = {
        pid: {
            # No MOS for a microphone that sends nothing (what the party hears may still
            # score well, which would read as "fine").
            "mos": None if pid in silent else rating.mos,
            "rating": rating.rating,
            "reason": rating.reason,
            # The video rated on its own (None without video): MOS is the voice's.
            "video": rating.video,
        }
        for pid, rating in rated.items()
    }
    alerts: list[FloorAlert] = []
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
    for match in facts.categories:
        if match.alert:
            kind = f"category_{match.severity.value}"
            words = f"{match.category}: {match.evidence}"
            alerts.append(FloorAlert(call.call_id, "category", kind, None, words))
    categories = [m.to_wire() for m in facts.categories]
    return _Measured(lines, alerts, mood, facts.transcription, categories)


def _measured_by_owner(facts: CallFacts) -> _Measured:
    """What the call's owner (another node) measured, as :func:`figures_of` its row."""
    assert facts.measured is not None
    figures = facts.measured
    call_id = facts.call.call_id
    alerts = [
        FloorAlert(
            call_id,
            a["source"],
            a["kind"],
            a.get("role"),
            a["message"],
            a.get("participant_id"),
            a.get("direction"),
            a.get("kind_of_media"),
        )
        for a in figures["alerts"]
    ]
    return _Measured(
        figures["participants"],
        alerts,
        figures["sentiment"],
        figures["transcription"],
        figures.get("categories", []),
    )


def figures_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """What the node that owns a call's media measured of it: the part of its row the other
    nodes cannot make themselves (small: what they know of the call they take from theirs)."""
    return {
        "call_id": row["call_id"],
        "participants": {
            p["participant_id"]: {key: p[key] for key in _LINE_KEYS} for p in row["participants"]
        },
        "sentiment": row["sentiment"],
        "transcription": row["transcription"],
        "categories": row["categories"],
        # Each node knows the call's id and the weights: an alert goes without them.
        "alerts": [
            {k: v for k, v in a.items() if k not in ("call_id", "weight")}
            for a in row["alerts"]
            if a["source"] != "connection"
        ],
    }


def figures_from_wire(wire: object) -> dict[str, Any] | None:
    """Another node's :func:`figures_of` one call, checked (None: not in that shape, as from
    a node of another version; the call's row is then made without them)."""
    if not isinstance(wire, Mapping):
        return None
    call_id, lines, mood = wire.get("call_id"), wire.get("participants"), wire.get("sentiment")
    transcription, alerts = wire.get("transcription"), wire.get("alerts")
    if not (
        isinstance(call_id, str)
        and isinstance(lines, Mapping)
        and all(isinstance(line, Mapping) for line in lines.values())
        and (mood is None or isinstance(mood, Mapping))
        and isinstance(transcription, str)
        and isinstance(alerts, list)
        and all(_is_alert(a) for a in alerts)
    ):
        return None
    return {
        "call_id": call_id,
        "participants": {
            str(pid): {key: line.get(key, _UNRATED[key]) for key in _LINE_KEYS}
            for pid, line in lines.items()
        },
        "sentiment": None if mood is None else dict(mood),
        "transcription": transcription,
        "alerts": alerts,
        "categories": _categories_from_wire(wire.get("categories")),
    }


def _categories_from_wire(wire: object) -> list[dict[str, Any]]:
    """Another node's categories of a call, those in a known shape (an older node: none)."""
    if not isinstance(wire, list):
        return []
    found = []
    for item in wire[:MAX_CATEGORIES]:
        try:
            found.append(Match.from_wire(item).to_wire())
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return found


def _is_alert(alert: object) -> bool:
    return isinstance(alert, Mapping) and all(
        isinstance(alert.get(key), str) for key in ("source", "kind", "message")
    )
