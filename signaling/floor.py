"""The supervisors' floor: every live call at a glance, the queue and every agent.

Once a second, and soon after anything changes (a call starts or ends, an
agent goes away, a supervisor barges in), every supervisor's and admin's
socket gets ``floor_updated``: one snapshot, sorted by how much each call
needs attention, so every dashboard shows the same order for the same
reasons. The snapshot only reads what the switchboard, the quality monitor
and the transcription already keep; building it touches no media.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quality.alerts import AlertKind

from .calls import Call, CallState
from .events import ServerEvent

if TYPE_CHECKING:
    from .switchboard import Switchboard

logger = logging.getLogger(__name__)

# A snapshot goes out at least this often while something in it changes...
INTERVAL_S = 1.0
# ...and this soon after a change is announced (changes in a burst give one snapshot).
SETTLE_S = 0.15
# A keyword alert counts as "active" on the floor for this long after it was said.
KEYWORD_SHOWN_S = 120.0
# A call this long is worth a look even when nothing else is wrong.
LONG_CALL_S = 15 * 60

# How much each kind of trouble weighs when calls are sorted by "needs attention".
WEIGHTS = {
    "disconnected": 5,
    "no_audio": 4,
    "high_loss": 3,
    "low_mos": 3,
    "high_jitter": 2,
    "high_rtt": 2,
    "negative_streak": 3,
    "falling": 2,
    "keyword": 1,
    "poor_line": 2,
    "fair_line": 1,
    "negative_mood": 1,
    "long_call": 1,
}


@dataclass(frozen=True, slots=True)
class FloorAlert:
    """One reason a call needs a supervisor's eye, in words, with what it is about."""

    call_id: str
    source: str  # quality, sentiment, keyword, connection
    kind: str
    role: str | None
    message: str
    participant_id: str | None = None
    direction: str | None = None  # quality alerts: inbound (from them) or outbound (to them)
    media: str | None = None  # quality alerts: audio or video

    @property
    def weight(self) -> int:
        return WEIGHTS.get(self.kind, 1)

    def to_wire(self) -> dict[str, object]:
        return {
            "call_id": self.call_id,
            "source": self.source,
            "kind": self.kind,
            "role": self.role,
            "participant_id": self.participant_id,
            "direction": self.direction,
            "kind_of_media": self.media,
            "message": self.message,
            "weight": self.weight,
        }


