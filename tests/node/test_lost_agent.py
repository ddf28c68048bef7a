"""An agent whose console never comes back: the customer goes back to the queue, first in line.

Guards:
- after the agent's rejoin grace, an active call whose customer is still there is queued
  again ahead of calls that waited longer, the customer is told why and where they stand,
  and the next agent is offered it, takes it and joins the same call (same id, same media
  room: the customer keeps their connection and hears the new agent, and the new agent
  hears them);
- it stays one recording, whose timeline shows the agent leaving, the call going back to
  the queue and the next agent joining;
- a re-queued call nobody takes ends as queued calls do (the customer cancels: cancelled),
  and its room, recorder and timers go with it;
- when the customer is gone too, the call ends as disconnected, as before.
"""

from __future__ import annotations

import asyncio

from callcenter.identity import Role
from client.participant import KothaClient
from media.source import SourceKind
from node.events import ServerEvent
from recording.finalize import read_events
from tests.conftest import Pair, Server, ServerFactory, connect_call
from tests.support import Ear, ToneTrack

GRACE_S = 0.5
CUSTOMER_HZ, LOST_AGENT_HZ, NEXT_AGENT_HZ = 440.0, 660.0, 880.0


async def _waiting_customer(server: Server, name: str) -> KothaClient:
    _, token = await server.customer_call(name)
    client = server.client(token)
    await client.connect()
    await client.request_call(media="audio", language="bn")
    return client


async def _lose_the_agent(server: Server, pair: Pair) -> None:
    """The agent's console closes (laptop shut) and never comes back; the grace runs out."""
    await pair.agent.close()
    await pair.customer.wait_for(
        ServerEvent.CALL_UPDATED, lambda p: p["call"]["state"] == "queued", timeout=5
    )


async def test_a_lost_agents_customer_goes_first_in_line_and_the_next_agent_takes_the_same_call(
    start_server: ServerFactory,
) -> None:
    server = await start_server(rejoin_grace_s=GRACE_S, auto_offer=True)
    heard_by_customer, heard_by_next_agent = Ear(), Ear()
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(CUSTOMER_HZ)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(LOST_AGENT_HZ)},
        customer_options={"on_track": heard_by_customer},
    )
    await heard_by_customer.wait_for(LOST_AGENT_HZ)
    recorder = server.switchboard.recordings.recorder(pair.call_id)
    salma = await _waiting_customer(server, "Salma")  # waits while Karim talks
    await salma.wait_for(ServerEvent.QUEUE_POSITION, lambda p: p["position"] == 1)
    jamila = server.client(
        server.token(Role.AGENT, "Jamila"),
        sources={SourceKind.MICROPHONE: ToneTrack(NEXT_AGENT_HZ)},
        on_track=heard_by_next_agent,
    )
    await jamila.connect()  # signed in, still Away

    await _lose_the_agent(server, pair)

    # Karim is told, in the call's own news, that he waits again, and that he is first.
    requeued = pair.customer.events(ServerEvent.CALL_UPDATED)[-1]["call"]
    assert requeued["call_id"] == pair.call_id
    assert requeued["requeued_at"] is not None
    assert [p["role"] for p in requeued["participants"]] == ["customer"]
    await pair.customer.wait_for(ServerEvent.QUEUE_POSITION, lambda p: p["position"] == 1)
    await salma.wait_for(ServerEvent.QUEUE_POSITION, lambda p: p["position"] == 2)
    rahim = await server.switchboard.registry.agent("rahim")
    assert rahim is not None and rahim.state.value == "away" and rahim.call_id is None
    assert rahim.lost_call == pair.call_id  # his console tells him when he is back
    queue = server.switchboard.dispatcher.view()
    assert [(c["customer_name"], c["requeued"]) for c in queue["calls"]] == [
        ("Karim", True),
        ("Salma", False),
    ]

    await jamila.set_availability("available")
    offered = await jamila.wait_for(ServerEvent.CALL_OFFERED, timeout=5)
    assert offered["call"]["call_id"] == pair.call_id
    taken = await jamila.accept_call()
    assert taken["call"]["call_id"] == pair.call_id
    assert taken["call"]["state"] == "active"
    assert [(p["role"], p["name"]) for p in taken["call"]["participants"]] == [
        ("customer", "Karim"),
        ("agent", "Jamila"),
    ]
    await salma.wait_for(ServerEvent.QUEUE_POSITION, lambda p: p["position"] == 1)

    # Jamila joins the call's media; Karim keeps the connection he had (no join of his own).
    await jamila.join_call(pair.call_id)
    await heard_by_next_agent.wait_for(CUSTOMER_HZ, timeout=10)
    await heard_by_customer.wait_for(NEXT_AGENT_HZ, timeout=10)
    assert pair.customer.events(ServerEvent.CALL_ENDED) == []
    assert server.switchboard.recordings.recorder(pair.call_id) is recorder

    await jamila.hang_up()
    ended = await pair.customer.wait_for(ServerEvent.CALL_ENDED, timeout=5)
    assert ended["reason"] == "hung_up"
    await server.switchboard.recordings.settle()
    assert recorder is not None
    story = [
        (e["type"], e.get("name"))
        for e in read_events(recorder.folder)
        if e["type"] in ("participant_joined", "participant_left", "call_requeued")
    ]
    assert story[-3:] == [
        ("participant_left", "Rahim"),
        ("call_requeued", "Rahim"),
        ("participant_joined", "Jamila"),
    ]
    await heard_by_customer.close()
    await heard_by_next_agent.close()


