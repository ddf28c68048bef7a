"""One call centre on two nodes sharing one Redis: a call whose parties are on different nodes.

The customer's page is served by node A, the agent's console by node B. The call's media
opens on the node of the agent who takes it (B); everything the customer's socket asks
about the call is relayed from A to B over the node bus, and what B tells the customer
reaches A's socket through socket.io's Redis manager. Real aiortc peers, real tones.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.identity import Role
from callcenter.states import CallState
from client.participant import KothaClient
from media.source import SourceKey, SourceKind
from node.events import ServerEvent
from tests.conftest import Server, ServerFactory
from tests.redis_server import RedisServer
from tests.support import Ear, ToneTrack

CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ = 440.0, 660.0, 880.0


@dataclass
class TwoNodes:
    a: Server
    b: Server


@pytest.fixture
async def two_nodes(
    start_server: ServerFactory, redis_server: RedisServer, tmp_path: Path
) -> TwoNodes:
    shared = {"redis_url": redis_server.url, "redis_prefix": f"test:{secrets.token_hex(4)}:"}
    a = await start_server(node_id="node-a", data_dir=tmp_path / "a", **shared)
    b = await start_server(node_id="node-b", data_dir=tmp_path / "b", **shared)
    return TwoNodes(a, b)


@dataclass
class SplitCall:
    call_id: str
    customer: KothaClient
    agent: KothaClient
    customer_ear: Ear
    agent_ear: Ear


@pytest.fixture
async def split_call(two_nodes: TwoNodes) -> AsyncIterator[SplitCall]:
    """Karim calls through node A; Rahim, signed in on node B, takes it; both join."""
    a, b = two_nodes.a, two_nodes.b
    customer_ear, agent_ear = Ear(), Ear()
    call_id, token = await a.customer_call("Karim")
    karim = a.client(
        token, sources={SourceKind.MICROPHONE: ToneTrack(CUSTOMER_HZ)}, on_track=customer_ear
    )
    rahim = b.client(
        b.token(Role.AGENT, "Rahim"),
        sources={SourceKind.MICROPHONE: ToneTrack(AGENT_HZ)},
        on_track=agent_ear,
    )
    await karim.connect()
    await rahim.connect()
    await karim.request_call(media="audio")
    await rahim.set_availability("available")
    await rahim.accept_call(call_id)
    await asyncio.gather(karim.join_call(call_id), rahim.join_call(call_id))
    yield SplitCall(call_id, karim, rahim, customer_ear, agent_ear)
    for ear in (customer_ear, agent_ear):
        await ear.close()


async def test_a_customer_on_one_node_and_an_agent_on_another_hear_each_other(
    two_nodes: TwoNodes, split_call: SplitCall
) -> None:
    await split_call.agent_ear.wait_for(CUSTOMER_HZ)
    await split_call.customer_ear.wait_for(AGENT_HZ)
    # The media is on the agent's node only; the customer's node relayed the signalling.
    assert two_nodes.b.switchboard.room_of(split_call.call_id) is not None
    assert two_nodes.a.switchboard.room_of(split_call.call_id) is None
    call = await two_nodes.a.switchboard.registry.call(split_call.call_id)
    assert call is not None and call.media_node == "node-b"
    assert two_nodes.a.switchboard.cluster.bus is not None
    assert two_nodes.a.switchboard.cluster.bus.stats.sent > 0, "nothing was relayed"


async def test_the_customer_hangs_up_on_their_node_and_the_agents_node_ends_the_call(
    two_nodes: TwoNodes, split_call: SplitCall
) -> None:
    await split_call.agent_ear.wait_for(CUSTOMER_HZ)
    await split_call.customer.hang_up()
    ended = await split_call.agent.wait_for(ServerEvent.CALL_ENDED)
    assert ended["reason"] == "hung_up"
    assert two_nodes.b.switchboard.room_of(split_call.call_id) is None, "the media stayed open"
    for node in (two_nodes.a, two_nodes.b):
        call = await node.switchboard.fresh(split_call.call_id)
        assert call is not None and call.state is CallState.ENDED
    # Rahim is free again, as every node reads him.
    state = await split_call.agent.request("get_state")
    assert state["agent"]["state"] == "available"


async def test_a_supervisor_on_one_node_listens_to_a_call_on_another(
    two_nodes: TwoNodes, split_call: SplitCall
) -> None:
    """Nasrin's dashboard is on node A; the call's media is on node B. She hears both
    parties; neither hears her."""
    await split_call.agent_ear.wait_for(CUSTOMER_HZ)
    await split_call.customer_ear.wait_for(AGENT_HZ)
    ear = Ear()
    nasrin = two_nodes.a.client(
        two_nodes.a.token(Role.SUPERVISOR, "Nasrin"),
        sources={SourceKind.MICROPHONE: ToneTrack(SUPERVISOR_HZ)},
        on_track=ear,
    )
    await nasrin.connect()
    try:
        joined = await nasrin.monitor_call(split_call.call_id, "listen")
        await ear.wait_for(CUSTOMER_HZ)
        await ear.wait_for(AGENT_HZ)
        checked_from = time.perf_counter()
        await asyncio.sleep(1.5)
        assert split_call.customer_ear.heard(SUPERVISOR_HZ, since=checked_from) == []
        assert split_call.agent_ear.heard(SUPERVISOR_HZ, since=checked_from) == []
        room = two_nodes.b.switchboard.room(split_call.call_id)
        mic = room.router.source(SourceKey(joined["participant_id"], SourceKind.MICROPHONE))
        assert mic.frames_received > 0, "the supervisor's peer sent nothing: this proves nothing"
        # The agent's console on node B is told who listens, as on one node.
        told = await split_call.agent.wait_for(
            ServerEvent.MONITOR_UPDATED, lambda p: len(p["monitors"]) == 1
        )
        assert told["monitors"][0]["mode"] == "listen"
    finally:
        await ear.close()
