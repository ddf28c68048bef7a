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
from typing import TYPE_CHECKING, Any

from callcenter.states import CallState
from node.events import ServerEvent

from .floor_view import CallFacts, FloorSnapshot, floor_view

if TYPE_CHECKING:
    from .switchboard import Switchboard

logger = logging.getLogger(__name__)

# A snapshot goes out at least this often while something in it changes...
INTERVAL_S = 1.0
# ...and this soon after a change is announced (changes in a burst give one snapshot).
SETTLE_S = 0.15


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
        return floor_view(self.snapshot())

    def snapshot(self) -> FloorSnapshot:
        """What the floor is made of, now: the live calls as values with what this node
        measures of them, the agents, the queue."""
        switchboard = self._switchboard
        now = time.time()
        calls = []
        for call in switchboard.calls.values():
            if call.state is not CallState.ACTIVE:
                continue
            quality = switchboard.quality.quality(call.call_id)
            transcript = switchboard.transcription.transcript(call.call_id)
            calls.append(
                CallFacts(
                    call,
                    quality.latest_view if quality is not None else None,
                    transcript.mood.to_wire() if transcript is not None else None,
                    transcript.state if transcript is not None else "off",
                    tuple(transcript.raised) if transcript is not None else (),
                )
            )
        agents = [
            {**switchboard.agent_payload(agent), "state_for_s": round(now - agent.state_since)}
            for agent in switchboard.agents.values()
        ]
        return FloorSnapshot(now, calls, agents, switchboard.dispatcher.view())
