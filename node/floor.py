"""The supervisors' floor: every live call at a glance, the queue, every agent and node.

Once a second, and soon after anything changes (a call starts or ends, an
agent goes away, a supervisor barges in), every supervisor's and admin's
socket gets ``floor_updated``: one snapshot, sorted by how much each call
needs attention, so every dashboard shows the same order for the same
reasons. The snapshot only reads what the switchboard, the quality monitor
and the transcription already keep; building it touches no media.

With many nodes, a call's figures are measured by the node that owns its media: each node
sends the others the figures of the calls it owns about once a second (node bus news, in
the background: the floor never waits on Redis), and a node's floor shows a call owned
elsewhere with its owner's latest figures while they are fresh, else without figures.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from callcenter.states import CallState
from callcenter.values import CallValue
from categories import Match
from node.events import ServerEvent

from .bus import BusError, NodeBus
from .floor_view import (
    CallFacts,
    FloorSnapshot,
    call_row,
    figures_from_wire,
    figures_of,
    floor_view,
    node_row,
)

if TYPE_CHECKING:
    from .switchboard import Switchboard

logger = logging.getLogger(__name__)

# A snapshot goes out at least this often while something in it changes...
INTERVAL_S = 1.0
# ...and this soon after a change is announced (changes in a burst give one snapshot).
SETTLE_S = 0.15
# The news key of a node's figures for the calls it owns.
FIGURES_NEWS = "floor_figures"
# Another node's figures are used this long after they arrived (it sends them every second).
FIGURES_FRESH_S = 3.0
# At most this many calls' figures go in one message (a node with more sends several).
FIGURES_PER_NEWS = 50


class Floor:
    """Builds the floor snapshot and sends it to staff."""

    def __init__(self, switchboard: Switchboard) -> None:
        self._switchboard = switchboard
        self._changed = asyncio.Event()
        self._last: dict[str, Any] | None = None
        self.snapshots_sent = 0
        # Other nodes' figures by call: (the node that sent them, when they came, figures).
        self._heard: dict[str, tuple[str, float, dict[str, Any]]] = {}
        self._told_at = float("-inf")
        self._telling: asyncio.Task[Any] | None = None

    def changed(self) -> None:
        """Something on the floor changed: send a snapshot soon."""
        self._changed.set()

    def category_matched(self, call_id: str, match: Match) -> None:
        """A live call met a category: every supervisor is told now (the dashboard alerts
        when the rule says so), and the floor's next snapshot shows it on the call."""
        self.changed()
        payload: dict[str, object] = {"call_id": call_id, "match": match.to_wire()}
        notifier = self._switchboard.notifier
        self._switchboard.tasks.spawn(
            notifier.to_staff(ServerEvent.CATEGORY_MATCHED, payload), f"category:{call_id}"
        )

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._changed.wait(), INTERVAL_S)
                await asyncio.sleep(SETTLE_S)
            except TimeoutError:
                pass
            self._changed.clear()
            try:
                self.tell_others()
            except Exception:
                logger.exception("the floor's figures for the other nodes failed; trying again")
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
        measures of them (or their owner, for a call whose media is on another node), the
        agents, the queue, the nodes."""
        switchboard = self._switchboard
        now = time.time()
        at = time.monotonic()
        self._heard = {k: v for k, v in self._heard.items() if at - v[1] <= FIGURES_FRESH_S}
        calls = []
        for call in switchboard.calls.values():
            if call.state is not CallState.ACTIVE:
                continue
            owners = self._owners_figures(call)
            calls.append(CallFacts(call, measured=owners) if owners else self._facts(call))
        agents = [
            {**switchboard.agent_payload(agent), "state_for_s": round(now - agent.state_since)}
            for agent in switchboard.agents.values()
        ]
        nodes = [node_row(node) for node in switchboard.heartbeat.nodes]
        return FloorSnapshot(now, calls, agents, switchboard.dispatcher.view(), nodes)

    def _facts(self, call: CallValue) -> CallFacts:
        """What this node measures of ``call`` (nothing unless it has the call's media)."""
        switchboard = self._switchboard
        quality = switchboard.quality.quality(call.call_id)
        transcript = switchboard.transcription.transcript(call.call_id)
        return CallFacts(
            call,
            quality.latest_view if quality is not None else None,
            transcript.mood.to_wire() if transcript is not None else None,
            transcript.state if transcript is not None else "off",
            tuple(transcript.raised) if transcript is not None else (),
            tuple(switchboard.categories.matches(call.call_id)),
        )

    # -- the figures of calls whose media is on another node ---------------------------

    def _owners_figures(self, call: CallValue) -> dict[str, Any] | None:
        """The figures the node that owns ``call``'s media sent last, if still fresh."""
        if self._switchboard.room_of(call.call_id) is not None:
            return None
        heard = self._heard.get(call.call_id)
        if heard is None or heard[0] != call.media_node:
            return None  # none yet, or from the node that had the call before it moved
        return heard[2]

    def heard(self, sender: str, news: Mapping[str, Any]) -> bool:
        """Whether another node's news (``Cluster.heard``) is its figures for the calls
        whose media it owns; they are kept for a while if so."""
        if FIGURES_NEWS not in news:
            return False
        figures = news[FIGURES_NEWS]
        at = time.monotonic()
        for wire in figures[:FIGURES_PER_NEWS] if isinstance(figures, list) else ():
            checked = figures_from_wire(wire)
            if checked is not None:
                self._heard[checked["call_id"]] = (sender, at, checked)
        return True

    def tell_others(self) -> None:
        """About once a second while this node owns calls, their figures go to the other
        nodes, sent in the background (one send at a time: one that waits on Redis makes
        the next wait its turn, never the floor)."""
        bus = self._switchboard.cluster.bus
        at = time.monotonic()
        if bus is None or at - self._told_at < INTERVAL_S * 0.8:
            return
        if self._telling is not None and not self._telling.done():
            return
        switchboard = self._switchboard
        now = time.time()
        figures = [
            figures_of(call_row(self._facts(call), now))
            for call in switchboard.calls.values()
            if call.state is CallState.ACTIVE and switchboard.room_of(call.call_id) is not None
        ]
        if not figures:
            return
        self._told_at = at
        self._telling = switchboard.tasks.spawn(self._tell(bus, figures), "floor_figures")

    async def _tell(self, bus: NodeBus, figures: list[dict[str, Any]]) -> None:
        try:
            for start in range(0, len(figures), FIGURES_PER_NEWS):
                await bus.news({FIGURES_NEWS: figures[start : start + FIGURES_PER_NEWS]})
        except BusError as exc:
            self._switchboard.outage.refusal(exc, "the floor's figures for the other nodes")
