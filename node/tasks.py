"""Owned background tasks and timers: whoever starts one can stop all of them."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Hashable
from typing import Any

logger = logging.getLogger(__name__)


class TaskSet:
    """Keeps a reference to every task it starts and cancels them on ``close()``.

    A task's exception is logged, never lost and never raised into the loop.
    Timers are named, so re-arming one replaces it.
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any] | None:
        if self._closed:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._owner}::{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def call_later(
        self, name: str, delay: float, factory: Callable[[], Coroutine[Any, Any, Any]]
    ) -> None:
        """Run ``factory()`` as a task after ``delay`` seconds, replacing a timer of that name."""
        self.cancel_timer(name)
        if self._closed:
            return

        def fire() -> None:
            self._timers.pop(name, None)
            self.spawn(factory(), name)

        self._timers[name] = asyncio.get_running_loop().call_later(delay, fire)

    def cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    async def close(self) -> None:
        self._closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("task %s failed", task.get_name(), exc_info=task.exception())


class Lanes:
    """Coroutines that must run one at a time, in order, per lane; lanes run side by side.

    One lane per recipient keeps what each one is sent in the order it was made
    (a slow send of a partial cannot be overtaken by the final after it), while
    a slow recipient holds up only itself. Each lane's runner is a task of
    ``tasks``, so closing the TaskSet cancels and awaits them; what was still
    waiting in a lane is then dropped.
    """

    def __init__(self, tasks: TaskSet) -> None:
        self._tasks = tasks
        self._lanes: dict[Hashable, deque[Coroutine[Any, Any, Any]]] = {}

    def run(self, lane: Hashable, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` after everything queued before it in ``lane``."""
        queued = self._lanes.get(lane)
        if queued is not None:
            queued.append(coro)
            return
        queued = deque([coro])
        if self._tasks.spawn(self._drain(lane, queued), f"lane {lane}") is None:
            coro.close()  # the owner is closed: nothing runs any more
            return
        self._lanes[lane] = queued

    async def _drain(self, lane: Hashable, queued: deque[Coroutine[Any, Any, Any]]) -> None:
        try:
            while queued:
                try:
                    await queued[0]
                except Exception:
                    logger.exception("lane %s: a task failed; the next goes on", lane)
                del queued[0]  # run: out of the lane
        finally:
            if self._lanes.get(lane) is queued:
                del self._lanes[lane]
            for left in queued:  # cancelled: the rest never runs
                left.close()
