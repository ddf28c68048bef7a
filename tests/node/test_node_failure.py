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
from typing import Any

import pytest

from callcenter.identity import Role
from callcenter.states import CallState
from callcenter.values import CallValue
from client.participant import KothaClient
from media.source import SourceKind
from node.events import ServerEvent
from recording.finalize import is_finished
from tests.conftest import NodeFactory, Server, ServerFactory
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


@dataclass
class Parties:
    """Karim and Rahim, both connected to node A, on a call whose media is elsewhere."""

    call_id: str
    karim: KothaClient
    rahim: KothaClient
    karim_hears: Ear
    rahim_hears: Ear

    async def close(self) -> None:
        for ear in (self.karim_hears, self.rahim_hears):
            await ear.close()

    async def join_again_when_told(self, since: float, reason: str) -> float:
        """As the pages do: told the media failed, each joins the call again; returns when
        both hear each other again."""
        for party in (self.karim, self.rahim):
            told = await party.wait_for(
                ServerEvent.MEDIA_FAILED, lambda p: reason in p["reason"], timeout=BACK_WITHIN_S
            )
            assert told["call_id"] == self.call_id
            assert "join the call again" in told["reason"]
        print(f"told to join again {time.perf_counter() - since:.1f} s after")
        await asyncio.gather(self.karim.join_call(), self.rahim.join_call())
        heard = await self.rahim_hears.wait_for(CUSTOMER_HZ, after=time.perf_counter())
        heard = max(heard, await self.karim_hears.wait_for(AGENT_HZ, after=time.perf_counter()))
        return heard - since


async def call_on_another_node(a: Server, owner: str) -> Parties:
    """Karim calls and Rahim takes it, both through node A; the media is on ``owner``."""
    karim_hears, rahim_hears = Ear(), Ear()
    call_id, token = await a.customer_call("Karim")
    karim = a.client(
        token, sources={SourceKind.MICROPHONE: ToneTrack(CUSTOMER_HZ)}, on_track=karim_hears
    )
    rahim = a.client(
        a.token(Role.AGENT, "Rahim"),
        sources={SourceKind.MICROPHONE: ToneTrack(AGENT_HZ)},
        on_track=rahim_hears,
    )
    parties = Parties(call_id, karim, rahim, karim_hears, rahim_hears)
    await karim.connect()
    await rahim.connect()
    await karim.request_call(media="audio")
    await rahim.set_availability("available")
    await rahim.accept_call(call_id)
    call = await a.switchboard.fresh(call_id)
    assert call is not None and call.media_node == owner
    await asyncio.gather(karim.join_call(call_id), rahim.join_call(call_id))
    await rahim_hears.wait_for(CUSTOMER_HZ, timeout=15)
    await karim_hears.wait_for(AGENT_HZ, timeout=15)
    await asyncio.sleep(2.0)  # some seconds of the call recorded there
    return parties


async def goes_on_at_a(a: Server, parties: Parties) -> CallValue:
    """The call is node A's now; a while later Karim hangs up; the recording is finished."""
    call = await a.switchboard.fresh(parties.call_id)
    assert call is not None and call.media_node == "node-a"
    assert call.agent is not None and call.state is CallState.ACTIVE
    assert a.switchboard.room_of(parties.call_id) is not None
    await asyncio.sleep(2.0)  # some seconds recorded on node A
    await parties.karim.hang_up()
    await parties.rahim.wait_for(ServerEvent.CALL_ENDED)
    await a.switchboard.recordings.settle()
    return call


async def test_a_killed_node_s_call_goes_on_on_another_and_its_recording_continues(
    two_nodes: TwoNodes,
) -> None:
    a = two_nodes.a
    parties = await call_on_another_node(a, "node-b")
    try:
        killed, killed_at = time.perf_counter(), time.time()
        await two_nodes.b.kill()
        back = await parties.join_again_when_told(killed, "stopped")
        print(f"both hear each other again {back:.1f} s after the kill")
        assert back < BACK_WITHIN_S, f"the call came back {back:.1f} s after the kill"
        call = await goes_on_at_a(a, parties)
    finally:
        await parties.close()
    events = check_recording(a.switchboard.recordings.folder_of(call))
    # Node B's files, cut off by the kill, play up to within 2 s of it (1 s clusters).
    started = next(e for e in events if e["type"] == "recording_started")
    kill_ms = (killed_at - started["at"]) * 1000
    assert first_part_end(a, call) >= kill_ms - 2000


