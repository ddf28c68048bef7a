"""A close that runs to its end once, however many callers await it or give up waiting.

aiortc's ``RTCPeerConnection.close()``, cut short by a cancelled caller, leaves the
connection's "closed" future pending: every later ``close()`` waits on it forever and the
transports are never stopped. A test client closed while it was replacing its old peer hung
CI for an hour that way. :class:`CloseOnce` runs the close as a task of its own, which a
caller's cancellation does not reach; each caller (the first, or one that comes while it
runs, or after) returns when the close is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class CloseOnce:
    """Owns the one task that closes something; awaiting it again waits for the same close."""

    def __init__(self, close: Callable[[], Coroutine[Any, Any, None]], *, name: str) -> None:
        self._close = close
        self._name = name
        self._task: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self._task is not None

    async def __call__(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._close(), name=self._name)
        await asyncio.shield(self._task)
