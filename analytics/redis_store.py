"""Contact records and agents' time in Redis, shared by every node of the call centre.

Keys, under the registry's prefix:

- ``{prefix}contact:{call_id}``: a hash, one field per fact (msgpack values), so the
  call's own facts and what is learnt later (a rating, the analytics) are written
  by different nodes without overwriting each other;
- ``{prefix}contacts``: the contacts' ids by the time they were queued (a sorted set);
- ``{prefix}agent_spans``: agents' spans (msgpack), by the time they ended.

Nothing on a media path reads or writes these: a contact is written when a call's
story moves on, and read by the reports and the floor's figures.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

import msgpack
from redis.asyncio import Redis

from .contact import ContactRecord
from .store import ANNOTATIONS, CALL_FACTS, MAX_READ
from .transitions import AgentSpan


def _pack(value: Any) -> bytes:
    return msgpack.packb(list(value) if isinstance(value, tuple) else value, use_bin_type=True)


class RedisContactStore:
    """The whole call centre's contacts, in the Redis at ``redis``."""

    def __init__(self, redis: Redis, *, prefix: str = "kotha:") -> None:
        self._redis = redis
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "kotha:") -> RedisContactStore:
        return cls(Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5), prefix=prefix)

    def _key(self, call_id: str) -> str:
        return f"{self._prefix}contact:{call_id}"

    @property
    def _index(self) -> str:
        return f"{self._prefix}contacts"

    @property
    def _spans(self) -> str:
        return f"{self._prefix}agent_spans"

    async def put(self, record: ContactRecord) -> None:
        fields = {name: _pack(getattr(record, name)) for name in CALL_FACTS}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(record.call_id), mapping=fields)  # type: ignore[arg-type]
            pipe.zadd(self._index, {record.call_id: record.queued_at})
            await pipe.execute()

    async def annotate(self, call_id: str, **values: Any) -> bool:
        unknown = set(values) - set(ANNOTATIONS)
        if unknown:
            raise ValueError(f"not a later fact of a contact: {', '.join(sorted(unknown))}")
        key = self._key(call_id)
        if not await self._redis.exists(key):
            return False
        if values:
            mapping = {name: _pack(value) for name, value in values.items()}
            await self._redis.hset(key, mapping=mapping)  # type: ignore[arg-type]
        return True

    async def rate(self, call_id: str, score: int, comment: str | None, at: float) -> bool:
        key = self._key(call_id)
        # HSETNX: of two ratings at once, on any nodes, one is kept.
        if not await self._redis.hsetnx(key, "csat", _pack(score)):
            return False
        later = {"csat_comment": _pack(comment), "rated_at": _pack(at)}
        await self._redis.hset(key, mapping=later)  # type: ignore[arg-type]
        return True

    async def get(self, call_id: str) -> ContactRecord | None:
        raw: dict[bytes, bytes] = await self._redis.hgetall(self._key(call_id))  # type: ignore[assignment]
        return _record(call_id, raw) if raw else None

    async def add_span(self, span: AgentSpan) -> None:
        # A random suffix keeps two identical spans apart (a sorted set holds a member once).
        member = _pack({**span.to_record(), "n": secrets.token_hex(4)})
        await self._redis.zadd(self._spans, {member: span.end})

    async def contacts(self, since: float, until: float) -> list[ContactRecord]:
        ids: list[bytes] = await self._redis.zrangebyscore(
            self._index, since, f"({until}" if math.isfinite(until) else "+inf", 0, MAX_READ
        )  # type: ignore[assignment]
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for call_id in ids:
                pipe.hgetall(self._key(call_id.decode()))
            rows = await pipe.execute()
        return [_record(i.decode(), raw) for i, raw in zip(ids, rows, strict=True) if raw]

    async def spans(self, since: float, until: float) -> list[AgentSpan]:
        members: list[bytes] = await self._redis.zrangebyscore(
            self._spans, f"({since}", "+inf", 0, MAX_READ
        )  # type: ignore[assignment]
        found = [AgentSpan.from_record(msgpack.unpackb(m, raw=False)) for m in members]
        return sorted((s for s in found if s.start < until), key=lambda s: s.start)

    async def trim(self, before: float) -> int:
        ids: list[bytes] = await self._redis.zrangebyscore(self._index, "-inf", f"({before}")  # type: ignore[assignment]
        gone = 0
        if ids:
            await self._redis.delete(*(self._key(i.decode()) for i in ids))
            gone += int(await self._redis.zrem(self._index, *ids))
        gone += int(await self._redis.zremrangebyscore(self._spans, "-inf", f"({before}"))
        return gone

    async def close(self) -> None:
        await self._redis.aclose()


def _record(call_id: str, raw: dict[bytes, bytes]) -> ContactRecord:
    values: dict[str, Any] = {"call_id": call_id}
    for name, packed in raw.items():
        values[name.decode()] = msgpack.unpackb(packed, raw=False)
    return ContactRecord.from_record(values)
