"""The agent puts the customer on hold, between real aiortc peers through the server.

The customer plays 440 Hz, the agent 660 Hz, a listening supervisor nothing. Guards:
- on hold neither party hears the other (within half a second of the request), while the
  supervisor still hears both, and the recording goes on; back from hold, both hear each
  other again;
- both sides are told (call_updated: call.hold), the floor row says so, the timeline has
  the hold's start and end, and the call's contact counts the time on hold;
- only the call's agent holds; holding twice, or resuming what is not held, is refused
  in words.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from callcenter.identity import Role
from client.participant import ClientError
from media.source import SourceKey, SourceKind
from node.events import ClientEvent, ServerEvent
from tests.conftest import Server, api_request
from tests.media.test_supervisor_monitoring import (
    AGENT_HZ,
    CUSTOMER_HZ,
    Monitored,
    start_monitored_call,
)

WITHIN_S = 0.5
QUIET_S = 1.5


@pytest.fixture
async def call(server: Server) -> AsyncIterator[Monitored]:
    monitored = await start_monitored_call(server, "listen")
    await monitored.supervisor_ear.wait_for(CUSTOMER_HZ)
    await monitored.supervisor_ear.wait_for(AGENT_HZ)
    yield monitored
    for ear in (monitored.customer_ear, monitored.agent_ear, monitored.supervisor_ear):
        await ear.close()


async def test_on_hold_the_parties_hear_nothing_of_each_other_and_the_supervisor_both(
    server: Server, call: Monitored
) -> None:
    agent, customer = call.pair.agent, call.pair.customer
    asked = time.perf_counter()
    ack = await agent.request(ClientEvent.HOLD_CALL, {"call_id": call.pair.call_id})
    assert ack["hold"]["on"] is True and ack["hold"]["count"] == 1
    quiet_from = asked + WITHIN_S
    await asyncio.sleep(WITHIN_S + QUIET_S)
    until = time.perf_counter()
    assert call.customer_ear.heard(AGENT_HZ, since=quiet_from, until=until) == []
    assert call.agent_ear.heard(CUSTOMER_HZ, since=quiet_from, until=until) == []
    # Monitoring supervisors still hear both, and the parties' media still reaches the
    # server (the recording goes on).
    assert call.supervisor_ear.heard(CUSTOMER_HZ, since=quiet_from, until=until)
    assert call.supervisor_ear.heard(AGENT_HZ, since=quiet_from, until=until)
    room = server.switchboard.room(call.pair.call_id)
    mic = room.router.source(SourceKey(call.agent_pid, SourceKind.MICROPHONE))
    assert mic.frames_received > 0

    # Both sides were told; so is the floor.
    told = await customer.wait_for(ServerEvent.CALL_UPDATED, lambda p: p["call"]["hold"]["on"])
    assert told["call"]["hold"]["since"] is not None
    await agent.wait_for(ServerEvent.CALL_UPDATED, lambda p: p["call"]["hold"]["on"])
    rows = server.switchboard.floor.view()["calls"]
    [row] = [r for r in rows if r["call_id"] == call.pair.call_id]
    assert row["hold"]["on"] is True

    resumed = time.perf_counter()
    ack = await agent.request(ClientEvent.RESUME_CALL, {"call_id": call.pair.call_id})
    assert ack["hold"]["on"] is False and ack["hold"]["total_s"] >= QUIET_S
    back = await call.customer_ear.wait_for(AGENT_HZ, after=resumed)
    assert back - resumed <= WITHIN_S
    await call.agent_ear.wait_for(CUSTOMER_HZ, after=resumed)

    # The timeline has the hold; the contact, once the call is over, its length.
    await agent.hang_up()
    await server.switchboard.recordings.settle()
    await server.switchboard.contacts.settle()
    reviewer = server.token(Role.REVIEWER, "Rina")
    status, body, _ = await api_request(
        server, "GET", f"/api/recordings/{call.pair.call_id}", reviewer
    )
    assert status == 200, body
    kinds = [e["type"] for e in body["timeline"] if e["type"].startswith("hold_")]
    assert kinds == ["hold_started", "hold_ended"]
    contact = await server.switchboard.contacts.store.get(call.pair.call_id)
    assert contact is not None and contact.holds == 1
    assert QUIET_S <= contact.hold_s <= QUIET_S + WITHIN_S + 1.0


async def test_only_the_calls_agent_holds_and_a_second_hold_is_refused_in_words(
    call: Monitored,
) -> None:
    ref = {"call_id": call.pair.call_id}
    with pytest.raises(ClientError) as refused:
        await call.pair.customer.request(ClientEvent.HOLD_CALL, ref)
    assert refused.value.code == "forbidden"
    with pytest.raises(ClientError) as refused:
        await call.pair.agent.request(ClientEvent.RESUME_CALL, ref)
    assert "not on hold" in refused.value.message
    await call.pair.agent.request(ClientEvent.HOLD_CALL, ref)
    with pytest.raises(ClientError) as refused:
        await call.pair.agent.request(ClientEvent.HOLD_CALL, ref)
    assert "on hold already" in refused.value.message