class Floor:
    """Builds the floor snapshot and sends it to staff."""

    def __init__(self, switchboard: Switchboard) -> None:
        self._switchboard = switchboard
        self._changed = asyncio.Event()
        self._last: dict[str, Any] | None = None
        self.snapshots_sent = 0

    def changed(self) -> None:
        """Something on the floor changed: send a snapshot soon."""
        self._changed.set()

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._changed.wait(), INTERVAL_S)
                await asyncio.sleep(SETTLE_S)
            except TimeoutError:
                pass
            self._changed.clear()
            try:
                await self.publish()
            except Exception:
                logger.exception("the floor snapshot failed; trying again")

    async def publish(self) -> None:
        if not self._switchboard.notifier.staff_online():
            self._last = None  # the next supervisor to sign in gets a fresh snapshot
            return
        view = self.view()
        body = {k: v for k, v in view.items() if k != "server_time"}
        if body == self._last:
            return
        self._last = body
        self.snapshots_sent += 1
        await self._switchboard.notifier.to_staff(ServerEvent.FLOOR_UPDATED, view)

    def view(self) -> dict[str, Any]:
        switchboard = self._switchboard
        now = time.time()
        calls = [
            self._call_row(call, now)
            for call in switchboard.calls.values()
            if call.state is CallState.ACTIVE
        ]
        calls.sort(key=lambda row: (-row["attention"]["score"], row["answered_at"] or now))
        alerts = [alert for row in calls for alert in row["alerts"]]
        alerts.sort(key=lambda alert: -int(alert["weight"]))
        agents = sorted(
            (
                {
                    **switchboard.agent_payload(agent),
                    "state_for_s": round(time.time() - agent.state_since),
                }
                for agent in switchboard.agents.values()
            ),
            key=lambda agent: (not agent["connected"], str(agent["name"]).lower()),
        )
        return {
            "server_time": now,
            "calls": calls,
            "queue": switchboard.queue_view(),
            "agents": agents,
            "alerts": alerts,
        }

    def _call_row(self, call: Call, now: float) -> dict[str, Any]:
        switchboard = self._switchboard
        quality = switchboard.quality.quality(call.call_id)
        live = quality.last_view if quality is not None else None
        rated = {p["participant_id"]: p for p in (live or {}).get("participants", [])}
        transcript = switchboard.transcription.transcript(call.call_id)
        alerts: list[FloorAlert] = []
        participants = []
        active = (live or {}).get("alerts", [])
        silent = {a["participant_id"] for a in active if a["kind"] == AlertKind.NO_AUDIO}
        for party in call.participants:
            pid = party.participant_id
            rating = rated.get(pid, {})
            participants.append(
                {
                    "participant_id": pid,
                    "role": party.role.value,
                    "name": party.name,
                    "connected": party.connected,
                    "media_state": party.media_state,
                    # No MOS for a microphone that sends nothing (what the party hears
                    # may still score well, which would read as "fine").
                    "mos": None if pid in silent else rating.get("mos"),
                    "rating": rating.get("rating", "unknown"),
                    "reason": rating.get("reason", ""),
                    # The video rated on its own (None without video): MOS is the voice's.
                    "video": rating.get("video"),
                }
            )
            if not party.connected:
                alerts.append(
                    FloorAlert(
                        call.call_id,
                        "connection",
                        "disconnected",
                        party.role.value,
                        f"the {party.role.value}'s connection dropped",
                        pid,
                    )
                )
        said: set[tuple[str, str]] = set()
        for alert in active:
            # One per trouble and party: the same words for two streams say it twice.
            if (alert["participant_id"], alert["message"]) in said:
                continue
            said.add((alert["participant_id"], alert["message"]))
            alerts.append(
                FloorAlert(
                    call.call_id,
                    "quality",
                    str(alert["kind"]),
                    str(alert["role"]),
                    str(alert["message"]),
                    str(alert["participant_id"]),
                    str(alert["direction"]),
                    str(alert["kind_of_media"]),
                )
            )
        mood: dict[str, Any] | None = None
        if transcript is not None:
            mood = transcript.mood.to_wire()
            mood["history"] = mood["history"][-20:]
            for kind in mood["alerts"]:
                alerts.append(
                    FloorAlert(
                        call.call_id, "sentiment", kind, "customer", _MOOD_WORDS.get(kind, kind)
                    )
                )
            for said_at, alert in transcript.recent_alerts:
                if alert.get("kind") == "keyword" and now - said_at <= KEYWORD_SHOWN_S:
                    alerts.append(
                        FloorAlert(
                            call.call_id,
                            "keyword",
                            "keyword",
                            alert.get("role"),
                            str(alert.get("message", "")),
                        )
                    )
        attention = _attention(call, participants, alerts, mood, now)
        return {
            "call_id": call.call_id,
            "customer": {"name": call.customer.name, "subject": call.customer.subject},
            "agent": (
                {"name": call.agent.name, "subject": call.agent.subject} if call.agent else None
            ),
            "language": call.language,
            "media": call.media,
            "answered_at": call.answered_at,
            "recording": call.recording_state,
            "participants": participants,
            "sentiment": mood,
            "transcription": transcript.state if transcript is not None else "off",
            "alerts": [alert.to_wire() for alert in alerts],
            "monitors": [
                {
                    "participant_id": m.participant_id,
                    "subject": m.subject,
                    "name": m.name,
                    "mode": m.mode.value,
                }
                for m in call.monitors.values()
            ],
            "attention": attention,
        }


_MOOD_WORDS = {
    "negative_streak": "the customer keeps sounding negative",
    "falling": "the customer's mood is falling",
}


def _attention(
    call: Call,
    participants: list[dict[str, Any]],
    alerts: list[FloorAlert],
    mood: dict[str, Any] | None,
    now: float,
) -> dict[str, Any]:
    """How much the call needs a look, and why, heaviest reason first."""
    reasons: list[tuple[int, str]] = [(alert.weight, alert.message) for alert in alerts]
    alerted = {alert.participant_id for alert in alerts if alert.source == "quality"}
    for party in participants:
        if party["participant_id"] in alerted:
            continue  # the alert already says why the line is bad
        if party["rating"] == "poor":
            reasons.append((WEIGHTS["poor_line"], f"the {party['role']}'s line sounds poor"))
        elif party["rating"] == "fair":
            reasons.append((WEIGHTS["fair_line"], f"the {party['role']}'s line is unsteady"))
    if mood is not None and mood.get("label") == "negative" and not mood.get("alerts"):
        reasons.append((WEIGHTS["negative_mood"], "the customer sounds negative"))
    if call.answered_at is not None and now - call.answered_at >= LONG_CALL_S:
        minutes = int((now - call.answered_at) // 60)
        reasons.append((WEIGHTS["long_call"], f"the call has gone on for {minutes} minutes"))
    reasons.sort(key=lambda reason: -reason[0])
    score = sum(weight for weight, _ in reasons)
    level = "high" if score >= 4 else "medium" if score >= 2 else "low" if score else "none"
    return {"score": score, "level": level, "reasons": [text for _, text in reasons]}
