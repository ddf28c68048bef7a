"""The registry in Redis: one call centre shared by every node that points at it.

Keys, all under one prefix (``kotha:`` by default), values msgpack-encoded records:

- ``{prefix}call:{call_id}``: a call (an ended one expires after ``ended_retention_s``);
- ``{prefix}calls``: a set of the ids of calls not ended (what :meth:`calls` reads);
- ``{prefix}agent:{subject}``, and ``{prefix}agents``, the set of agents' subjects;
- ``{prefix}queue``: a sorted set of waiting call ids, by :class:`QueueEntry` score;
- ``{prefix}node:{node_id}``: a node's last beat, expiring after its time to live, and
  ``{prefix}nodes``, the set of node ids (an id whose beat expired is dropped on read).

A change WATCHes the records it reads (and the queue), reads them, runs its function and
writes everything in one MULTI/EXEC; if another client wrote a watched key meanwhile, EXEC
fails and the change runs again on fresh reads (redis-py raises ``WatchError``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import msgpack
from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

from .nodes import NodeValue
from .registry import MAX_ATTEMPTS, CallRegistry, ContendedError, Draft, RegistryError
from .states import CallState
from .values import AgentValue, CallValue, QueueEntry

T = TypeVar("T")


# A change that collided with another waits up to this (doubling per attempt, at most the
# second figure) before it reads again.
BACKOFF_S = 0.001
MAX_BACKOFF_S = 0.05

# How long a connection to Redis, and a command, may take before the registry gives up.
CONNECT_TIMEOUT_S = 2.0
TIMEOUT_S = 5.0


def _pack(record: dict[str, Any]) -> bytes:
    packed: bytes = msgpack.packb(record, use_bin_type=True)
    return packed


def _unpack(raw: bytes) -> dict[str, Any]:
    record: dict[str, Any] = msgpack.unpackb(raw, raw=False)
    return record


class RedisRegistry(CallRegistry):
    """Calls, agents and the queue in Redis (redis-py's asyncio client)."""

    def __init__(
        self, redis: Redis, *, prefix: str = "kotha:", ended_retention_s: float = 3600.0
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._queue_turns = asyncio.Lock()
        self._ended_retention_ms = max(1, round(ended_retention_s * 1000))

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisRegistry:
        """A registry on the Redis at ``url``; an unreachable one fails within seconds
        (``RegistryError``), it never hangs a sign-in."""
        return cls(
            Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=TIMEOUT_S),
            **kwargs,
        )

    async def close(self) -> None:
        await self._redis.aclose()

    # -- keys ---------------------------------------------------------------

    def _call_key(self, call_id: str) -> str:
        return f"{self._prefix}call:{call_id}"

    def _agent_key(self, subject: str) -> str:
        return f"{self._prefix}agent:{subject}"

    @property
    def _queue_key(self) -> str:
        return f"{self._prefix}queue"

    @property
    def _calls_key(self) -> str:
        return f"{self._prefix}calls"

    @property
    def _agents_key(self) -> str:
        return f"{self._prefix}agents"

    def _node_key(self, node_id: str) -> str:
        return f"{self._prefix}node:{node_id}"

    @property
    def _nodes_key(self) -> str:
        return f"{self._prefix}nodes"

    # -- reads --------------------------------------------------------------

    async def call(self, call_id: str) -> CallValue | None:
        raw = await self._do(self._redis.get(self._call_key(call_id)))
        return CallValue.from_record(_unpack(raw)) if raw else None

    async def calls(self) -> list[CallValue]:
        ids = sorted(m.decode() for m in await self._do(self._redis.smembers(self._calls_key)))
        raws = await self._do(self._redis.mget([self._call_key(i) for i in ids])) if ids else []
        calls = [CallValue.from_record(_unpack(raw)) for raw in raws if raw]
        live = [c for c in calls if c.state is not CallState.ENDED]
        return sorted(live, key=lambda c: (c.created_at, c.call_id))

    async def agent(self, subject: str) -> AgentValue | None:
        raw = await self._do(self._redis.get(self._agent_key(subject)))
        return AgentValue.from_record(_unpack(raw)) if raw else None

    async def agents(self) -> list[AgentValue]:
        subjects = sorted(
            m.decode() for m in await self._do(self._redis.smembers(self._agents_key))
        )
        if not subjects:
            return []
        raws = await self._do(self._redis.mget([self._agent_key(s) for s in subjects]))
        return [AgentValue.from_record(_unpack(raw)) for raw in raws if raw]

    async def queue(self) -> list[QueueEntry]:
        return _entries(await self._do(self._redis.zrange(self._queue_key, 0, -1, withscores=True)))

    # -- the nodes ------------------------------------------------------------

    async def publish_node(self, node: NodeValue, *, ttl_s: float) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._node_key(node.node_id), _pack(node.to_record()), px=round(ttl_s * 1000))
        pipe.sadd(self._nodes_key, node.node_id)
        await self._do(pipe.execute())

    async def nodes(self) -> list[NodeValue]:
        ids = sorted(m.decode() for m in await self._do(self._redis.smembers(self._nodes_key)))
        raws = await self._do(self._redis.mget([self._node_key(i) for i in ids])) if ids else []
        gone = [node_id for node_id, raw in zip(ids, raws, strict=True) if not raw]
        if gone:
            await self._do(self._redis.srem(self._nodes_key, *gone))
        return [NodeValue.from_record(_unpack(raw)) for raw in raws if raw]

    async def withdraw_node(self, node_id: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(self._node_key(node_id))
        pipe.srem(self._nodes_key, node_id)
        await self._do(pipe.execute())

    # -- changes ------------------------------------------------------------

    async def change(
        self,
        fn: Callable[[Draft], T],
        *,
        calls: Iterable[str] = (),
        agents: Iterable[str] = (),
        queue: bool = False,
    ) -> T:
        if queue:
            # Every change of the queue WATCHes it: on this node they take turns, so only
            # the nodes contend for it (a burst of requests would otherwise collide for ever).
            async with self._queue_turns:
                return await self._change(fn, calls, agents, queue)
        return await self._change(fn, calls, agents, queue)

    async def _change(
        self, fn: Callable[[Draft], T], calls: Iterable[str], agents: Iterable[str], queue: bool
    ) -> T:
        call_ids, subjects = list(dict.fromkeys(calls)), list(dict.fromkeys(agents))
        keys = [self._call_key(c) for c in call_ids] + [self._agent_key(s) for s in subjects]
        watched = keys + ([self._queue_key] if queue else [])
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                # Changes that collided wait apart before they try again (full jitter): all
                # at once again, a burst on one key (the queue) collides every time.
                await asyncio.sleep(random.uniform(0, min(MAX_BACKOFF_S, BACKOFF_S * 2**attempt)))
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    if watched:
                        await pipe.watch(*watched)
                    raws: list[Any] = await pipe.mget(keys) if keys else []
                    waiting: list[Any] = (
                        await pipe.zrange(self._queue_key, 0, -1, withscores=True) if queue else []
                    )
                    draft = Draft(
                        dict(zip(call_ids, map(_call, raws[: len(call_ids)]), strict=True)),
                        dict(zip(subjects, map(_agent, raws[len(call_ids) :]), strict=True)),
                        _entries(waiting) if queue else None,
                    )
                    result = fn(draft)
                    pipe.multi()
                    self._write(pipe, draft)
                    await pipe.execute()
                    return result
            except WatchError:
                continue
            except RedisError as exc:
                raise RegistryError(f"the call registry in Redis did not answer: {exc}") from exc
        raise ContendedError(
            f"a change of calls {call_ids} and agents {subjects} was interrupted by other "
            f"changes {MAX_ATTEMPTS} times in a row; try again"
        )

    def _write(self, pipe: Any, draft: Draft) -> None:
        for call_id, call in draft.call_writes.items():
            key = self._call_key(call_id)
            if call.state is CallState.ENDED:
                pipe.set(key, _pack(call.to_record()), px=self._ended_retention_ms)
                pipe.srem(self._calls_key, call_id)
            else:
                pipe.set(key, _pack(call.to_record()))
                pipe.sadd(self._calls_key, call_id)
        for subject, agent in draft.agent_writes.items():
            pipe.set(self._agent_key(subject), _pack(agent.to_record()))
            pipe.sadd(self._agents_key, subject)
        if draft.queue_removes:
            pipe.zrem(self._queue_key, *draft.queue_removes)
        if draft.queue_adds:
            pipe.zadd(self._queue_key, draft.queue_adds)

    async def _do(self, command: Any) -> Any:
        try:
            return await command
        except RedisError as exc:
            raise RegistryError(f"the call registry in Redis did not answer: {exc}") from exc


def _call(raw: bytes | None) -> CallValue | None:
    return CallValue.from_record(_unpack(raw)) if raw else None


def _agent(raw: bytes | None) -> AgentValue | None:
    return AgentValue.from_record(_unpack(raw)) if raw else None


def _entries(waiting: list[Any]) -> list[QueueEntry]:
    """ZRANGE ... WITHSCORES, as queue entries (members are call ids, bytes)."""
    return [QueueEntry(float(score), member.decode()) for member, score in waiting]
