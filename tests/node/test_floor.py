"""The supervisors' floor: every live call, the queue and the agents, sorted by need of attention.

Guards:
- supervisors and admins get ``floor_updated`` (and ``GET /api/floor``), agents and
  customers never do;
- a live call's row has the customer, the agent, the language, each party's MOS rated
  in words, the recording state, the customer's mood and the active alerts in words;
- a call whose customer's audio stopped (one-way audio) is sorted first, with the alert
  as its reason; a clean call has no reasons;
- the queue shows who waits and the longest wait; every agent's state is listed;
- pausing the recording and a supervisor listening in show up within a second.
"""

from __future__ import annotations

from typing import Any

from callcenter.identity import Role
from node.events import ServerEvent
from tests.conftest import Server, api_request, connect_call
from tests.support import drop_every, participant_media


def row(floor: dict[str, Any], call_id: str) -> dict[str, Any]:
    return next(c for c in floor["calls"] if c["call_id"] == call_id)


def rated(floor: dict[str, Any], call_id: str) -> bool:
    calls = {c["call_id"]: c for c in floor["calls"]}
    return call_id in calls and all(p["mos"] for p in calls[call_id]["participants"])


async def test_floor_sorts_the_call_with_one_way_audio_first_and_says_why(server: Server) -> None:
    clean = await connect_call(
        server,
        customer_sources=participant_media(440),
        agent_sources=participant_media(660),
        customer_name="Karim",
        agent_name="Rahim",
    )
    bad = await connect_call(
        server,
        customer_sources=participant_media(440),
        agent_sources=participant_media(660),
        customer_name="Salma",
        agent_name="Nusrat",
    )
    waiting_id, token = await server.customer_call("Rumi")
    rumi = server.client(token)
    await rumi.connect()
    await rumi.request_call()
    away = server.client(server.token(Role.AGENT, "Tania"))
    await away.connect()

    lead = server.client(server.token(Role.SUPERVISOR, "Sumi"))
    state = await lead.connect()
    assert "floor" in state and state["floor"]["queue"]["waiting"] == 1
    floor = await lead.wait_for(
        ServerEvent.FLOOR_UPDATED, lambda f: rated(f, clean.call_id) and rated(f, bad.call_id), 20
    )
    calm = row(floor, clean.call_id)
    assert calm["customer"]["name"] == "Karim" and calm["agent"]["name"] == "Rahim"
    assert calm["language"] == "bn" and calm["recording"] == "recording"
    assert [(p["role"], p["rating"]) for p in calm["participants"]] == [
        ("customer", "good"),
        ("agent", "good"),
    ]
    assert all(4.0 < p["mos"] < 4.6 for p in calm["participants"])
    assert calm["attention"] == {"score": 0, "level": "none", "reasons": []}
    assert calm["alerts"] == []
    assert calm["sentiment"] is not None and calm["sentiment"]["label"] == "unknown"

    assert bad.customer.peer is not None
    drop_every(bad.customer.peer.pc.getSenders()[0].transport, 1)  # Salma's audio stops

    def alerted(f: dict[str, Any]) -> bool:
        return any(a["kind"] == "no_audio" for a in row(f, bad.call_id)["alerts"])

    floor = await lead.wait_for(ServerEvent.FLOOR_UPDATED, alerted, timeout=15)
    assert floor["calls"][0]["call_id"] == bad.call_id, "the call that needs help is not first"
    trouble = floor["calls"][0]
    assert trouble["attention"]["level"] == "high"
    assert trouble["attention"]["reasons"][0].startswith("no audio from the customer")
    alert = next(a for a in floor["alerts"] if a["kind"] == "no_audio")
    assert alert["call_id"] == bad.call_id and alert["role"] == "customer"
    assert alert["source"] == "quality"
    customer = next(p for p in trouble["participants"] if p["role"] == "customer")
    assert customer["rating"] == "poor"
    assert customer["mos"] is None, "a silent microphone showed a MOS"
    said = [(a["participant_id"], a["message"]) for a in trouble["alerts"]]
    assert len(said) == len(set(said)), f"an alert was listed twice: {said}"
    assert alert["direction"] == "inbound" and alert["kind_of_media"] == "audio"

    assert floor["queue"]["waiting"] == 1 and floor["queue"]["calls"][0]["call_id"] == waiting_id
    assert floor["queue"]["longest_wait_s"] >= 0
    agents = {a["name"]: a["state"] for a in floor["agents"]}
    assert agents == {"Rahim": "on_call", "Nusrat": "on_call", "Tania": "away"}

    # The REST view is the same floor, for staff only.
    status, body, _ = await api_request(
        server, "GET", "/api/floor", server.token(Role.ADMIN, "Arif")
    )
    assert status == 200 and body["calls"][0]["call_id"] == bad.call_id
    for role in (Role.AGENT, Role.REVIEWER):
        status, body, _ = await api_request(server, "GET", "/api/floor", server.token(role))
        assert (status, body["error"]["code"]) == (403, "forbidden")
    for client in (clean.agent, clean.customer, bad.agent, away, rumi):
        assert client.events(ServerEvent.FLOOR_UPDATED) == []


async def test_floor_shows_a_paused_recording_and_who_is_listening(server: Server) -> None:
    pair = await connect_call(server)
    lead = server.client(server.token(Role.SUPERVISOR, "Sumi"))
    await lead.connect()
    await pair.agent.request("pause_recording", {"call_id": pair.call_id})
    floor = await lead.wait_for(
        ServerEvent.FLOOR_UPDATED, lambda f: row(f, pair.call_id)["recording"] == "paused", 5
    )
    assert row(floor, pair.call_id)["monitors"] == []
    await lead.monitor_call(pair.call_id, "listen")
    floor = await lead.wait_for(
        ServerEvent.FLOOR_UPDATED, lambda f: row(f, pair.call_id)["monitors"], timeout=5
    )
    assert [(m["name"], m["mode"]) for m in row(floor, pair.call_id)["monitors"]] == [
        ("Sumi", "listen")
    ]
    await pair.agent.hang_up()
    floor = await lead.wait_for(ServerEvent.FLOOR_UPDATED, lambda f: not f["calls"], 5)
    assert floor["agents"][0]["state"] == "available"
