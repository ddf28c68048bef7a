"""An agent's side of the switchboard: signing in, Available or Away, taking a call
(waiting, or the one ringing for them) and declining one.

Every step is a change of the registry (:mod:`callcenter.agents`,
:mod:`callcenter.lifecycle`): taking a call changes the call, the agent and the queue at
once, so two agents taking the same call on two nodes cannot both win.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from callcenter import agents as agent_changes
from callcenter import lifecycle
from callcenter.errors import CallStateError, NotFoundError
from callcenter.identity import Identity, Role
from callcenter.lifecycle import Change, Refused
from callcenter.registry import Draft
from callcenter.states import AgentState, CallState
from callcenter.values import AgentValue, CallValue, new_participant_id
from node.events import ServerEvent
from node.logs import call_context
from node.notifier import Payload

from .payloads import call_payload

if TYPE_CHECKING:
    from .switchboard import Switchboard

logger = logging.getLogger(__name__)


class AgentDesk:
    """What an agent does, and their record in the registry."""

    def __init__(self, board: Switchboard) -> None:
        self._board = board

    async def set_availability(self, identity: Identity, status: str) -> Payload:
        identity.require(Role.AGENT)
        board = self._board
        await self.sign_in(identity)
        wanted = agent_changes.set_availability(
            identity.subject, status == "available", time.time()
        )
        try:  # answering also the notice of a call they lost: told, and decided
            agent = await board.commit(wanted)
        except Refused as refused:
            raise CallStateError(str(refused)) from None
        await board.agent_changed(agent.subject)
        await board.dispatcher.changed()
        await board.dispatcher.offer_waiting()
        return board.agent_payload(board.agents[agent.subject])

    async def accept(self, identity: Identity, call_id: str | None) -> CallValue:
        identity.require(Role.AGENT)
        board = self._board
        agent = await self.sign_in(identity)
        if agent.state is AgentState.ON_CALL:
            raise CallStateError("you are already on a call; hang up first")
        if agent.state is AgentState.AWAY:
            # Away is not taking calls: the waiting customers are told no agent is, so an
            # Away agent taking one would make that untrue.
            raise CallStateError("you are Away: set yourself Available to take calls")
        if call_id is None:
            ringing = agent.call_id if agent.state is AgentState.RINGING else None
            call_id = ringing or board.dispatcher.head()
            if call_id is None:
                raise NotFoundError("no customer is waiting")
        call = await board.fresh(call_id)
        if call is None:
            raise NotFoundError(f"no call {call_id}")
        media_node = await board.cluster.place(call)
        with call_context(call_id):
            if call.state is CallState.OFFERED and call.offered_to != agent.subject:
                raise CallStateError("this call is being offered to another agent")
            if call.state not in (CallState.QUEUED, CallState.OFFERED):
                raise CallStateError(f"the call is {call.state.value}, not waiting")
            board.tasks.cancel_timer(f"offer:{call_id}")
            if agent.state is AgentState.RINGING and agent.call_id != call_id:
                # Took another call than the one ringing: give that one back.
                await board.dispatcher.withdraw(agent.call_id or "", reason="taken_other")
            taken = await board.change_call(
                lifecycle.accept(
                    call_id,
                    agent.subject,
                    new_participant_id(),
                    media_node,
                    time.time(),
                    connected=board.presence.agent_online(agent.subject),
                )
            )
            board.customer_desk.release_address(call_id)
            board.journal.record(taken, "answered")
            if media_node == board.node_id:
                taken = await board.media_taken(taken)
            else:
                await board.cluster.open_at_owner(taken)
            board.cluster.opened(call_id)
            await board.notifier.to_call(
                call_id, ServerEvent.CALL_UPDATED, {"call": call_payload(taken)}
            )
            await board.agent_changed(agent.subject)
            await board.dispatcher.changed()
            return taken

    async def decline(self, identity: Identity, call_id: str) -> None:
        identity.require(Role.AGENT)
        board = self._board
        board.tasks.cancel_timer(f"offer:{call_id}")
        try:
            await board.commit(lifecycle.decline(call_id, identity.subject, time.time()))
        except Refused:
            raise CallStateError("that call is not being offered to you") from None
        await board.dispatcher.withdrawn(call_id, identity.subject, "declined")

    # -- the agent's record ------------------------------------------------

    async def sign_in(self, identity: Identity) -> AgentValue:
        """The agent's record in the registry (made Away on their first sign-in).

        A record that says they ring for, or are on, a call that is over was left by a run
        that stopped (the registry outlives a node): they are Away.
        """
        board = self._board
        agent = await board.commit(
            agent_changes.sign_in(identity.subject, identity.name, time.time())
        )
        if agent.call_id is None:
            return agent
        held = board.calls.get(agent.call_id) or await board.fresh(agent.call_id)
        if held is None or held.state is CallState.ENDED:
            stale, now = agent.call_id, time.time()
            logger.info("agent %s held call %s, which is over: Away", agent.subject, stale)
            freed = await self._put(agent.subject, _freed(stale, AgentState.AWAY, now))
            return freed or agent
        return agent

    async def move(
        self, subject: str, state: AgentState, call_id: str | None = None
    ) -> AgentValue | None:
        now = time.time()
        return await self._put(subject, lambda agent: agent.moved_to(state, now, call_id))

    async def _put(
        self, subject: str, new: Callable[[AgentValue], AgentValue | None]
    ) -> AgentValue | None:
        """Change one agent: ``new`` gives the value to write from the one stored (None:
        leave it). Returns the value written, or None when nothing was."""

        def apply(draft: Draft) -> AgentValue | None:
            agent = draft.agent(subject)
            changed = new(agent) if agent is not None else None
            if agent is None or changed is None or changed == agent:
                return None
            return draft.put_agent(changed)

        return await self._board.commit(Change(apply, agents=(subject,)))


def _freed(
    call_id: str, state: AgentState, now: float
) -> Callable[[AgentValue], AgentValue | None]:
    """The agent of (or ringing for) ``call_id``, which ended, is ``state`` again."""

    def free(agent: AgentValue) -> AgentValue | None:
        return agent.moved_to(state, now) if agent.call_id == call_id else None

    return free
