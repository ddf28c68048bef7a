"""Redis, shared by two nodes, stops for 30 s in the middle of a call, then comes back.

Karim's page is on node A and Rahim's console on node B; the call's media is on one of
them. While Redis is away the two keep hearing each other every second, both nodes stay
live (``/healthz``) but not ready (``/readyz``), and a new call is refused with "busy, try
again". When Redis is back (restarted with its append-only file, as ``kotha serve --nodes``
runs it) the nodes find it again by themselves: ready again, the node bus and socket.io's
manager carry news between them again, and a new call goes through.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import aiohttp
import pytest

from callcenter.identity import Role
from media.source import SourceKind
from node.events import ServerEvent
from signaling.local_redis import LocalRedis, start_redis
from tests.conftest import NodeFactory, Server, connect_call, connect_refusal
from tests.support import Ear, ToneTrack

pytestmark = pytest.mark.own_redis

CUSTOMER_HZ, AGENT_HZ = 440.0, 660.0
OUTAGE_S = 30.0


async def status(server: Server, path: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(server.url + path) as response:
        return response.status


async def until(check: object, what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"waited {timeout_s} s for {what}"
        await asyncio.sleep(0.2)


async def test_a_call_across_two_nodes_outlives_30_s_without_redis(
    add_node: NodeFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    redis: LocalRedis = start_redis(tmp_path / "redis", keep=True)
    try:
        shared = {"redis_url": redis.url, "transcribe_enabled": False}
        a = await add_node("node-a", **shared)
        b = await add_node("node-b", **shared)
        karim_hears, rahim_hears = Ear(), Ear()
        pair = await connect_call(
            a,
            agent_node=b,
            customer_sources={SourceKind.MICROPHONE: ToneTrack(CUSTOMER_HZ)},
            agent_sources={SourceKind.MICROPHONE: ToneTrack(AGENT_HZ)},
            customer_options={"on_track": karim_hears},
            agent_options={"on_track": rahim_hears},
        )
        call_id, karim, rahim = pair.call_id, pair.customer, pair.agent
        await rahim_hears.wait_for(CUSTOMER_HZ, timeout=15)
        await karim_hears.wait_for(AGENT_HZ, timeout=15)

        redis.stop()
        stopped = time.perf_counter()
        # Every second of the outage, each still hears the other.
        while (elapsed := time.perf_counter() - stopped) < OUTAGE_S:
            await asyncio.sleep(1.0)
            now = time.perf_counter()
            assert rahim_hears.heard(CUSTOMER_HZ, since=now - 1.0), f"silence at {elapsed:.0f} s"
            assert karim_hears.heard(AGENT_HZ, since=now - 1.0), f"silence at {elapsed:.0f} s"
            if 10 < elapsed < 11:  # past the directory's time to live
                for node in (a, b):
                    assert await status(node, "/healthz") == 200
                    assert await status(node, "/readyz") == 503
                refused = await connect_refusal(a, {"token": a.token(Role.AGENT, "Nadia")})
                assert refused["code"] == "busy" and "try again" in refused["message"]

        redis = redis.restart()
        for node in (a, b):
            await until(lambda node=node: _ready(node), f"{node.switchboard.node_id} ready")
        print(f"ready again {time.perf_counter() - stopped - OUTAGE_S:.1f} s after Redis")

        # News crosses the nodes again: Rahim mutes on B; Karim's page on A is told.
        await rahim.request(
            "set_track_state", {"call_id": call_id, "kind": "audio", "enabled": False}
        )
        await karim.wait_for(
            ServerEvent.PARTICIPANT_UPDATED,
            lambda p: p["participant"]["role"] == "agent" and not p["participant"]["audio_enabled"],
        )
        # And a new call goes through.
        await rahim.hang_up()
        call_id3, token3 = await a.customer_call("Sadia")
        sadia = a.client(token3)
        await sadia.connect()
        await sadia.request_call(media="audio")
        await rahim.accept_call(call_id3)
        for ear in (karim_hears, rahim_hears):
            await ear.close()
        # The operators read that Redis was away in a few lines, no traceback, no flood.
        lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert not [r for r in lines if r.exc_info], "a traceback in the log"
        assert len(lines) <= 20, [r.getMessage()[:120] for r in lines]
        assert all(r.levelno == logging.WARNING for r in lines), "calls went on: no errors"
    finally:
        redis.stop()


async def _ready(node: Server) -> bool:
    return await status(node, "/readyz") == 200