async def test_a_requeued_call_the_customer_gives_up_on_ends_as_cancelled_and_leaves_nothing(
    start_server: ServerFactory,
) -> None:
    server = await start_server(rejoin_grace_s=GRACE_S)
    pair = await connect_call(server, join=False)
    await _lose_the_agent(server, pair)
    # Agents pick calls from the queue here (no offers): the customer still hears their place.
    await pair.customer.wait_for(ServerEvent.QUEUE_POSITION, lambda p: p["position"] == 1)

    await pair.customer.request("cancel_call")
    ended = await pair.customer.wait_for(ServerEvent.CALL_ENDED, timeout=5)
    assert ended["reason"] == "cancelled"
    switchboard = server.switchboard
    assert switchboard.room_of(pair.call_id) is None
    assert switchboard.recordings.recorder(pair.call_id) is None
    assert switchboard.dispatcher.waiting() == []
    assert [t for t in switchboard.tasks._timers if pair.call_id in t] == []


async def test_a_call_whose_customer_is_gone_too_ends_as_disconnected(
    start_server: ServerFactory,
) -> None:
    server = await start_server(rejoin_grace_s=GRACE_S)
    pair = await connect_call(server, join=False)
    await pair.customer.close()
    await pair.agent.close()
    await asyncio.sleep(GRACE_S + 1.0)
    call = server.switchboard.calls[pair.call_id]
    assert (call.state.value, call.end_reason.value if call.end_reason else None) == (
        "ended",
        "disconnected",
    )
    assert server.switchboard.dispatcher.waiting() == []


async def test_the_lost_agent_coming_back_is_told_their_call_went_to_another_agent(
    start_server: ServerFactory,
) -> None:
    server = await start_server(rejoin_grace_s=GRACE_S)
    pair = await connect_call(server, join=False)
    await _lose_the_agent(server, pair)

    # The laptop opens again: the same agent's console signs in once more.
    back = server.client(server.token(Role.AGENT, "Rahim"))
    state = await back.connect()
    assert state["call"] is None and state["agent"]["state"] == "away"
    assert state["lost_call"] == {"call_id": pair.call_id, "customer_name": "Karim"}
    # Once they say what they do next, it is old news.
    await back.set_availability("available")
    assert (await back.request("get_state"))["lost_call"] is None
