"""The one interface to the call centre's state: reads, and changes that are all-or-nothing.

A change is "read, change, write back with a version check": :meth:`CallRegistry.change`
reads the records it names into a :class:`Draft`, runs a plain function on it (no awaits:
the function decides from what it read and writes new values into the draft), and writes
everything back at once, unless another change wrote one of those records (or the queue)
in between; then it reads again and runs the function again, a few times at most. Accepting
a call touches the call, the agent and the queue: one change, so two agents accepting the
same call cannot both win, on one node or on ten.

:meth:`CallRegistry.save` writes values read earlier without a function: it refuses (with
:class:`StaleWriteError`) any whose version is no longer the stored one.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TypeVar

from .nodes import NodeValue
from .values import AgentValue, CallValue, QueueEntry

T = TypeVar("T")
V = TypeVar("V", CallValue, AgentValue)

# How often a change is tried again after another change wrote what it read.
MAX_ATTEMPTS = 20


class RegistryError(Exception):
    """The registry could not do what was asked; the message is words for an operator."""


class StaleWriteError(RegistryError):
    """A value was written back after another change had written the same record."""


class ContendedError(RegistryError):
    """A change kept finding its records changed under it and gave up."""


class NotReadError(RegistryError):
    """A change's function looked at or wrote a record the change did not name: a bug."""


class Draft:
    """What one change read, and what it will write back.

    ``call()``/``agent()`` give the values as read (None: no such record); ``put_call()``
    and ``put_agent()`` replace them (the value given must carry the version read);
    ``enqueue()``/``dequeue()`` change the queue (when the change named it).
    """

    def __init__(
        self,
        calls: dict[str, CallValue | None],
        agents: dict[str, AgentValue | None],
        queue: list[QueueEntry] | None,
    ) -> None:
        self._calls = calls
        self._agents = agents
        self._queue = sorted(queue) if queue is not None else None
        self.call_writes: dict[str, CallValue] = {}
        self.agent_writes: dict[str, AgentValue] = {}
        self.queue_adds: dict[str, float] = {}
        self.queue_removes: set[str] = set()

    # -- reads --------------------------------------------------------------

    def call(self, call_id: str) -> CallValue | None:
        if call_id not in self._calls:
            raise NotReadError(f"call {call_id} was not read by this change")
        return self.call_writes.get(call_id, self._calls[call_id])

    def agent(self, subject: str) -> AgentValue | None:
        if subject not in self._agents:
            raise NotReadError(f"agent {subject} was not read by this change")
        return self.agent_writes.get(subject, self._agents[subject])

    def read_call(self, call_id: str) -> CallValue | None:
        """The call as read, before this change wrote it (None: not read, or new)."""
        return self._calls.get(call_id)

    def read_agent(self, subject: str) -> AgentValue | None:
        """The agent as read, before this change wrote them (None: not read, or new)."""
        return self._agents.get(subject)

    @property
    def queue(self) -> list[QueueEntry]:
        """The queue as this change leaves it, head first."""
        if self._queue is None:
            raise NotReadError("the queue was not read by this change")
        kept = [e for e in self._queue if e.call_id not in self.queue_removes]
        kept = [e for e in kept if e.call_id not in self.queue_adds]
        kept += [QueueEntry(score, call_id) for call_id, score in self.queue_adds.items()]
        return sorted(kept)

    # -- writes -------------------------------------------------------------

    def put_call(self, value: CallValue) -> CallValue:
        """Write ``value`` back; returns it as stored (its version one more)."""
        self._check_version("call", value.call_id, value.version, self._calls)
        stored = _bumped(value, self._calls[value.call_id])
        self.call_writes[value.call_id] = stored
        return stored

    def put_agent(self, value: AgentValue) -> AgentValue:
        self._check_version("agent", value.subject, value.version, self._agents)
        stored = _bumped(value, self._agents[value.subject])
        self.agent_writes[value.subject] = stored
        return stored

    def enqueue(self, call_id: str, score: float) -> None:
        """Put a call in the queue at ``score`` (QueueEntry.score_of), or move it there."""
        if self._queue is None:
            raise NotReadError("the queue was not read by this change")
        self.queue_removes.discard(call_id)
        self.queue_adds[call_id] = score

    def dequeue(self, call_id: str) -> None:
        if self._queue is None:
            raise NotReadError("the queue was not read by this change")
        self.queue_adds.pop(call_id, None)
        self.queue_removes.add(call_id)

    @property
    def writes_queue(self) -> bool:
        return bool(self.queue_adds or self.queue_removes)

    def _check_version(
        self,
        kind: str,
        key: str,
        version: int,
        read: dict[str, CallValue | None] | dict[str, AgentValue | None],
    ) -> None:
        if key not in read:
            raise NotReadError(f"{kind} {key} was not read by this change")
        written = self.call_writes.get(key) if kind == "call" else self.agent_writes.get(key)
        current = written or read[key]
        expected = current.version if current is not None else 0
        if version != expected:
            raise StaleWriteError(
                f"{kind} {key} was written from version {version}, but this change read "
                f"version {expected}"
            )


