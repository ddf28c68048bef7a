"""Who hears the node's news: the socket.io rooms of a call's parties, its watchers,
the agents and the supervisors, and the :class:`~node.notifier.Notifier` that sends to them.

A customer's socket is in their call's room, an agent's in the agents' room and their own,
a supervisor's in the supervisors' room and, while watching a call, in its watch room.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from callcenter.in_call import monitor_of
from callcenter.values import CallValue
from node.events import ServerEvent
from node.notifier import Payload

if TYPE_CHECKING:
    from .hub import CallNamespace

AGENTS_ROOM = "agents"
SUPERVISORS_ROOM = "supervisors"


def customer_room(call_id: str) -> str:
    return f"customer:{call_id}"


def agent_room(subject: str) -> str:
    return f"agent:{subject}"


def watch_room(call_id: str) -> str:
    """Supervisors watching a call: its transcript, its quality and its news."""
    return f"watch:{call_id}"


class RoomNotifier:
    """The node's news to the rooms (or the one socket) it concerns.

    Args:
        hub: the ``/call`` namespace that emits, and knows which sockets are open.
        calls: the node's view of the calls, to find a call's parties by id.
    """

    def __init__(self, hub: CallNamespace, calls: Mapping[str, CallValue]) -> None:
        self._hub = hub
        self._calls = calls

    async def to_call(self, call_id: str, event: ServerEvent, payload: Payload) -> None:
        call = self._calls.get(call_id)
        if call is None:
            return
        rooms = [customer_room(call_id), watch_room(call_id)]
        if call.agent is not None:
            rooms.append(agent_room(call.agent.subject))
        await self._hub.emit(event.value, payload, to=rooms)

    async def to_participant(
        self, call_id: str, participant_id: str, event: ServerEvent, payload: Payload
    ) -> None:
        call = self._calls.get(call_id)
        if call is None:
            return
        if call.customer.participant_id == participant_id:
            await self._hub.emit(event.value, payload, to=customer_room(call_id))
        elif call.agent is not None and call.agent.participant_id == participant_id:
            await self._hub.emit(event.value, payload, to=agent_room(call.agent.subject))
        elif (monitor := monitor_of(call, participant_id)) is not None:
            await self.to_socket(monitor.sid, event, payload)

    async def to_staff(self, event: ServerEvent, payload: Payload) -> None:
        """The floor, as this node sees it, to this node's staff (every node sends its own
        staff the same floor, read from the same registry)."""
        await self._hub.emit(event.value, payload, to=SUPERVISORS_ROOM, ignore_queue=True)

    def staff_online(self) -> bool:
        return self._hub.staff_online()

    async def to_socket(self, sid: str, event: ServerEvent, payload: Payload) -> None:
        if self._hub.has_socket(sid) or self._hub.clustered:  # else: closed meanwhile
            await self._hub.emit(event.value, payload, to=sid)

    async def to_watchers(self, call_id: str, event: ServerEvent, payload: Payload) -> None:
        await self._hub.emit(event.value, payload, to=watch_room(call_id))

    async def to_agents(self, event: ServerEvent, payload: Payload) -> None:
        await self._hub.emit(event.value, payload, to=AGENTS_ROOM)

    async def to_agent(self, subject: str, event: ServerEvent, payload: Payload) -> None:
        await self._hub.emit(event.value, payload, to=agent_room(subject))
