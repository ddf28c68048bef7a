"""One call centre on two nodes sharing one Redis: a call whose parties are on different nodes.

The customer's page is served by node A, the agent's console by node B. The call's media
opens on the node with the most headroom when the agent takes it (either, here); what the
other party's socket asks about the call is relayed to that node over the node bus, and what
the owner tells a party reaches their socket through socket.io's Redis manager. Real aiortc
peers, real tones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.identity import Role
from callcenter.states import CallState
from client.participant import ClientError, KothaClient
from media.source import SourceKey, SourceKind
from node.events import ServerEvent
from tests.conftest import NodeFactory, Server, api_request, connect_call
from tests.support import Ear, ToneTrack

CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ = 440.0, 660.0, 880.0


@dataclass
class TwoNodes:
    a: Server
    b: Server

    def owner_of(self, call_id: str) -> Server:
        """The node with the call's room (and checks that the other has none)."""
        owners = [n for n in (self.a, self.b) if n.switchboard.room_of(call_id) is not None]
        assert len(owners) == 1, f"the call's media is on {len(owners)} nodes"
        return owners[0]

    def other(self, node: Server) -> Server:
        return self.b if node is self.a else self.a


@pytest.fixture
async def two_nodes(add_node: NodeFactory) -> TwoNodes:
    return TwoNodes(await add_node("node-a"), await add_node("node-b"))


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
    customer_ear, agent_ear = Ear(), Ear()
    pair = await connect_call(
        two_nodes.a,
        agent_node=two_nodes.b,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(CUSTOMER_HZ)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(AGENT_HZ)},
        customer_options={"on_track": customer_ear},
        agent_options={"on_track": agent_ear},
    )
    yield SplitCall(pair.call_id, pair.customer, pair.agent, customer_ear, agent_ear)
    for ear in (customer_ear, agent_ear):
        await ear.close()


async def test_a_customer_on_one_node_and_an_agent_on_another_hear_each_other(
    two_nodes: TwoNodes, split_call: SplitCall
) -> None:
    await split_call.agent_ear.wait_for(CUSTOMER_HZ)
    await split_call.customer_ear.wait_for(AGENT_HZ)
    # The media is on one node; the other party's node relayed their signalling.
    owner = two_nodes.owner_of(split_call.call_id)
    call = await two_nodes.a.switchboard.registry.call(split_call.call_id)
    assert call is not None and call.media_node == owner.switchboard.node_id
    relaying = two_nodes.other(owner).switchboard.cluster.bus
    assert relaying is not None and relaying.stats.sent > 0, "nothing was relayed"


async def test_the_customer_hangs_up_on_their_node_and_the_agents_node_ends_the_call(
    two_nodes: TwoNodes, split_call: SplitCall
) -> None:
    await split_call.agent_ear.wait_for(CUSTOMER_HZ)
    owner = two_nodes.owner_of(split_call.call_id)
    await split_call.customer.hang_up()
    ended = await split_call.agent.wait_for(ServerEvent.CALL_ENDED)
    assert ended["reason"] == "hung_up"
    assert owner.switchboard.room_of(split_call.call_id) is None, "the media stayed open"
    for node in (two_nodes.a, two_nodes.b):
        call = await node.switchboard.fresh(split_call.call_id)
        assert call is not None and call.state is CallState.ENDED
    # Rahim is free again, as every node reads him.
    state = await split_call.agent.request("get_state")
    assert state["agent"]["state"] == "available"