def _bumped(value: V, read: CallValue | AgentValue | None) -> V:
    """``value`` with the version after the one read (a record written twice in one change
    is written once, so it counts once)."""
    return replace(value, version=(read.version if read is not None else 0) + 1)


class CallRegistry(abc.ABC):
    """Calls, agents and the queue of one call centre (one node's, or many nodes')."""

    # -- reads --------------------------------------------------------------

    @abc.abstractmethod
    async def call(self, call_id: str) -> CallValue | None:
        """The call, or None (never created, or ended longer ago than it is kept)."""

    @abc.abstractmethod
    async def calls(self) -> list[CallValue]:
        """Every call not ended, oldest first."""

    @abc.abstractmethod
    async def agent(self, subject: str) -> AgentValue | None: ...

    @abc.abstractmethod
    async def agents(self) -> list[AgentValue]: ...

    @abc.abstractmethod
    async def queue(self) -> list[QueueEntry]:
        """The waiting calls, head first."""

    # -- changes ------------------------------------------------------------

    @abc.abstractmethod
    async def change(
        self,
        fn: Callable[[Draft], T],
        *,
        calls: Iterable[str] = (),
        agents: Iterable[str] = (),
        queue: bool = False,
    ) -> T:
        """Run ``fn`` on the named records and write what it put back, all or nothing.

        ``fn`` may raise to refuse (nothing is written, the error reaches the caller). It
        may run more than once when other changes write the same records meanwhile: it
        must not have effects outside the draft.
        """

    async def save(self, *values: CallValue | AgentValue) -> list[CallValue | AgentValue]:
        """Write values read earlier; :class:`StaleWriteError` if any was written since."""
        call_ids = [v.call_id for v in values if isinstance(v, CallValue)]
        subjects = [v.subject for v in values if isinstance(v, AgentValue)]

        def write(draft: Draft) -> list[CallValue | AgentValue]:
            return [
                draft.put_call(v) if isinstance(v, CallValue) else draft.put_agent(v)
                for v in values
            ]

        return await self.change(write, calls=call_ids, agents=subjects)

    # -- the nodes (callcenter.nodes) ----------------------------------------

    @abc.abstractmethod
    async def publish_node(self, node: NodeValue, *, ttl_s: float) -> None:
        """This node as it is now; it is forgotten ``ttl_s`` after its last beat."""

    @abc.abstractmethod
    async def nodes(self) -> list[NodeValue]:
        """Every node whose last beat has not outlived its time to live, by id."""

    @abc.abstractmethod
    async def withdraw_node(self, node_id: str) -> None:
        """Forget the node at once (it stopped cleanly)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Let go of connections (the memory registry has none)."""
