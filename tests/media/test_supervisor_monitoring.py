"""A supervisor listens, whispers and barges in, between real aiortc peers through the server.

Each party plays its own tone: the customer 440 Hz, the agent 660 Hz, the supervisor
880 Hz, and each has an :class:`~tests.support.Ear` on everything it receives.

Guards:
- listen: the supervisor hears 440 and 660; no 880 reaches the customer or the agent,
  though the supervisor's peer sends it all along (the server refuses it on arrival);
- whisper: 880 reaches the agent only; barge: the customer too; back to listen: nobody;
- every switch takes effect within 500 ms, measured from the request to the first (or
  last) 880 Hz frame at the receiver, the customer's first barge included (it needs a
  new offer to the customer);
- the customer hears the agent without a missing frame through all the switches;
- the agent's console learns who monitors and how (monitor_updated);
- an agent who reconnects (a fresh peer) still hears a whisper;
- a second supervisor who listens hears the one who barges in;
- a listening supervisor sees both cameras, and a screen shared after they began;
- a supervisor whose media failed asks again and gets a fresh peer in the same session,
  hearing both parties again (nothing new audited when the mode stays).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from callcenter.identity import Role
from client.participant import KothaClient
from media.source import SourceKey, SourceKind
from node.events import ServerEvent
from tests.conftest import Pair, Server, connect_call
from tests.support import Ear, TestCardTrack, ToneTrack, participant_media

CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ = 440, 660, 880
SWITCH_WITHIN_S = 0.5
# After a switch, how long to listen for a tone that must not be there.
QUIET_CHECK_S = 1.5


@dataclass
class Monitored:
    """A call between a customer and an agent, and a supervisor on it; what each hears."""

    pair: Pair
    supervisor: KothaClient
    customer_ear: Ear
    agent_ear: Ear
    supervisor_ear: Ear
    supervisor_pid: str
    agent_pid: str


async def start_monitored_call(server: Server, mode: str = "listen") -> Monitored:
    customer_ear, agent_ear, supervisor_ear = Ear(), Ear(), Ear()
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(CUSTOMER_HZ)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(AGENT_HZ)},
        customer_options={"on_track": customer_ear},
        agent_options={"on_track": agent_ear},
    )
    await customer_ear.wait_for(AGENT_HZ)
    await agent_ear.wait_for(CUSTOMER_HZ)
    supervisor = server.client(
        server.token(Role.SUPERVISOR, "Nasrin"),
        sources={SourceKind.MICROPHONE: ToneTrack(SUPERVISOR_HZ)},
        on_track=supervisor_ear,
    )
    await supervisor.connect()
    joined = await supervisor.monitor_call(pair.call_id, mode)
    agent = server.switchboard.calls[pair.call_id].agent
    assert agent is not None
    return Monitored(
        pair,
        supervisor,
        customer_ear,
        agent_ear,
        supervisor_ear,
        joined["participant_id"],
        agent.participant_id,
    )


@pytest.fixture
async def monitored(server: Server) -> AsyncIterator[Monitored]:
    call = await start_monitored_call(server)
    yield call
    for ear in (call.customer_ear, call.agent_ear, call.supervisor_ear):
        await ear.close()


async def switch(call: Monitored, mode: str) -> float:
    """Ask for ``mode``; the moment the request was sent."""
    asked = time.perf_counter()
    ack = await call.supervisor.set_monitor_mode(mode)
    assert ack["mode"] == mode
    return asked


async def test_supervisor_listen_is_silent_and_hears_both_parties(
    server: Server, monitored: Monitored
) -> None:
    await monitored.supervisor_ear.wait_for(CUSTOMER_HZ)
    await monitored.supervisor_ear.wait_for(AGENT_HZ)
    # The supervisor's peer sends its tone all the time; give it a while to try.
    await asyncio.sleep(QUIET_CHECK_S)
    assert monitored.customer_ear.heard(SUPERVISOR_HZ) == []
    assert monitored.agent_ear.heard(SUPERVISOR_HZ) == []
    room = server.switchboard.room(monitored.pair.call_id)
    mic = room.router.source(SourceKey(monitored.supervisor_pid, SourceKind.MICROPHONE))
    assert mic.frames_received > 0, "the supervisor's peer sent nothing: the test proves nothing"
    assert mic.frames_refused == mic.frames_received, "a listening supervisor's audio got in"
    # The customer's peer was never offered anything of the supervisor's.
    offers = monitored.pair.customer.events(ServerEvent.MEDIA_OFFER)
    assert all(s["participant_id"] != monitored.supervisor_pid for o in offers for s in o["slots"])


async def test_whisper_reaches_agent_not_customer_and_barge_reaches_both_within_500_ms(
    monitored: Monitored,
) -> None:
    customer, agent = monitored.customer_ear, monitored.agent_ear
    await monitored.supervisor_ear.wait_for(CUSTOMER_HZ)
    await asyncio.sleep(0.5)

    whispered = await switch(monitored, "whisper")
    heard = await agent.wait_for(SUPERVISOR_HZ, after=whispered, timeout=5)
    print(f"whisper reached the agent in {heard - whispered:.3f} s")
    assert heard - whispered < SWITCH_WITHIN_S, f"whisper took {heard - whispered:.3f} s"
    await asyncio.sleep(QUIET_CHECK_S)
    assert customer.heard(SUPERVISOR_HZ) == [], "the customer heard a whisper"

    barged = await switch(monitored, "barge")
    heard = await customer.wait_for(SUPERVISOR_HZ, after=barged, timeout=5)
    print(f"barge reached the customer in {heard - barged:.3f} s")
    assert heard - barged < SWITCH_WITHIN_S, f"barge took {heard - barged:.3f} s to reach them"
    await asyncio.sleep(1.0)
    assert len(agent.heard(SUPERVISOR_HZ, since=barged)) > 25, "the agent lost the supervisor"

    listened = await switch(monitored, "listen")
    await asyncio.sleep(QUIET_CHECK_S)
    for who, ear in (("customer", customer), ("agent", agent)):
        last = max(ear.heard(SUPERVISOR_HZ, since=listened - 1.0))
        print(f"the {who} stopped hearing the supervisor {last - listened:.3f} s after listen")
        late = ear.heard(SUPERVISOR_HZ, since=listened + SWITCH_WITHIN_S)
        assert late == [], f"the {who} still heard the supervisor {late[-1] - listened:.3f} s on"
        assert ear.heard(SUPERVISOR_HZ, since=listened - 1.0, until=listened), who

    # The customer heard the agent throughout, without a missing frame.
    agent_mic = SourceKey(monitored.agent_pid, SourceKind.MICROPHONE)
    rtp = customer.source_frames(agent_mic, whispered, time.perf_counter())
    steps = [round((b - a) * 1000) for a, b in itertools.pairwise(rtp)]
    assert len(rtp) > 150 and set(steps) == {20}, f"the agent's audio jumped: {set(steps)}"
    assert len(customer.heard(AGENT_HZ, since=whispered)) >= len(rtp) - 5


async def test_leaving_stops_the_supervisor_within_500_ms(monitored: Monitored) -> None:
    await switch(monitored, "barge")
    await monitored.customer_ear.wait_for(SUPERVISOR_HZ, timeout=5)
    left = time.perf_counter()
    await monitored.supervisor.stop_monitoring()
    await asyncio.sleep(QUIET_CHECK_S)
    for ear in (monitored.customer_ear, monitored.agent_ear):
        assert ear.heard(SUPERVISOR_HZ, since=left + SWITCH_WITHIN_S) == []
    # The parties keep talking.
    assert monitored.customer_ear.heard(AGENT_HZ, since=left + SWITCH_WITHIN_S)
    assert monitored.agent_ear.heard(CUSTOMER_HZ, since=left + SWITCH_WITHIN_S)


async def test_agent_console_is_told_who_monitors_and_how(monitored: Monitored) -> None:
    agent = monitored.pair.agent

    def mode_is(mode: str | None) -> object:
        def check(payload: dict[str, object]) -> bool:
            monitors = payload["monitors"]
            assert isinstance(monitors, list)
            modes = [m["mode"] for m in monitors]
            return modes == ([mode] if mode else [])

        return check

    update = await agent.wait_for(ServerEvent.MONITOR_UPDATED, mode_is("listen"))
    assert update["monitors"][0]["name"] == "Nasrin"
    await switch(monitored, "whisper")
    await agent.wait_for(ServerEvent.MONITOR_UPDATED, mode_is("whisper"))
    await monitored.supervisor.stop_monitoring()
    await agent.wait_for(ServerEvent.MONITOR_UPDATED, mode_is(None))
    state = await agent.request("get_state")
    assert state["monitors"] == []


async def test_agent_who_reconnects_still_hears_a_whisper(monitored: Monitored) -> None:
    await switch(monitored, "whisper")
    await monitored.agent_ear.wait_for(SUPERVISOR_HZ, timeout=5)
    rejoined = time.perf_counter()
    await monitored.pair.agent.join_call()  # a reload: the server makes a fresh peer
    await monitored.agent_ear.wait_for(SUPERVISOR_HZ, after=rejoined + 0.2, timeout=10)
    await asyncio.sleep(1.0)
    assert monitored.customer_ear.heard(SUPERVISOR_HZ) == []


async def test_second_supervisor_who_listens_hears_the_one_who_barges(
    server: Server, monitored: Monitored
) -> None:
    ear = Ear()
    second = server.client(
        server.token(Role.SUPERVISOR, "Farida"),
        sources={SourceKind.MICROPHONE: ToneTrack(1000)},
        on_track=ear,
    )
    await second.connect()
    await second.monitor_call(monitored.pair.call_id, "listen")
    await ear.wait_for(CUSTOMER_HZ)
    await asyncio.sleep(QUIET_CHECK_S)
    assert ear.heard(SUPERVISOR_HZ) == [], "a listening supervisor heard another one listen"
    barged = await switch(monitored, "barge")
    await ear.wait_for(SUPERVISOR_HZ, after=barged, timeout=5)
    for other in (monitored.customer_ear, monitored.agent_ear, monitored.supervisor_ear):
        assert other.heard(1000) == [], "the second supervisor's listening was heard"
    await ear.close()


async def test_listening_supervisor_sees_the_camera_and_a_screen_shared_later(
    server: Server,
) -> None:
    ear = Ear()
    pair = await connect_call(
        server,
        media="video",
        customer_sources=participant_media(CUSTOMER_HZ, camera=(320, 240)),
        agent_sources=participant_media(AGENT_HZ, camera=(640, 360)),
    )
    lead = server.client(server.token(Role.SUPERVISOR, "Nasrin"), on_track=ear)
    await lead.connect()
    await lead.monitor_call(pair.call_id, "listen")
    await ear.wait_for(CUSTOMER_HZ)
    cameras = {}
    for key, track in list(ear.tracks.items()):
        if key.source is SourceKind.CAMERA:
            frame = await asyncio.wait_for(track.recv(), 10)
            cameras[key.participant_id] = (frame.width, frame.height)
    assert sorted(cameras.values()) == [(320, 240), (640, 360)]
    await pair.agent.start_screen_share(TestCardTrack(1280, 720))
    deadline = time.monotonic() + 10
    while not any(k.source is SourceKind.SCREEN for k in ear.tracks):
        assert time.monotonic() < deadline, "the supervisor never got the screen share"
        await asyncio.sleep(0.05)
    screen = next(t for k, t in ear.tracks.items() if k.source is SourceKind.SCREEN)
    frame = await asyncio.wait_for(screen.recv(), 10)
    assert (frame.width, frame.height) == (1280, 720)
    await ear.close()


async def test_supervisor_who_monitors_again_gets_a_fresh_peer_in_the_same_session(
    server: Server, monitored: Monitored
) -> None:
    await monitored.supervisor_ear.wait_for(AGENT_HZ)
    first_peer = monitored.supervisor.peer_id
    again = await monitored.supervisor.monitor_call(monitored.pair.call_id, "listen")
    assert again["participant_id"] == monitored.supervisor_pid
    assert again["peer_id"] != first_peer
    asked = time.perf_counter()
    await monitored.supervisor_ear.wait_for(CUSTOMER_HZ, after=asked + 0.1)
    await monitored.supervisor_ear.wait_for(AGENT_HZ, after=asked + 0.1)
    records = [
        r["action"]
        for r in server.switchboard.audit.read()
        if r["call_id"] == monitored.pair.call_id
    ]
    assert records == ["monitor_started"], records
