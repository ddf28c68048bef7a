"""Where the domain layer's news goes: the socket.io hub, or a test's recorder."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from .events import ServerEvent

Payload = dict[str, object]
# One participant's news, sent by a service that holds no notifier: call id,
# participant id, event, payload (a coroutine, so that it can be run as a task).
Send = Callable[[str, str, ServerEvent, Payload], Coroutine[Any, Any, None]]


class Notifier(Protocol):
    """Who is told: a call's parties, one participant, agents, staff, one socket."""

    async def to_call(self, call_id: str, event: ServerEvent, payload: Payload) -> None:
        """The call's customer and agent (and the staff watching it)."""

    async def to_participant(
        self, call_id: str, participant_id: str, event: ServerEvent, payload: Payload
    ) -> None:
        """One participant of a call: a party, or a monitoring supervisor."""

    async def to_agents(self, event: ServerEvent, payload: Payload) -> None: ...
    async def to_agent(self, subject: str, event: ServerEvent, payload: Payload) -> None: ...
    async def to_watchers(self, call_id: str, event: ServerEvent, payload: Payload) -> None:
        """Staff watching the call (its transcript, quality and monitoring)."""

    async def to_staff(self, event: ServerEvent, payload: Payload) -> None:
        """Every supervisor's and admin's socket (the floor)."""

    async def to_socket(self, sid: str, event: ServerEvent, payload: Payload) -> None: ...

    def staff_online(self) -> bool:
        """Whether any supervisor or admin is connected (else the floor is not built)."""


class Unwired:
    """The notifier until the app wires the hub in: news with nowhere to go is a bug."""

    async def _fail(self, *args: object) -> None:
        raise RuntimeError("Switchboard.notifier was never set")

    to_call = to_participant = to_agents = to_agent = to_watchers = to_staff = to_socket = _fail

    def staff_online(self) -> bool:
        return False
