"""Fixtures of the attack tests: the real server in its own process, attackers, a probe call."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from media import aiortc_compat
from tests.attack.harness import AttackRun
from tests.attack.probe import CallProbe
from tests.attack.server import ServerProcess

StartServer = Callable[..., Awaitable[ServerProcess]]
StartAttack = Callable[..., Awaitable[AttackRun]]
StartProbe = Callable[[ServerProcess], Awaitable[CallProbe]]


@pytest.fixture
async def kotha(tmp_path: Path) -> AsyncIterator[StartServer]:
    """Start a kotha server process with config ``settings``; stopped after the test."""
    servers: list[ServerProcess] = []
    numbers = itertools.count()

    async def start(**settings: Any) -> ServerProcess:
        server = ServerProcess(tmp_path / f"server-{next(numbers)}", **settings)
        servers.append(server)
        await server.start()
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def attack(tmp_path: Path) -> AsyncIterator[StartAttack]:
    """Start an attacker process (``attack(name, server, **options)``); killed after the test."""
    runs: list[AttackRun] = []

    async def start(name: str, server: ServerProcess, **options: Any) -> AttackRun:
        run = await AttackRun.start(name, server, tmp_path / "attackers", **options)
        runs.append(run)
        return run

    yield start
    for run in runs:
        await run.close()


@pytest.fixture
async def probe() -> AsyncIterator[StartProbe]:
    """A real call on a server (``await probe(server)``), audio flowing; closed after the test."""
    # The peers in this process reach the server over 127.0.0.1 only.
    aiortc_compat.restrict_ice_addresses(["127.0.0.1"])
    probes: list[CallProbe] = []

    async def start(server: ServerProcess) -> CallProbe:
        call = CallProbe(server)
        probes.append(call)
        await call.start()
        return call

    yield start
    for call in probes:
        await call.close()
    aiortc_compat.restrict_ice_addresses([])
