"""A test stuck on an await fails, saying where each task of its event loop waits.

pytest-timeout (``timeout`` in pyproject.toml) fails a test that runs too long and the run
goes on; with its signal method the traceback shows only the event loop's ``select()``,
which names no await. This timer does the same and first prints every asyncio task's stack
(a teardown stuck on an aiortc close once used up CI's 90 minutes without a word).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest


def awaits(coro: Any) -> Iterator[str]:
    """Where a coroutine waits, from its outermost await to the innermost."""
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            yield f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None  # pytest-timeout's own timer

    def on_timeout(signum: int, frame: FrameType | None) -> None:
        __tracebackhide__ = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            tasks = asyncio.all_tasks(loop)
            print(f"\n{item.nodeid} is stuck; its {len(tasks)} tasks wait here:", file=sys.stderr)
            for task in tasks:
                print(f"- {task.get_name()}:", file=sys.stderr)
                for where in awaits(task.get_coro()):
                    print(f"    {where}", file=sys.stderr)
        pytest.fail(f"Timeout: the test was still running after {settings.timeout} s")

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel  # type: ignore[attr-defined]  # pytest-timeout's cancel calls it
    signal.signal(signal.SIGALRM, on_timeout)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True
