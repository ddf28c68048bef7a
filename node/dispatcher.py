"""Who waits where, who hears of it, and which agent a waiting call rings for.

The queue is the registry's; the switchboard's ``queue`` is this node's view of it, read
after every change that wrote it. Waiting customers and agents hear of a change at most
every ``QUEUE_NEWS_INTERVAL_S`` (a burst of changes costs one round of news). When calls
are offered automatically (``auto_offer``), each waiting call rings the longest-idle free
agent (:func:`callcenter.routing.next_match`) until they answer, decline or let it ring out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from callcenter import lifecycle, routing
from callcenter.lifecycle import Refused
from callcenter.states import AgentState, CallState
from callcenter.values import CallValue
from node.events import ServerEvent
from node.logs import call_context
from node.notifier import Payload

from .payloads import queue_entry_payload

if TYPE_CHECKING:
    from .switchboard import Switchboard

logger = logging.getLogger(__name__)

# Waiting customers and agents hear of queue changes at most this often.
QUEUE_NEWS_INTERVAL_S = 0.25
# Agents see the longest-waiting calls, this many, and how many wait in all.
QUEUE_VIEW_LIMIT = 50


class Dispatcher:
    """The queue as agents and customers are told it, and the offers of waiting calls."""

    def __init__(self, board: Switchboard) -> None:
        self._board = board
        self._news_at = 0.0
        self._news_due = False
        self._told: dict[str, tuple[object, ...]] = {}

    # -- the queue, as this node knows it ----------------------------------

    def waiting(self) -> list[CallValue]:
        """The waiting calls, head first."""
        calls = self._board.calls
        return [calls[call_id] for call_id in self._board.queue.ids() if call_id in calls]

    def head(self) -> str | None:
        """The first call waiting and not ringing for anyone."""
        return next((c.call_id for c in self.waiting() if c.state is CallState.QUEUED), None)

    def position(self, call_id: str) -> Payload:
        """A waiting customer's place and the wait they are told."""
        position = self._board.queue.position(call_id)
        return {
            "call_id": call_id,
            "position": position,
            "estimated_wait_s": self._estimator()(position) if position else None,
            "agents_online": self._staffed(),
        }

    def view(self) -> Payload:
        """The waiting calls, as agents and supervisors see them (the longest-waiting first)."""
        now = time.time()
        waiting = self.waiting()
        return {
            "calls": [queue_entry_payload(c, now) for c in waiting[:QUEUE_VIEW_LIMIT]],
            "waiting": len(waiting),
            # Re-queued calls come first, so the longest wait is not always the first's.
            "longest_wait_s": round(now - min(c.queued_at or now for c in waiting), 1)
            if waiting
            else 0,
        }

    def _staffed(self) -> int:
        board = self._board
        return routing.staffed(board.agents.values(), board.presence.online_agents())

    def _estimator(self) -> Callable[[int], float | None]:
        board = self._board
        return routing.wait_estimate(
            list(board.agents.values()), board.presence.online_agents(), board.queue.handle_time_s
        )

    # -- news ----------------------------------------------------------------

    async def changed(self) -> None:
        """Agents and waiting customers hear of it: at once, or with the next round of news."""
        self._board.floor.changed()
        if self._news_due:
            return  # a round is already due; it will say this too
        wait = self._news_at + QUEUE_NEWS_INTERVAL_S - time.monotonic()
        if wait <= 0:
            await self._send_news()
        else:
            self._news_due = True
            self._board.tasks.call_later("queue_news", wait, self._send_news)

    async def _send_news(self) -> None:
        """One round: the queue to agents, and each waiting customer whose place changed."""
        self._news_due = False
        self._news_at = time.monotonic()
        notifier = self._board.notifier
        await notifier.to_agents(ServerEvent.QUEUE_UPDATED, self.view())
        estimate, online = self._estimator(), self._staffed()
        told: dict[str, tuple[object, ...]] = {}
        for position, call in enumerate(self.waiting(), 1):
            wait_s = estimate(position)
            told[call.call_id] = news = (position, wait_s, online)
            if self._told.get(call.call_id) == news:
                continue
            await notifier.to_participant(
                call.call_id,
                call.customer.participant_id,
                ServerEvent.QUEUE_POSITION,
                {
                    "call_id": call.call_id,
                    "position": position,
                    "estimated_wait_s": wait_s,
                    "agents_online": online,
                },
            )
        self._told = told

    # -- offers --------------------------------------------------------------

    async def offer_waiting(self) -> None:
        """Offer waiting calls to idle agents, when calls are offered automatically."""
        board = self._board
        if not board.config.auto_offer:
            return
        # Each refusal brings this node's view up to date, so the same pair is not picked
        # again; the bound only guards against a registry that keeps changing under it.
        for _ in range(2 * len(board.queue) + len(board.agents) + 1):
            if not board.cluster.can_place():
                break  # no node has room for a new call's media until one ends
            match = routing.next_match(
                self.waiting(), list(board.agents.values()), board.presence.online_agents()
            )
            if match is None:
                break
            call, agent = match
            call_id = call.call_id
            with call_context(call_id):
                try:
                    offered = await board.commit(
                        lifecycle.offer(call_id, agent.subject, time.time())
                    )
                except Refused:
                    # This node's view was behind the registry: read both afresh, look again.
                    await board.refresh(call_id, agent.subject)
                    continue
                timeout = board.config.offer_timeout_s
                board.tasks.call_later(f"offer:{call_id}", timeout, self._ring_out(call_id))
                await board.notifier.to_agent(
                    agent.subject,
                    ServerEvent.CALL_OFFERED,
                    {"call": queue_entry_payload(offered, time.time()), "timeout_s": timeout},
                )
                await board.agent_changed(agent.subject)
        await self.changed()

    def _ring_out(self, call_id: str) -> Callable[[], Coroutine[Any, Any, None]]:
        return lambda: self.withdraw(call_id, reason="timeout")

    async def withdraw(
        self, call_id: str, *, reason: str, agent_state: AgentState = AgentState.AWAY
    ) -> None:
        """Put an offered call back in its place in the queue.

        An agent who let the offer time out is set away, so the next call
        does not ring a desk nobody sits at.
        """
        board = self._board
        call = board.calls.get(call_id)
        if call is None or call.state is not CallState.OFFERED or call.offered_to is None:
            return
        board.tasks.cancel_timer(f"offer:{call_id}")
        subject = call.offered_to
        state = None if reason == "taken_other" else agent_state
        try:
            await board.commit(lifecycle.withdraw(call_id, subject, time.time(), state))
        except Refused:
            return  # taken, or ended, meanwhile
        await self.withdrawn(call_id, subject, reason)

    async def withdrawn(self, call_id: str, subject: str, reason: str) -> None:
        """The agent hears the call no longer rings for them; it goes to the next."""
        await self._board.notifier.to_agent(
            subject, ServerEvent.CALL_OFFER_WITHDRAWN, {"call_id": call_id, "reason": reason}
        )
        await self._board.agent_changed(subject)
        await self.offer_waiting()
        await self.changed()
