"""Registries for the contract tests: the memory one, and Redis on a real redis-server."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from callcenter.memory_registry import MemoryRegistry
from callcenter.redis_registry import RedisRegistry
from callcenter.registry import CallRegistry
from tests.redis_server import RedisServer

RETENTION_S = 0.5  # how long an ended call is kept, short enough to see it go


# Handles on one call centre: the same registry in memory; in Redis, one client per handle,
# as nodes are (so changes really interleave on the network).
Handles = Callable[[int], Awaitable[list[CallRegistry]]]


@pytest.fixture(params=["memory", "redis"])
async def registries(request: pytest.FixtureRequest) -> AsyncIterator[Handles]:
    opened: list[CallRegistry] = []
    prefix = f"test:{secrets.token_hex(4)}:"
    memory = MemoryRegistry(ended_retention_s=RETENTION_S)
    server: RedisServer | None = (
        request.getfixturevalue("redis_server") if request.param == "redis" else None
    )

    async def handles(count: int) -> list[CallRegistry]:
        if server is None:
            return [memory] * count
        made: list[CallRegistry] = [
            RedisRegistry.from_url(server.url, prefix=prefix, ended_retention_s=RETENTION_S)
            for _ in range(count)
        ]
        opened.extend(made)
        return made

    yield handles
    for registry in opened:
        await registry.close()


@pytest.fixture
async def registry(registries: Handles) -> CallRegistry:
    [one] = await registries(1)
    return one
