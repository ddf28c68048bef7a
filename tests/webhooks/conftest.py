"""A receiver (the shop's backend) and dispatchers on a test's own directory."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.webhooks.receiver import Receiver
from webhooks import Dispatcher, Endpoint, EventType, RetryPolicy

SECRET = "whsec-test-0123456789abcdef"
# Retries within tenths of a second, so a test sees many of them.
FAST = RetryPolicy(base_s=0.05, cap_s=0.2, max_attempts=100, max_age_s=3600)

OpenDispatcher = Callable[..., Awaitable[Dispatcher]]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    shop = Receiver(SECRET)
    await shop.start()
    yield shop
    await shop.stop()


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "webhooks"


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` (the dispatcher's state, which has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not so within {timeout} s"
        await asyncio.sleep(0.02)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def a_call(dispatcher: Dispatcher, call_id: str) -> None:
    """A call's life: queued, answered, ended."""
    await dispatcher.publish(
        EventType.CALL_QUEUED,
        call_id,
        {"language": "bn", "queued_at": 1767000000.0, "customer": {"id": "shop-7"}},
    )
    await dispatcher.publish(
        EventType.CALL_ANSWERED,
        call_id,
        {"agent_id": "rahim", "agent_name": "Rahim", "answered_at": 1767000012.5, "wait_s": 12.5},
    )
    await dispatcher.publish(
        EventType.CALL_ENDED,
        call_id,
        {"ended_at": 1767000300.0, "handle_s": 287.5, "ended_by": "customer", "agent_id": "rahim"},
    )


def endpoint(url: str, name: str = "shop", **options: Any) -> Endpoint:
    return Endpoint(name=name, url=url, secret=SECRET, **options)


@pytest.fixture
async def open_dispatcher(directory: Path) -> AsyncIterator[OpenDispatcher]:
    """Start a dispatcher on the test's directory (closed at the end if the test did not)."""
    opened: list[Dispatcher] = []

    async def start(*endpoints: Endpoint, **options: Any) -> Dispatcher:
        options.setdefault("policy", FAST)
        dispatcher = Dispatcher(directory, endpoints, **options)
        await dispatcher.start()
        opened.append(dispatcher)
        return dispatcher

    yield start
    for dispatcher in opened:
        await dispatcher.close()
