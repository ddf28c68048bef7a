"""The life of a call: customers wait in order, agents take calls, someone hangs up.

Guards: queue positions and the wait estimate as customers come and go, manual accept of
the longest-waiting call, automatic offers with decline and timeout, hang-up and cancel
ending the call for everyone, a socket that drops and comes back within the grace period,
and one that does not.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from callcenter.identity import Role
from client.participant import ClientError, KothaClient
from node.events import ServerEvent
from recording.finalize import read_events
from tests.conftest import Server, ServerFactory, connect_call


async def _waiting_customer(server: Server, name: str) -> tuple[str, KothaClient]:
    call_id, token = await server.customer_call(name)
    client = server.client(token)
    await client.connect()
    await client.request_call(media="audio", language="bn")
    return call_id, client


async def _agent(server: Server, name: str, *, available: bool = True) -> KothaClient:
    agent = server.client(server.token(Role.AGENT, name))
    await agent.connect()
    if available:
        await agent.set_availability("available")
    return agent


async def test_customers_wait_in_order_and_see_their_position(server: Server) -> None:
    waiting = [await _waiting_customer(server, name) for name in ("Karim", "Salma", "Jamal")]
    for position, (call_id, client) in enumerate(waiting, start=1):
        update = await client.wait_for(
            ServerEvent.QUEUE_POSITION, lambda p, n=position: p["position"] == n
        )
        assert update["call_id"] == call_id
        # Nobody is online to answer: no made-up estimate.
        assert update["estimated_wait_s"] is None

    agent = await _agent(server, "Rahim")
    queue = await agent.wait_for(ServerEvent.QUEUE_UPDATED, lambda q: q["waiting"] == 3)
    assert [c["customer_name"] for c in queue["calls"]] == ["Karim", "Salma", "Jamal"]

    ack = await agent.accept_call()  # no id: the longest-waiting customer
    assert ack["call"]["call_id"] == waiting[0][0]
    salma, jamal = waiting[1][1], waiting[2][1]
    moved = await salma.wait_for(ServerEvent.QUEUE_POSITION, lambda p: p["position"] == 1)
    assert moved["agents_online"] == 1
    assert moved["estimated_wait_s"] is not None and moved["estimated_wait_s"] > 0
    await jamal.wait_for(ServerEvent.QUEUE_POSITION, lambda p: p["position"] == 2)


async def test_an_away_agent_takes_no_call_so_the_customer_is_told_the_truth(
    server: Server,
) -> None:
    """Away means not taking calls: the customer hears no agent is, and that holds."""
    call_id, karim = await _waiting_customer(server, "Karim")
    agent = await _agent(server, "Rahim", available=False)
    told = await karim.wait_for(ServerEvent.QUEUE_POSITION, lambda p: p["position"] == 1)
    assert told["agents_online"] == 0 and told["estimated_wait_s"] is None
    with pytest.raises(ClientError) as refused:
        await agent.accept_call(call_id)
    assert refused.value.code == "call_state"
    assert "Away" in refused.value.message and "Available" in refused.value.message
    await agent.set_availability("available")
    assert (await agent.accept_call(call_id))["call"]["call_id"] == call_id


async def test_agent_accepts_and_both_sides_see_the_active_call(server: Server) -> None:
    call_id, karim = await _waiting_customer(server, "Karim")
    agent = await _agent(server, "Rahim")
    await agent.accept_call(call_id)
    update = await karim.wait_for(
        ServerEvent.CALL_UPDATED, lambda p: p["call"]["state"] == "active"
    )
    roles = {p["role"]: p["name"] for p in update["call"]["participants"]}
    assert roles == {"customer": "Karim", "agent": "Rahim"}
    state = await agent.request("get_state")
    assert state["agent"]["state"] == "on_call"
    assert state["call"]["language"] == "bn"


async def test_agent_must_be_available_to_change_state_mid_call(server: Server) -> None:
    call_id, _ = await _waiting_customer(server, "Karim")
    agent = await _agent(server, "Rahim")
    await agent.accept_call(call_id)
    with pytest.raises(ClientError) as refused:
        await agent.set_availability("away")
    assert refused.value.code == "call_state"
    with pytest.raises(ClientError) as refused:
        await agent.accept_call()
    assert refused.value.code == "call_state"


async def test_hang_up_ends_the_call_for_both_and_frees_the_agent(server: Server) -> None:
    pair = await connect_call(server, join=False)
    await pair.customer.hang_up()
    for side in (pair.customer, pair.agent):
        ended = await side.wait_for(ServerEvent.CALL_ENDED)
        assert ended["reason"] == "hung_up"
    agent = await pair.agent.wait_for(
        ServerEvent.AGENT_UPDATED, lambda p: p["agent"]["state"] == "available"
    )
    assert agent["agent"]["call_id"] is None
    with pytest.raises(ClientError) as refused:
        await pair.customer.join_call()
    assert refused.value.code == "call_state"


async def test_customer_who_gives_up_waiting_leaves_the_queue(server: Server) -> None:
    first, karim = await _waiting_customer(server, "Karim")
    _, salma = await _waiting_customer(server, "Salma")
    await karim.request("cancel_call")
    ended = await karim.wait_for(ServerEvent.CALL_ENDED)
    assert ended["reason"] == "cancelled"
    await salma.wait_for(ServerEvent.QUEUE_POSITION, lambda p: p["position"] == 1)
    assert server.switchboard.calls[first].state.value == "ended"


async def test_calls_are_offered_to_the_longest_idle_agent(start_server: ServerFactory) -> None:
    server = await start_server(auto_offer=True)
    rahim = await _agent(server, "Rahim")
    await asyncio.sleep(0.05)
    await _agent(server, "Nusrat")
    call_id, karim = await _waiting_customer(server, "Karim")
    offer = await rahim.wait_for(ServerEvent.CALL_OFFERED)
    assert offer["call"]["call_id"] == call_id
    await rahim.accept_call()
    await karim.wait_for(ServerEvent.CALL_UPDATED, lambda p: p["call"]["state"] == "active")


async def test_declined_offer_goes_to_the_next_agent(start_server: ServerFactory) -> None:
    server = await start_server(auto_offer=True)
    rahim = await _agent(server, "Rahim")
    await asyncio.sleep(0.05)
    nusrat = await _agent(server, "Nusrat")
    call_id, _ = await _waiting_customer(server, "Karim")
    await rahim.wait_for(ServerEvent.CALL_OFFERED)
    await rahim.request("decline_call", {"call_id": call_id})
    offer = await nusrat.wait_for(ServerEvent.CALL_OFFERED)
    assert offer["call"]["call_id"] == call_id
    withdrawn = await rahim.wait_for(ServerEvent.CALL_OFFER_WITHDRAWN)
    assert withdrawn["reason"] == "declined"


async def test_unanswered_offer_returns_the_call_and_sets_the_agent_away(
    start_server: ServerFactory,
) -> None:
    server = await start_server(auto_offer=True, offer_timeout_s=0.5)
    rahim = await _agent(server, "Rahim")
    call_id, karim = await _waiting_customer(server, "Karim")
    await rahim.wait_for(ServerEvent.CALL_OFFERED)
    withdrawn = await rahim.wait_for(ServerEvent.CALL_OFFER_WITHDRAWN, timeout=5)
    assert withdrawn["reason"] == "timeout"
    await rahim.wait_for(ServerEvent.AGENT_UPDATED, lambda p: p["agent"]["state"] == "away")
    assert server.switchboard.calls[call_id].state.value == "queued"
    state = await karim.request("get_state")
    assert state["queue"]["position"] == 1


async def test_socket_that_comes_back_in_time_keeps_the_call(server: Server) -> None:
    pair = await connect_call(server, join=False)
    await pair.customer.disconnect()
    gone = await pair.agent.wait_for(
        ServerEvent.PARTICIPANT_UPDATED,
        lambda p: p["participant"]["role"] == "customer" and not p["participant"]["connected"],
    )
    assert gone["call_id"] == pair.call_id
    again = server.client(pair.customer.token)
    state = await again.connect()
    assert state["call"]["state"] == "active"
    await pair.agent.wait_for(
        ServerEvent.PARTICIPANT_UPDATED,
        lambda p: p["participant"]["role"] == "customer" and p["participant"]["connected"],
    )
    await asyncio.sleep(server.switchboard.config.rejoin_grace_s + 0.5)
    assert server.switchboard.calls[pair.call_id].state.value == "active"


async def test_a_dropped_connection_shows_on_the_recording_timeline(server: Server) -> None:
    pair = await connect_call(server, join=False)
    recorder = server.switchboard.recordings.recorder(pair.call_id)
    assert recorder is not None
    await pair.customer.disconnect()
    await pair.agent.wait_for(
        ServerEvent.PARTICIPANT_UPDATED,
        lambda p: p["participant"]["role"] == "customer" and not p["participant"]["connected"],
    )
    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()

    events = read_events(recorder.folder)
    left = [e for e in events if e["type"] == "participant_left"]
    assert [(e["role"], e["name"], e["reason"]) for e in left] == [
        ("customer", "Karim", "connection_lost")
    ]
    ended = next(e for e in events if e["type"] == "call_ended")
    assert left[0]["t_ms"] <= ended["t_ms"]


async def test_socket_that_stays_away_ends_the_call(start_server: ServerFactory) -> None:
    server = await start_server(rejoin_grace_s=0.5)
    pair = await connect_call(server, join=False)
    await pair.customer.disconnect()
    ended = await pair.agent.wait_for(ServerEvent.CALL_ENDED, timeout=5)
    assert ended["reason"] == "disconnected"


async def test_waiting_customer_who_never_comes_back_is_abandoned(
    start_server: ServerFactory,
) -> None:
    server = await start_server(rejoin_grace_s=0.5)
    call_id, karim = await _waiting_customer(server, "Karim")
    await karim.disconnect()
    await asyncio.sleep(1.5)
    call = server.switchboard.calls[call_id]
    assert (call.state.value, call.end_reason.value if call.end_reason else None) == (
        "ended",
        "abandoned",
    )


async def test_connected_page_renews_its_token_for_a_call_longer_than_the_token(
    server: Server,
) -> None:
    call_id, _ = await server.customer_call("Karim")
    # Issued 30 s ago: a renewed token starts now, so it runs out 30 s later than this one.
    short = server.authority.issue(
        Role.CUSTOMER, "karim", name="Karim", call_id=call_id, ttl_s=120, now=time.time() - 30
    )
    first = server.authority.verify(short)
    karim = server.client(short)
    await karim.connect()
    renewed = await karim.request("refresh_token")
    assert renewed["token"] != short, "a new token, not the old one handed back"
    identity = server.authority.verify(renewed["token"])
    assert identity.token_id != first.token_id
    assert identity.expires_at >= first.expires_at + 29, "it carries the later expiry"
    assert identity.call_id == call_id and identity.subject == "karim"
    assert identity.expires_at - identity.issued_at == 120  # same lifetime, from now
    assert renewed["expires_at"] == identity.expires_at

    await karim.request("cancel_call")
    with pytest.raises(ClientError) as refused:
        await karim.request("refresh_token")
    assert refused.value.code == "call_state"


async def test_only_the_agent_pauses_the_recording_and_both_sides_see_it(server: Server) -> None:
    pair = await connect_call(server, join=False)
    with pytest.raises(ClientError) as refused:
        await pair.customer.request("pause_recording", {"call_id": pair.call_id})
    assert refused.value.code == "forbidden"
    ack = await pair.agent.request("pause_recording", {"call_id": pair.call_id})
    assert ack["recording"] == "paused"
    seen = await pair.customer.wait_for(
        ServerEvent.CALL_UPDATED, lambda p: p["call"]["recording"] == "paused"
    )
    assert seen["call"]["call_id"] == pair.call_id
    with pytest.raises(ClientError) as refused:
        await pair.agent.request("pause_recording", {"call_id": pair.call_id})
    assert refused.value.code == "call_state"
    await pair.agent.request("resume_recording", {"call_id": pair.call_id})
    state = await pair.customer.request("get_state")
    assert state["call"]["recording"] == "recording"


async def test_pausing_the_recording_is_audited_and_refused_when_it_cannot_be(
    server: Server,
) -> None:
    pair = await connect_call(server, join=False)
    await pair.agent.request("pause_recording", {"call_id": pair.call_id})
    await pair.agent.request("resume_recording", {"call_id": pair.call_id})
    records = server.switchboard.audit.read()
    assert [(r["actor"], r["action"], r["call_id"], r["source"]) for r in records] == [
        ("rahim", "pause_recording", pair.call_id, "127.0.0.1"),
        ("rahim", "resume_recording", pair.call_id, "127.0.0.1"),
    ]

    # The audit log cannot be written: the pause is refused and recording goes on.
    audit_path = server.switchboard.audit.path
    audit_path.unlink()
    audit_path.mkdir()
    with pytest.raises(ClientError) as refused:
        await pair.agent.request("pause_recording", {"call_id": pair.call_id})
    assert refused.value.code == "audit_unavailable"
    assert (await pair.agent.request("get_state"))["call"]["recording"] == "recording"
