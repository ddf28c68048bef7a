"""A real redis-server for the tests: started on a free port, stopped by its PID
(the same one ``kotha serve --nodes N`` starts, :mod:`signaling.local_redis`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.errors import ConfigError
from signaling.local_redis import LocalRedis, free_port
from signaling.local_redis import start_redis as _start_redis

RedisServer = LocalRedis

__all__ = ["RedisServer", "free_port", "start_redis"]


def start_redis(directory: Path) -> RedisServer:
    """redis-server on 127.0.0.1 and a free port, keeping nothing on disk."""
    try:
        return _start_redis(directory)
    except ConfigError as exc:
        pytest.fail(exc.message)
