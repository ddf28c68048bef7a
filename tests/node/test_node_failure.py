"""A node killed mid-call (kill -9): its calls go on on another node.

Node B is a real process (``kotha serve``) that carries the call's media; the customer's
page and the agent's console are connected to node A. B is killed with SIGKILL: A notices
within a few seconds (B stops beating), moves the call's media to itself and tells both
parties to join again; they do, as the pages do, and hear each other again within 10 s of
the kill. The recording goes on in a new segment in the same folder (the two nodes share
the disk), and the finished recording has both parts, in place on the call's clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.identity import Role
from media.source import SourceKind
from node.events import ServerEvent
from recording.finalize import is_finished
from tests.conftest import Server, ServerFactory
from tests.redis_server import RedisServer
from tests.server_process import ServerProcess
from tests.support import Ear, ToneTrack

CUSTOMER_HZ, AGENT_HZ = 440.0, 660.0
BACK_WITHIN_S = 10.0


@dataclass
class TwoNodes:
    a: Server
    b: ServerProcess


@pytest.fixture
async def two_nodes(
    start_server: ServerFactory, redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[TwoNodes]:
    """Node B as an operator runs it (its own process) and node A in the tests' process,
    sharing Redis and the disk; B has the more room, so it takes the call."""
    shared = {
        "redis_url": redis_server.url,
        "redis_prefix": f"test:{os.urandom(4).hex()}:",
        "transcribe_enabled": "false",
        "rejoin_grace_s": "5",
    }
    b = ServerProcess(
        tmp_path / "shared", {**shared, "node_id": "node-b", "max_calls": "50"}, name="node-b"
    )
    await b.start(ready_path="/readyz")
    try:
        a = await start_server(
            node_id="node-a",
            max_calls=5,
            data_dir=tmp_path / "shared",
            redis_url=shared["redis_url"],
            redis_prefix=shared["redis_prefix"],
            transcribe_enabled=False,
        )
        await a.switchboard.heartbeat.beat()
        yield TwoNodes(a, b)
    finally:
        await b.stop()


async def test_a_killed_node_s_call_goes_on_on_another_and_its_recording_continues(
    two_nodes: TwoNodes,
) -> None:
    a = two_nodes.a
    customer_ear, agent_ear = Ear(), Ear()
    call_id, token = await a.customer_call("Karim")
    karim = a.client(
        token, sources={SourceKind.MICROPHONE: ToneTrack(CUSTOMER_HZ)}, on_track=customer_ear
    )
    rahim = a.client(
        a.token(Role.AGENT, "Rahim"),
        sources={SourceKind.MICROPHONE: ToneTrack(AGENT_HZ)},
        on_track=agent_ear,
    )
    try:
        await karim.connect()
        await rahim.connect()
        await karim.request_call(media="audio")
        await rahim.set_availability("available")
        await rahim.accept_call(call_id)
        call = await a.switchboard.fresh(call_id)
        assert call is not None and call.media_node == "node-b"
        await asyncio.gather(karim.join_call(call_id), rahim.join_call(call_id))
        await agent_ear.wait_for(CUSTOMER_HZ, timeout=15)
        await customer_ear.wait_for(AGENT_HZ, timeout=15)
        await asyncio.sleep(2.0)  # some seconds of the call recorded on node B

        killed, killed_at = time.perf_counter(), time.time()
        await two_nodes.b.kill()
        # As the pages do: told the media failed, each joins the call again.
        for party in (karim, rahim):
            told = await party.wait_for(ServerEvent.MEDIA_FAILED, timeout=BACK_WITHIN_S)
            assert told["call_id"] == call_id
            assert "join the call again" in told["reason"]
        noticed = time.perf_counter() - killed
        await asyncio.gather(karim.join_call(call_id), rahim.join_call(call_id))
        heard_agent = await agent_ear.wait_for(CUSTOMER_HZ, after=time.perf_counter())
        heard_customer = await customer_ear.wait_for(AGENT_HZ, after=time.perf_counter())
        back = max(heard_agent, heard_customer) - killed
        print(f"noticed {noticed:.1f} s after the kill; both hear again at {back:.1f} s")
        assert back < BACK_WITHIN_S, f"the call came back {back:.1f} s after the kill"

        call = await a.switchboard.fresh(call_id)
        assert call is not None and call.media_node == "node-a"
        assert call.agent is not None and call.state.value == "active"
        assert a.switchboard.room_of(call_id) is not None
        await asyncio.sleep(2.0)  # some seconds recorded on node A
        await karim.hang_up()
        await rahim.wait_for(ServerEvent.CALL_ENDED)
    finally:
        for ear in (customer_ear, agent_ear):
            await ear.close()

    await a.switchboard.recordings.settle()
    check_recording(a.switchboard.recordings.folder_of(call), killed_at)


def check_recording(folder: Path, killed_at: float) -> None:
    """Both parts of the call in one finished recording, in place on the call's clock."""
    assert is_finished(folder), "the recording was not finished"
    meta = json.loads((folder / "meta.json").read_text())
    mics = sorted(
        (s for s in meta["streams"] if s["source"] == "microphone"), key=lambda s: s["first_ms"]
    )
    first = [s for s in mics if not s["file"].endswith("-s2.webm")]
    second = [s for s in mics if s["file"].endswith("-s2.webm")]
    assert {s["role"] for s in first} == {"customer", "agent"}, "node B's part is missing"
    assert {s["role"] for s in second} == {"customer", "agent"}, "node A's part is missing"
    # The second part follows the first on the call's clock, and the call plays through.
    assert min(s["first_ms"] for s in second) > max(s["last_ms"] for s in first) - 500
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    started = next(e for e in events if e["type"] == "recording_started")
    assert started["node"] == "node-b"
    kill_ms = (killed_at - started["at"]) * 1000
    # Node B's files, cut off by the kill, play up to within 2 s of it (1 s clusters).
    assert max(s["last_ms"] for s in first) >= kill_ms - 2000, (kill_ms, first)
    assert meta["duration_ms"] >= max(s["last_ms"] for s in second)
    continued = [e for e in events if e["type"] == "recording_continued"]
    assert [(e["segment"], e["node"]) for e in continued] == [(2, "node-a")]
    assert "playback" in meta["renditions"], meta["renditions"]
