"""The kotha server under test: started as an operator runs it, loaded through its REST API."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from callcenter.identity import Role
from client.participant import KothaClient
from signaling.auth import TokenAuthority

from .processes import STOP_TIMEOUT_S, child_env, log_tail, project_root, terminate

HEALTH_TIMEOUT_S = 30.0
JWT_SECRET_BYTES = 32
API_KEY = "kotha-bench-api-key-0123456789"
# Recorded and transcribed calls, without and with the conversation analytics.
ANALYTICS_MODES = ("transcribe", "analytics")


@dataclass(frozen=True)
class RunningServer:
    """A kotha server process under test, healthy, and how to reach it."""

    url: str
    secret: str  # its JWT secret: the bench issues staff tokens with it
    process: asyncio.subprocess.Process


@contextlib.asynccontextmanager
async def running_server(mode: str, workdir: Path) -> AsyncIterator[RunningServer]:
    """A server of ``mode`` (see :func:`start_server`) on a free port; stopped on the way out."""
    secret = secrets.token_urlsafe(JWT_SECRET_BYTES)
    port = free_port()
    process = await start_server(mode, port, secret, workdir)
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url, process, workdir / "server.log")
        yield RunningServer(url, secret, process)
    finally:
        await terminate(process, STOP_TIMEOUT_S)


async def start_server(
    mode: str,
    port: int,
    secret: str,
    workdir: Path,
    *,
    nodes: int = 1,
    redis: tuple[str, str] | None = None,
) -> asyncio.subprocess.Process:
    """kotha as an operator runs it (``kotha serve``); for ``transcode``, the naive relay.

    The naive relay is the same server with another media plane
    (``python -m bench.baseline_server``, same flags and settings). ``redis``: the call
    centre's state in that Redis (URL, key prefix); ``nodes`` > 1: ``kotha serve --nodes``,
    that many node processes on the one port.
    """
    env = child_env()
    if redis is not None:
        env.update(KOTHA_REDIS_URL=redis[0], KOTHA_REDIS_PREFIX=redis[1])
    env.update(
        KOTHA_ICE_ADDRESSES="127.0.0.1",
        KOTHA_DATA_DIR=str(workdir / "data"),
        KOTHA_JWT_SECRET=secret,
        KOTHA_API_KEYS=API_KEY,
        KOTHA_LOG_LEVEL="WARNING",
        KOTHA_LOG_FORMAT="text",
        KOTHA_MAX_QUEUE="10000",
        # Every client of the load comes from 127.0.0.1 with one API key: the limits per
        # address and per key (which would refuse the 31st socket in a burst, the 65th
        # connection, the 61st call made at once) are for the internet, not for the bench.
        KOTHA_MAX_CONNECTIONS_PER_ADDRESS="100000",
        KOTHA_SOCKET_CONNECTS_PER_ADDRESS_PER_MIN="1000000",
        KOTHA_API_CALLS_PER_MIN="1000000",
        # The relay figures are the relay's own; the ``record`` mode (``--record``)
        # is the same forwarding with every call recorded, as deployed by default.
        # The ``monitor`` mode (``--monitor``) is plain forwarding: its supervisors
        # are clients, and listening is never recorded anyway.
        KOTHA_RECORDING_ENABLED="true" if mode in ("record", *ANALYTICS_MODES) else "false",
    )
    if mode in ANALYTICS_MODES:
        # A recorded call transcribed live by the Korean model (the calls are made in
        # Bengali), with the conversation analytics off, then on: what they add.
        env.update(
            KOTHA_TRANSCRIBE_LANGUAGES='{"bn": "ko"}',
            KOTHA_CONVERSATION_ANALYTICS="true" if mode == "analytics" else "false",
        )
    log = (workdir / "server.log").open("wb")
    command: tuple[str, ...] = ("signaling", "serve")
    if mode == "transcode":
        command = ("bench.baseline_server",)
    elif nodes > 1:
        command = ("signaling", "serve", "--nodes", str(nodes))
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *command,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        cwd=project_root(),
        env=env,
    )


async def wait_healthy(url: str, server: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                raise RuntimeError(
                    f"the server exited with {server.returncode}:\n{log_tail([log])}"
                )
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server was not healthy within {HEALTH_TIMEOUT_S:.0f} s")


async def create_calls(
    url: str, secret: str, count: int, *, media: str = "audio", supervised: bool = False
) -> list[dict[str, str]]:
    """``count`` calls made through the REST API, with a distinct agent for each.

    Args:
        media: ``audio`` or ``video``.
        supervised: also a distinct supervisor for each call (``supervisor``
            token): a supervisor monitors one call at a time.
    """
    authority = TokenAuthority(secret)
    specs: list[dict[str, str]] = []
    async with aiohttp.ClientSession(headers={"X-API-Key": API_KEY}) as session:
        for index in range(count):
            body = {
                "customer": {"id": f"bench-customer-{index}", "name": f"Customer {index}"},
                "language": "bn",
                "media": media,
            }
            async with session.post(f"{url}/api/calls", json=body) as response:
                if response.status != 201:
                    text = await response.text()
                    raise RuntimeError(f"POST /api/calls: {response.status} {text}")
                created = await response.json()
            agent = authority.issue(
                Role.AGENT, f"bench-agent-{index}", name=f"Agent {index}", ttl_s=3600
            )
            spec = {
                "call_id": created["call_id"],
                "customer_token": created["token"],
                "agent": agent,
            }
            if supervised:
                spec["supervisor"] = authority.issue(
                    Role.SUPERVISOR,
                    f"bench-supervisor-{index}",
                    name=f"Supervisor {index}",
                    ttl_s=3600,
                )
            specs.append(spec)
    return specs


async def take_call(
    customer: KothaClient, agent: KothaClient, call_id: str, *, media: str = "audio"
) -> None:
    """Signalling only: both connect, the customer asks, the call's own agent takes it."""
    await customer.connect()
    await agent.connect()
    await customer.request_call(media=media)
    await agent.set_availability("available")
    await agent.accept_call(call_id)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
