"""The registry a node uses: Redis when one is configured, else the embedded memory one."""

from __future__ import annotations

from .memory_registry import MemoryRegistry
from .redis_registry import RedisRegistry
from .registry import CallRegistry


def open_registry(
    redis_url: str | None, *, prefix: str = "kotha:", ended_retention_s: float = 3600.0
) -> CallRegistry:
    """A registry for ``redis_url`` (None: in this process). Connects lazily, on first use."""
    if redis_url:
        return RedisRegistry.from_url(redis_url, prefix=prefix, ended_retention_s=ended_retention_s)
    return MemoryRegistry(ended_retention_s=ended_retention_s)
