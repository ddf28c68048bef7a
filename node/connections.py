"""Sockets opening and closing: who is connected, the grace before a party is gone, and
what a page is shown when it (re)connects.

Socket counts are this node's (``node.presence``); whether a party is connected is the
call's (the registry's), so every node shows the same. A party whose last socket closes
has ``rejoin_grace_s`` to come back before the call goes on without them (see
:mod:`node.call_end`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from callcenter import in_call
from callcenter.errors import ForbiddenError
from callcenter.identity import FLOOR_ROLES, Identity, Role
from callcenter.states import CallState
from callcenter.values import AgentValue, CallValue, ParticipantValue
from node.notifier import Payload
from recording.timeline import EntryType

from . import call_end
from .payloads import call_payload, ended_payload

if TYPE_CHECKING:
    from .monitoring import Seat
    from .switchboard import Switchboard


class Connections:
    """Each identity's sockets coming and going, and what each is shown."""

    def __init__(self, board: Switchboard) -> None:
        self._board = board
        # Agents of calls a crash interrupted, told when they are back: subject -> call ids.
        self.interrupted: dict[str, list[str]] = {}

    async def connected(self, identity: Identity) -> Payload:
        """A socket of this identity connected; returns what the client should show."""
        board = self._board
        if identity.role in FLOOR_ROLES:
            return await self.state_for(identity)
        if identity.role is Role.CUSTOMER:
            if identity.call_id not in board.calls:  # made by another node
                await board.fresh(identity.call_id or "")
            call = board.visible_call(identity, identity.call_id or "")
            customer = call.customer
            if customer.subject != identity.subject:
                raise ForbiddenError("this token is not the customer of that call")
            board.tasks.cancel_timer(f"grace:{call.call_id}:{customer.participant_id}")
            board.presence.party_connected(customer.participant_id)
            if not customer.connected and call.state is not CallState.ENDED:
                await board.party_changed(call.call_id, customer.participant_id, connected=True)
        else:
            agent = await board.agent_desk.sign_in(identity)
            board.tasks.cancel_timer(f"grace:agent:{identity.subject}")
            board.presence.agent_connected(identity.subject)
            current = board.calls.get(agent.call_id or "")
            party = _agent_of(current, identity.subject)
            if current is not None and party is not None and not party.connected:
                await board.party_changed(current.call_id, party.participant_id, connected=True)
        board.heartbeat.nudge()  # the directory says who is connected here (a node may die)
        return await self.state_for(identity)

    async def socket_closed(self, seat: Seat) -> None:
        """A socket closed: a supervisor's monitoring ends with it, a party may come back."""
        if seat.identity.role in FLOOR_ROLES:
            await self._board.supervisor_desk.socket_closed(seat)
        await self.disconnected(seat.identity)

    async def disconnected(self, identity: Identity) -> None:
        """A socket closed. The party may come back within ``rejoin_grace_s``."""
        board = self._board
        grace = board.config.rejoin_grace_s
        if identity.role in FLOOR_ROLES:
            return
        if identity.role is Role.CUSTOMER:
            call = board.calls.get(identity.call_id or "")
            if call is None or call.state is CallState.ENDED:
                return
            customer = call.customer
            if not board.presence.party_disconnected(customer.participant_id):
                self._left(call, customer)
                await board.party_changed(call.call_id, customer.participant_id, connected=False)
                self._customer_grace(call.call_id, customer.participant_id)
            return
        subject = identity.subject
        if board.presence.agent_disconnected(subject):
            return  # another socket of theirs is still open
        agent = await board.registry.agent(subject)
        if agent is None:
            return
        call = board.calls.get(agent.call_id or "")
        party = _agent_of(call, subject)
        if call is not None and party is not None:
            self._left(call, party)
            await board.party_changed(call.call_id, party.participant_id, connected=False)
        board.tasks.call_later(
            f"grace:agent:{subject}", grace, lambda: call_end.agent_gone(board, subject)
        )

    async def lost(self, call_id: str, participant_id: str) -> None:
        """A party the registry says is connected has a socket on no live node (the node it
        was connected to died): they are disconnected now, and their rejoin grace runs here
        (a page that reconnects to a live node within it carries on)."""
        board = self._board
        call = await board.fresh(call_id)
        party = in_call.party_of(call, participant_id) if call is not None else None
        if call is None or party is None or call.state is CallState.ENDED or not party.connected:
            return
        if party.role == Role.AGENT.value:
            await self._agent_lost(party.subject)
            return
        await board.party_changed(call_id, participant_id, connected=False)
        self._customer_grace(call_id, participant_id)

    def _customer_grace(self, call_id: str, participant_id: str) -> None:
        board = self._board
        board.tasks.call_later(
            f"grace:{call_id}:{participant_id}",
            board.config.rejoin_grace_s,
            lambda: call_end.customer_gone(board, call_id),
        )

    async def _agent_lost(self, subject: str) -> None:
        board = self._board
        agent = await board.registry.agent(subject)
        if agent is None:
            return
        call = await board.fresh(agent.call_id) if agent.call_id else None
        party = _agent_of(call, subject)
        if call is not None and party is not None and party.connected:
            await board.party_changed(call.call_id, party.participant_id, connected=False)
        board.tasks.call_later(
            f"grace:agent:{subject}",
            board.config.rejoin_grace_s,
            lambda: call_end.agent_gone(board, subject),
        )

    def _left(self, call: CallValue, participant: ParticipantValue) -> None:
        """A party's connection dropped mid-call: the recording's timeline shows it."""
        if call.state is CallState.ACTIVE:
            self._board.recordings.event(
                call.call_id,
                EntryType.PARTICIPANT_LEFT,
                participant_id=participant.participant_id,
                role=participant.role,
                name=participant.name,
                reason="connection_lost",
            )

    # -- what a page is shown ------------------------------------------------

    async def state_for(self, identity: Identity) -> Payload:
        board = self._board
        if identity.role in FLOOR_ROLES:
            return {
                "server_time": time.time(),
                "role": identity.role.value,
                "name": identity.name,
                "subject": identity.subject,
                "calls": [call_payload(c) for c in board.live_calls()],
                "floor": board.floor.view(),
            }
        if identity.role is Role.CUSTOMER:
            call = board.visible_call(identity, identity.call_id or "")
            state: Payload = {
                "server_time": time.time(),
                "role": identity.role.value,
                "name": identity.name,
                "participant_id": call.customer.participant_id,
                "call": call_payload(call),
            }
            if call.state in (CallState.QUEUED, CallState.OFFERED):
                state["queue"] = board.dispatcher.position(call.call_id)
            return state
        agent = await board.registry.agent(identity.subject)
        if agent is None:
            agent = await board.agent_desk.sign_in(identity)
        board.agents[agent.subject] = agent
        current = board.calls.get(agent.call_id or "")
        return {
            "server_time": time.time(),
            "role": identity.role.value,
            "name": identity.name,
            "agent": board.agent_payload(agent),
            "auto_offer": board.config.auto_offer,
            "queue": board.dispatcher.view(),
            "call": call_payload(current) if current is not None else None,
            "participant_id": current.agent.participant_id if current and current.agent else None,
            "monitors": board.monitoring.monitors_of(current) if current is not None else [],
            "lost_call": self._lost_call(agent),
        }

    def endings_for(self, identity: Identity) -> list[Payload]:
        """``call_ended`` news a socket that just connected missed (its call ended meanwhile)."""
        calls = self._board.calls
        if identity.role is Role.CUSTOMER:
            call = calls.get(identity.call_id or "")
            ended = [call] if call is not None and call.state is CallState.ENDED else []
        elif identity.role is Role.AGENT:
            ids = self.interrupted.pop(identity.subject, [])
            ended = [c for c in map(calls.get, ids) if c is not None]
        else:
            ended = []
        return [ended_payload(call) for call in ended]

    def _lost_call(self, agent: AgentValue) -> Payload | None:
        """The call this agent lost with their connection (it went back to the queue)."""
        call = self._board.calls.get(agent.lost_call or "")
        if call is None:
            return None
        return {"call_id": call.call_id, "customer_name": call.customer.name}


def _agent_of(call: CallValue | None, subject: str) -> ParticipantValue | None:
    """``subject``'s party in a call not ended, if they are its agent."""
    if call is None or call.state is CallState.ENDED or call.agent is None:
        return None
    return call.agent if call.agent.subject == subject else None
