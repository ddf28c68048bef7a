"""The registry in this process's memory: the embedded default, with no services to run.

A change's function is plain code (no awaits), so reading, running it and writing back
happen without the event loop switching to anything else: a change is atomic on one loop
by construction, and versions still refuse a value written from a stale read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from .nodes import NodeValue
from .registry import CallRegistry, Draft
from .states import CallState
from .values import AgentValue, CallValue, QueueEntry

T = TypeVar("T")


class MemoryRegistry(CallRegistry):
    """Calls, agents and the queue in dicts; an ended call is kept ``ended_retention_s``."""

    def __init__(
        self, *, ended_retention_s: float = 3600.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._calls: dict[str, CallValue] = {}
        self._agents: dict[str, AgentValue] = {}
        self._queue: dict[str, float] = {}  # call id -> score
        self._nodes: dict[str, tuple[NodeValue, float]] = {}  # node id -> (beat, forgotten at)
        self._ended_retention_s = ended_retention_s
        self._clock = clock

    async def call(self, call_id: str) -> CallValue | None:
        return self._kept(call_id)

    async def calls(self) -> list[CallValue]:
        live = [c for c in self._calls.values() if c.state is not CallState.ENDED]
        return sorted(live, key=lambda c: (c.created_at, c.call_id))

    async def agent(self, subject: str) -> AgentValue | None:
        return self._agents.get(subject)

    async def agents(self) -> list[AgentValue]:
        return sorted(self._agents.values(), key=lambda a: a.subject)

    async def queue(self) -> list[QueueEntry]:
        return sorted(QueueEntry(score, call_id) for call_id, score in self._queue.items())

    async def change(
        self,
        fn: Callable[[Draft], T],
        *,
        calls: Iterable[str] = (),
        agents: Iterable[str] = (),
        queue: bool = False,
    ) -> T:
        draft = Draft(
            {call_id: self._kept(call_id) for call_id in calls},
            {subject: self._agents.get(subject) for subject in agents},
            await self.queue() if queue else None,
        )
        result = fn(draft)
        self._calls.update(draft.call_writes)
        self._agents.update(draft.agent_writes)
        for call_id in draft.queue_removes:
            self._queue.pop(call_id, None)
        self._queue.update(draft.queue_adds)
        return result

    async def publish_node(self, node: NodeValue, *, ttl_s: float) -> None:
        self._nodes[node.node_id] = (node, self._clock() + ttl_s)

    async def nodes(self) -> list[NodeValue]:
        now = self._clock()
        for node_id in [i for i, (_, until) in self._nodes.items() if until <= now]:
            del self._nodes[node_id]
        return sorted((node for node, _ in self._nodes.values()), key=lambda n: n.node_id)

    async def withdraw_node(self, node_id: str) -> None:
        self._nodes.pop(node_id, None)

    async def close(self) -> None:
        return None

    def _kept(self, call_id: str) -> CallValue | None:
        """The call, unless it ended longer ago than calls are kept (then it is let go)."""
        call = self._calls.get(call_id)
        if call is None or call.ended_at is None:
            return call
        if self._clock() - call.ended_at > self._ended_retention_s:
            del self._calls[call_id]
            return None
        return call
