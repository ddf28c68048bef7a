"""Emits that reach sockets on every node: python-socketio's ``AsyncRedisManager``.

With ``redis_url`` set, an emit to a room (a call's customer, an agent, a call's watchers)
is delivered to this node's sockets at once and published on one Redis channel that every
node reads, so a socket on another node gets it too. What that manager is, and how kotha
works within it:

- one channel, read by every node: fine for a call centre's news (a few messages per
  call-second), not a bus for media;
- no replay: what is published while Redis is away is lost. The node bus
  (:mod:`node.bus`) carries what must arrive (requests to a call's owner, with retries);
  news to pages is state that the next message, or a page's ``get_state``, brings right;
- room membership is per process: each node puts its own sockets in rooms (an ``enter_room``
  for a socket elsewhere is published to its node);
- websockets only (kotha refuses long-polling anyway), so no sticky sessions are needed.

The manager's own log lines (one per failed publish, two tries each) are cut to one line
every 10 s, and its reconnection waits at most 2 s (its own backoff grows to a minute,
which would keep a node deaf long after Redis is back).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import socketio

logger = logging.getLogger(__name__)

MAX_RECONNECT_S = 2.0
LOG_EVERY_S = 10.0


class _Rarely(logging.Filter):
    """One record every ``every_s``; the operators read that Redis is away, not a flood."""

    def __init__(self, every_s: float) -> None:
        super().__init__()
        self._every_s = every_s
        self._said_at = -float("inf")

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self._said_at < self._every_s:
            return False
        self._said_at = now
        record.msg = (
            "socket.io news cannot reach the other nodes through Redis (%s); this node's "
            "own sockets still get theirs. Check that Redis (redis_url) is up"
        )
        record.args = (getattr(record, "redis_exception", "unreachable"),)
        record.levelno, record.levelname = logging.WARNING, "WARNING"  # calls go on
        return True


def _manager_logger() -> logging.Logger:
    log = logging.getLogger("signaling.fanout.manager")
    if not any(isinstance(f, _Rarely) for f in log.filters):
        log.addFilter(_Rarely(LOG_EVERY_S))
    log.setLevel(logging.WARNING)
    return log


class Fanout(socketio.AsyncRedisManager):
    """socket.io's Redis manager on kotha's prefix, quiet and quick to reconnect."""

    def __init__(self, url: str, *, prefix: str) -> None:
        super().__init__(
            url,
            channel=f"{prefix}socketio",
            logger=_manager_logger(),
            redis_options={"socket_connect_timeout": 2.0},
        )
        self._closed = False

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        wait = 0.1
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    wait = 0.1
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:
                self._get_logger().error(
                    "Cannot receive from redis", extra={"redis_exception": str(exc)}
                )
                subscribed = False
                await asyncio.sleep(wait)
                wait = min(MAX_RECONNECT_S, wait * 2)

    async def _publish(self, data: Any) -> Any:
        if self._closed:
            return None
        return await super()._publish(data)

    async def close(self) -> None:
        """Stop listening and let go of Redis (the app is shutting down)."""
        self._closed = True
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            await asyncio.gather(thread, return_exceptions=True)
        if self.redis is not None:
            try:
                await self.redis.aclose()
            except Exception as exc:  # already gone: nothing to let go of
                logger.debug("fan-out: closing Redis: %s", exc)


__all__ = ["Fanout"]