async def test_a_supervisor_on_one_node_listens_whispers_and_barges_into_a_call_on_another(
    two_nodes: TwoNodes, split_call: SplitCall
) -> None:
    """Nasrin's dashboard is on the node that does not have the call's media. Listening,
    she hears both parties and neither hears her; whispering, the agent hears her; barging
    in, the customer does too."""
    await split_call.agent_ear.wait_for(CUSTOMER_HZ)
    await split_call.customer_ear.wait_for(AGENT_HZ)
    owner = two_nodes.owner_of(split_call.call_id)
    elsewhere = two_nodes.other(owner)
    ear = Ear()
    nasrin = elsewhere.client(
        elsewhere.token(Role.SUPERVISOR, "Nasrin"),
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
        room = owner.switchboard.room(split_call.call_id)
        mic = room.router.source(SourceKey(joined["participant_id"], SourceKind.MICROPHONE))
        assert mic.frames_received > 0, "the supervisor's peer sent nothing: this proves nothing"
        # The agent's console on node B is told who listens, as on one node.
        told = await split_call.agent.wait_for(
            ServerEvent.MONITOR_UPDATED, lambda p: len(p["monitors"]) == 1
        )
        assert told["monitors"][0]["mode"] == "listen"
        # Whisper: the agent hears her, the customer does not; barge: both do.
        whispered = time.perf_counter()
        await nasrin.set_monitor_mode("whisper")
        await split_call.agent_ear.wait_for(SUPERVISOR_HZ, after=whispered, timeout=5)
        await asyncio.sleep(1.5)
        assert split_call.customer_ear.heard(SUPERVISOR_HZ, since=whispered) == []
        barged = time.perf_counter()
        await nasrin.set_monitor_mode("barge")
        await split_call.customer_ear.wait_for(SUPERVISOR_HZ, after=barged, timeout=5)
    finally:
        await ear.close()


async def test_calls_go_to_the_node_with_room_and_a_full_centre_says_so(
    add_node: NodeFactory,
) -> None:
    """Two nodes that each carry one call: the first call taken goes to one, the second to
    the other (even though both agents sign in on node A), and a third waits, its agent
    told in words that every server is full."""
    a = await add_node("node-a", max_calls=1)
    b = await add_node("node-b", max_calls=1)
    nodes = TwoNodes(a, b)
    await a.switchboard.heartbeat.beat()  # A reads the directory with B in it

    owners = []
    for n, name in enumerate(("Rahim", "Sadia", "Tanvir")):
        call_id, token = await b.customer_call(f"Customer{n}")
        customer = b.client(token)
        await customer.connect()
        await customer.request_call(media="audio")
        agent = a.client(a.token(Role.AGENT, name))
        await agent.connect()
        await agent.set_availability("available")
        if n < 2:
            await agent.accept_call(call_id)
            owners.append(nodes.owner_of(call_id).switchboard.node_id)
            continue
        with pytest.raises(ClientError) as busy:
            await agent.accept_call(call_id)
        assert busy.value.code == "busy"
        assert "every server" in busy.value.message
        waiting = await customer.request("get_state")
        assert waiting["call"]["state"] == "queued", "the refused call still waits"
    assert sorted(owners) == ["node-a", "node-b"]


async def test_a_beat_between_placing_a_call_and_opening_its_media_does_not_free_the_node(
    add_node: NodeFactory,
) -> None:
    """Node A places a call on a node and, before that node has opened the call's media, every
    node beats (a busy loop, a slow registry): the beats count no call yet. The next call
    must still go to the other node (it once went to the same one, past its max_calls)."""
    a = await add_node("node-a", max_calls=1)
    b = await add_node("node-b", max_calls=1)
    await b.switchboard.heartbeat.beat()
    await a.switchboard.heartbeat.beat()  # A reads the directory with B in it
    calls = []
    for n in range(2):
        call_id, token = await a.customer_call(f"Customer{n}")
        customer = a.client(token)
        await customer.connect()
        await customer.request_call(media="audio")
        call = await a.switchboard.fresh(call_id)
        assert call is not None
        calls.append(call)
    cluster = a.switchboard.cluster
    first = await cluster.place(calls[0])
    await asyncio.sleep(0.01)
    for node in (a, b):  # beats after the placing, before any media opened: 0 calls each
        await node.switchboard.heartbeat.beat()
    await a.switchboard.heartbeat.beat()
    second = await cluster.place(calls[1])
    assert {first, second} == {"node-a", "node-b"}, (first, second)


async def test_a_call_waiting_on_one_node_rings_a_free_agent_on_another(
    add_node: NodeFactory,
) -> None:
    """Calls are offered automatically: Rahim is free on node B; Karim calls through node
    A. B hears of the changed queue and rings Rahim, who answers; Karim is told."""
    a = await add_node("node-a", auto_offer=True)
    b = await add_node("node-b", auto_offer=True)
    rahim = b.client(b.token(Role.AGENT, "Rahim"))
    await rahim.connect()
    await rahim.set_availability("available")

    call_id, token = await a.customer_call("Karim")
    karim = a.client(token)
    await karim.connect()
    await karim.request_call(media="audio")

    offered = await rahim.wait_for(ServerEvent.CALL_OFFERED)
    assert offered["call"]["call_id"] == call_id
    await rahim.accept_call(call_id)
    await karim.wait_for(ServerEvent.CALL_UPDATED, lambda p: p["call"]["state"] == "active")


async def test_a_reviewer_on_one_node_plays_a_recording_another_node_made(
    add_node: NodeFactory, tmp_path: Path
) -> None:
    """The nodes of one machine share their recordings' disk (many machines: storage every
    one mounts at recordings_dir). Node B records a call whose parties are on node A; Rina,
    a reviewer signed in on node A, finds it and plays it, with ranges."""
    shared = {"data_dir": tmp_path / "shared", "transcribe_enabled": False}
    a = await add_node("node-a", max_calls=5, **shared)
    b = await add_node("node-b", max_calls=50, **shared)
    await a.switchboard.heartbeat.beat()
    karim_hears = Ear()
    call_id, token = await a.customer_call("Karim")
    karim = a.client(token, on_track=karim_hears)
    rahim = a.client(
        a.token(Role.AGENT, "Rahim"), sources={SourceKind.MICROPHONE: ToneTrack(AGENT_HZ)}
    )
    await karim.connect()
    await rahim.connect()
    await karim.request_call(media="audio")
    await rahim.set_availability("available")
    await rahim.accept_call(call_id)
    await asyncio.gather(karim.join_call(call_id), rahim.join_call(call_id))
    await karim_hears.wait_for(AGENT_HZ, timeout=15)
    await karim_hears.close()
    assert b.switchboard.room_of(call_id) is not None, "node B was to carry the call"
    await karim.hang_up()
    await rahim.wait_for(ServerEvent.CALL_ENDED)
    await b.switchboard.recordings.settle()

    rina = a.token(Role.REVIEWER, "Rina")
    status, found, _ = await api_request(a, "GET", "/api/recordings?customer=Karim", rina)
    assert status == 200 and [r["call_id"] for r in found["recordings"]] == [call_id]
    status, body, _ = await api_request(a, "POST", f"/api/recordings/{call_id}/playback", rina)
    assert status == 200
    call = await b.switchboard.fresh(call_id)
    assert call is not None
    folder = b.switchboard.recordings.folder_of(call)
    whole = (folder / "playback.webm").read_bytes()
    status, part, _ = await api_request(
        a, "GET", body["urls"]["playback"], headers={"Range": "bytes=0-99"}
    )
    assert status == 206 and part == whole[:100]


async def test_calls_requested_on_one_node_and_taken_on_another_free_their_addresses_place(
    add_node: NodeFactory,
) -> None:
    """One address may have only so many calls waiting (max_queued_per_address). Customers
    behind one address call through node A one after another; an agent on node B takes
    each. A's count of that address's waiting calls goes down as B takes them, so the
    fourth call is not refused as if three still waited."""
    a = await add_node("node-a", max_queued_per_address=2)
    b = await add_node("node-b")
    for n in range(4):
        call_id, token = await a.customer_call(f"Customer{n}")
        customer = a.client(token)
        await customer.connect()
        await customer.request_call(media="audio")
        agent = b.client(b.token(Role.AGENT, f"Agent{n}"))
        await agent.connect()
        await agent.set_availability("available")
        await agent.accept_call(call_id)
        await customer.wait_for(ServerEvent.CALL_UPDATED, lambda p: p["call"]["state"] == "active")