async def test_a_stopping_node_hands_its_calls_to_another_that_goes_on_recording(
    add_node: NodeFactory, tmp_path: Path
) -> None:
    """SIGTERM on node B: it is out of selection at once, the call's media moves to node A
    and both parties join again there; B closes its part of the recording whole and stops."""
    shared = {"data_dir": tmp_path / "shared", "transcribe_enabled": False}
    b = await add_node("node-b", max_calls=50, **shared)
    a = await add_node("node-a", max_calls=5, **shared)
    await a.switchboard.heartbeat.beat()
    await b.switchboard.heartbeat.beat()
    parties = await call_on_another_node(a, "node-b")
    try:
        stopping, stopped_at = time.perf_counter(), time.time()
        await b.stop()  # as SIGTERM: drain, close the sockets, clean up
        back = await parties.join_again_when_told(stopping, "shutting down")
        print(f"both hear each other again {back:.1f} s after the stop")
        assert back < BACK_WITHIN_S
        await a.switchboard.heartbeat.beat()
        assert "node-b" not in {n.node_id for n in a.switchboard.heartbeat.nodes}, "B stays"
        call = await goes_on_at_a(a, parties)
    finally:
        await parties.close()
    events = check_recording(a.switchboard.recordings.folder_of(call))
    handed = [e for e in events if e["type"] == "recording_handed_over"]
    assert [e["to_node"] for e in handed] == ["node-a"]
    # B closed its files whole: its part reaches the moment it stopped.
    started = next(e for e in events if e["type"] == "recording_started")
    assert first_part_end(a, call) >= (stopped_at - started["at"]) * 1000 - 300


def check_recording(folder: Path) -> list[dict[str, Any]]:
    """Both parts of the call in one finished recording, in place on the call's clock;
    returns its timeline."""
    assert is_finished(folder), "the recording was not finished"
    first, second = parts_of(folder)
    assert {s["role"] for s in first} == {"customer", "agent"}, "node B's part is missing"
    assert {s["role"] for s in second} == {"customer", "agent"}, "node A's part is missing"
    # The second part follows the first on the call's clock, and the call plays through.
    assert min(s["first_ms"] for s in second) > max(s["last_ms"] for s in first) - 500
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["duration_ms"] >= max(s["last_ms"] for s in second)
    assert "playback" in meta["renditions"], meta["renditions"]
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    started = next(e for e in events if e["type"] == "recording_started")
    assert started["node"] == "node-b"
    continued = [e for e in events if e["type"] == "recording_continued"]
    assert [(e["segment"], e["node"]) for e in continued] == [(2, "node-a")]
    return events


def parts_of(folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The microphones' streams of the first segment and of the second."""
    meta = json.loads((folder / "meta.json").read_text())
    mics = [s for s in meta["streams"] if s["source"] == "microphone"]
    second = [s for s in mics if s["file"].endswith("-s2.webm")]
    return [s for s in mics if s not in second], second


def first_part_end(a: Server, call: CallValue) -> int:
    first, _ = parts_of(a.switchboard.recordings.folder_of(call))
    return max(int(s["last_ms"]) for s in first)


async def test_a_customer_whose_node_died_has_the_grace_to_come_back_then_the_call_ends(
    two_nodes: TwoNodes,
) -> None:
    """Karim's page was connected to node B when B was killed, and never comes back. Node A
    learns from B's last beat that Karim was connected there: he is disconnected, and after
    the rejoin grace the call ends as any call whose customer left; Rahim is free again."""
    a, b = two_nodes.a, two_nodes.b
    call_id, token = await a.customer_call("Karim")
    karim = KothaClient(b.url, token)  # his page, served by node B
    rahim = a.client(a.token(Role.AGENT, "Rahim"))
    try:
        await karim.connect()
        await rahim.connect()
        await karim.request_call(media="audio")
        await rahim.set_availability("available")
        await rahim.accept_call(call_id)
        killed = time.perf_counter()
        await two_nodes.b.kill()
        ended = await rahim.wait_for(ServerEvent.CALL_ENDED, timeout=30)
        print(f"the call ended {time.perf_counter() - killed:.1f} s after the kill")
        assert ended["reason"] == "disconnected"
        state = await rahim.request("get_state")
        assert state["agent"]["state"] == "available" and state["call"] is None
    finally:
        await karim.close()
