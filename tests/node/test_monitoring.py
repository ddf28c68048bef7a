"""Monitoring through the signalling layer: who is told, what is refused, what is kept.

Guards:
- the customer's socket receives nothing that mentions a supervisor who listens or
  whispers (not in events, acks, offers or the call's participants); a barge shows the
  supervisor as a third participant, and going back to listening removes them;
- every refusal: a supervisor cannot join, share a screen, mute, tag, pause, report or
  hang up as a party; agents, customers and admins cannot monitor; no monitoring of a
  call not in progress, twice (also two pages racing), of two calls at once, or past 5
  supervisors; no mode change or media message without a session; malformed modes are
  named;
- each start, switch and end writes exactly one audit record (who, from where, which
  call, when, which mode), before it takes effect: if the record cannot be written the
  start or switch is refused and nothing changes;
- a session ends when its socket closes and when the call ends, audited each time;
- the recording's timeline holds every session and switch; a whisper is recorded as the
  supervisor's own stream, while what they sent while listening is not.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from callcenter.identity import Role
from client.participant import ClientError, KothaClient
from media.source import SourceKind
from node.events import ServerEvent
from recording.finalize import read_events
from tests.conftest import Server, connect_call
from tests.support import ToneTrack


async def supervisor(server: Server, name: str = "Nasrin") -> KothaClient:
    client = server.client(
        server.token(Role.SUPERVISOR, name), sources={SourceKind.MICROPHONE: ToneTrack(880)}
    )
    await client.connect()
    return client


def mentions(received: list[Any], *needles: str) -> list[Any]:
    """Every payload (as JSON text) that contains one of ``needles``."""
    found = []
    for item in received:
        text = json.dumps([item.event, item.payload], ensure_ascii=False).lower()
        if any(needle.lower() in text for needle in needles):
            found.append((item.event, item.payload))
    return found


async def refused(client: KothaClient, event: str, payload: dict[str, Any]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        await client.request(event, payload)
    return caught.value


def monitoring_records(server: Server, call_id: str) -> list[dict[str, Any]]:
    return [
        r
        for r in server.switchboard.audit.read()
        if r["call_id"] == call_id and r["action"].startswith("monitor")
    ]


async def test_customer_is_told_nothing_until_the_supervisor_barges_in(server: Server) -> None:
    pair = await connect_call(server)
    # The customer's media is settled once an offer carries the agent's voice (joining at
    # once, one of the two may be offered the other's tracks in a second offer).
    agent_id = (await pair.agent.request("get_state"))["participant_id"]
    await pair.customer.wait_for(
        ServerEvent.MEDIA_OFFER, lambda o: any(s["participant_id"] == agent_id for s in o["slots"])
    )
    offers = len(pair.customer.events(ServerEvent.MEDIA_OFFER))
    nasrin = await supervisor(server)
    joined = await nasrin.monitor_call(pair.call_id, "listen")
    pid = joined["participant_id"]
    await nasrin.wait_for(ServerEvent.MEDIA_OFFER)
    await nasrin.set_monitor_mode("whisper")
    # Things the customer does and is told during the call carry on as usual.
    state = await pair.customer.request("get_state")
    await pair.agent.request(
        "set_track_state", {"call_id": pair.call_id, "kind": "audio", "enabled": False}
    )
    await pair.agent.wait_for(
        ServerEvent.MONITOR_UPDATED, lambda p: p["monitors"][0]["mode"] == "whisper"
    )
    await asyncio.sleep(0.5)
    needles = (pid, "nasrin", "supervisor", "monitor")
    assert mentions(pair.customer.received, *needles) == []
    assert mentions([_Ack(state)], *needles) == []
    assert len(pair.customer.events(ServerEvent.MEDIA_OFFER)) == offers, "the customer renegotiated"

    await nasrin.set_monitor_mode("barge")
    shown = await pair.customer.wait_for(
        ServerEvent.PARTICIPANT_UPDATED, lambda p: p["participant"]["role"] == "supervisor"
    )
    assert shown["participant"]["name"] == "Nasrin"
    offer = await pair.customer.wait_for(
        ServerEvent.MEDIA_OFFER,
        lambda o: any(s["participant_id"] == pid for s in o["slots"]),
    )
    assert {s["direction"] for s in offer["slots"] if s["participant_id"] == pid} == {"subscribe"}
    state = await pair.customer.request("get_state")
    roles = sorted(p["role"] for p in state["call"]["participants"])
    assert roles == ["agent", "customer", "supervisor"]

    await nasrin.set_monitor_mode("listen")
    left = await pair.customer.wait_for(ServerEvent.PARTICIPANT_LEFT)
    assert left == {
        "call_id": pair.call_id,
        "participant_id": pid,
        "role": "supervisor",
        "name": "Nasrin",
    }
    state = await pair.customer.request("get_state")
    assert sorted(p["role"] for p in state["call"]["participants"]) == ["agent", "customer"]
    # Events the customer gets are never monitoring news.
    assert pair.customer.events(ServerEvent.MONITOR_UPDATED) == []


class _Ack:
    """An ack in the shape of a received event, for :func:`mentions`."""

    def __init__(self, payload: Any) -> None:
        self.event = "ack"
        self.payload = payload


async def test_supervisor_cannot_act_as_a_party_of_the_call(server: Server) -> None:
    pair = await connect_call(server)
    nasrin = await supervisor(server)
    await nasrin.monitor_call(pair.call_id, "listen")
    call = {"call_id": pair.call_id}
    for event, payload in (
        ("join_call", call),
        ("start_screen_share", call),
        ("stop_screen_share", call),
        ("set_track_state", {**call, "kind": "audio", "enabled": True}),
        ("tag_call", {**call, "tags": ["refund"]}),
        ("pause_recording", call),
        ("resume_recording", call),
        ("report_quality", call),
        ("hang_up", call),
        ("accept_call", call),
        ("request_call", {}),
        ("set_availability", {"status": "available"}),
    ):
        error = await refused(nasrin, event, payload)
        assert error.code == "forbidden", (event, error)
    # The call goes on, unaffected.
    assert server.switchboard.calls[pair.call_id].state.value == "active"
    assert server.switchboard.calls[pair.call_id].recording_state == "recording"


async def test_only_a_supervisor_may_monitor(server: Server) -> None:
    pair = await connect_call(server)
    admin = server.client(server.token(Role.ADMIN, "Arif"))
    await admin.connect()
    for client in (pair.agent, pair.customer, admin):
        error = await refused(client, "monitor_call", {"call_id": pair.call_id, "mode": "listen"})
        assert error.code == "forbidden", error
        assert "supervisor" in error.message
    assert server.switchboard.calls[pair.call_id].monitors == ()
    assert monitoring_records(server, pair.call_id) == []


async def test_monitoring_refusals_name_the_problem(server: Server) -> None:
    pair = await connect_call(server)
    nasrin = await supervisor(server)
    # A malformed or unknown mode, an extra field, a bad call id.
    for payload, field in (
        ({"call_id": pair.call_id, "mode": "shout"}, "mode"),
        ({"call_id": pair.call_id, "mode": 1}, "mode"),
        ({"call_id": pair.call_id, "mode": "listen", "hidden": False}, "hidden"),
        ({"call_id": "../../etc", "mode": "listen"}, "call_id"),
    ):
        error = await refused(nasrin, "monitor_call", payload)
        assert (error.code, error.field) == ("invalid_message", field), payload
    # Nothing to change or answer before monitoring starts.
    error = await refused(nasrin, "set_monitor_mode", {"call_id": pair.call_id, "mode": "barge"})
    assert error.code == "call_state" and "monitor_call first" in error.message
    error = await refused(nasrin, "stop_monitoring", {"call_id": pair.call_id})
    assert error.code == "call_state"
    answer = {
        "call_id": pair.call_id,
        "peer_id": "0123456789ab",
        "offer_id": 1,
        "description": {"type": "answer", "sdp": "v=0\r\n" * 3},
    }
    assert (await refused(nasrin, "send_answer", answer)).code == "call_state"
    # A call that is not in progress: one still waiting, and one that does not exist.
    waiting_id, waiting_token = await server.customer_call("Salma")
    salma = server.client(waiting_token)
    await salma.connect()
    await salma.request_call()
    for call_id in (waiting_id, "c_0000000000000000"):
        error = await refused(nasrin, "monitor_call", {"call_id": call_id, "mode": "listen"})
        assert error.code == "call_state" and "in progress" in error.message
    # Monitoring twice (from another page of the same supervisor), or two calls at once.
    await nasrin.monitor_call(pair.call_id, "listen")
    second_tab = await supervisor(server)
    error = await refused(second_tab, "monitor_call", {"call_id": pair.call_id, "mode": "barge"})
    assert error.code == "call_state" and "already monitoring this call" in error.message
    other = await connect_call(server, customer_name="Rumi", agent_name="Nusrat")
    error = await refused(nasrin, "monitor_call", {"call_id": other.call_id, "mode": "listen"})
    assert error.code == "call_state" and pair.call_id in error.message
    # Someone else's session cannot be changed or stopped.
    farida = await supervisor(server, "Farida")
    error = await refused(farida, "set_monitor_mode", {"call_id": pair.call_id, "mode": "barge"})
    assert error.code == "call_state"
    (session,) = server.switchboard.calls[pair.call_id].monitors
    assert session.mode.value == "listen"


async def test_no_more_than_five_supervisors_monitor_one_call(server: Server) -> None:
    pair = await connect_call(server)
    for n in range(5):
        await (await supervisor(server, f"Lead{n}")).monitor_call(pair.call_id, "listen")
    sixth = await supervisor(server, "Lead5")
    error = await refused(sixth, "monitor_call", {"call_id": pair.call_id, "mode": "listen"})
    assert error.code == "call_state" and "5 supervisors" in error.message


async def test_each_start_switch_and_end_leaves_exactly_one_audit_record(server: Server) -> None:
    pair = await connect_call(server)
    nasrin = await supervisor(server)
    before = time.time()
    joined = await nasrin.monitor_call(pair.call_id, "listen")
    for mode in ("whisper", "whisper", "barge", "listen"):  # the same mode twice is no change
        await nasrin.set_monitor_mode(mode)
    await nasrin.stop_monitoring()
    records = monitoring_records(server, pair.call_id)
    assert [(r["action"], r["details"]["mode"]) for r in records] == [
        ("monitor_started", "listen"),
        ("monitor_mode_changed", "whisper"),
        ("monitor_mode_changed", "barge"),
        ("monitor_mode_changed", "listen"),
        ("monitor_ended", "listen"),
    ]
    assert [r["details"].get("previous") for r in records[1:4]] == ["listen", "whisper", "barge"]
    for record in records:
        assert record["actor"] == "nasrin" and record["role"] == "supervisor"
        assert record["name"] == "Nasrin"
        assert record["source"] == "127.0.0.1"
        assert record["details"]["participant_id"] == joined["participant_id"]
        assert before <= record["at"] <= time.time()
    assert records[-1]["details"]["reason"] == "stopped"
    assert [r["at"] for r in records] == sorted(r["at"] for r in records)


async def test_monitoring_is_refused_when_the_audit_log_cannot_be_written(server: Server) -> None:
    pair = await connect_call(server)
    nasrin = await supervisor(server)
    await nasrin.monitor_call(pair.call_id, "listen")
    audit = server.switchboard.audit.path
    audit.unlink()
    audit.mkdir()  # a directory where the log should be: every append fails
    error = await refused(nasrin, "set_monitor_mode", {"call_id": pair.call_id, "mode": "barge"})
    assert error.code == "audit_unavailable"
    assert str(audit) not in error.message, "the server's paths reached the client"
    calls = server.switchboard.calls
    assert [m.mode.value for m in calls[pair.call_id].monitors] == ["listen"]
    farida = await supervisor(server, "Farida")
    error = await refused(farida, "monitor_call", {"call_id": pair.call_id, "mode": "listen"})
    assert error.code == "audit_unavailable"
    assert [m.name for m in calls[pair.call_id].monitors] == ["Nasrin"]
    await asyncio.sleep(0.3)
    assert mentions(pair.customer.received, "supervisor", "nasrin") == []


async def test_session_ends_when_its_socket_closes_and_when_the_call_ends(server: Server) -> None:
    pair = await connect_call(server)
    nasrin, farida = await supervisor(server), await supervisor(server, "Farida")
    await nasrin.monitor_call(pair.call_id, "barge")
    await farida.monitor_call(pair.call_id, "listen")
    await pair.customer.wait_for(ServerEvent.PARTICIPANT_UPDATED, _supervisor_shown)
    await nasrin.disconnect()
    left = await pair.customer.wait_for(ServerEvent.PARTICIPANT_LEFT)
    assert left["name"] == "Nasrin"
    await pair.agent.wait_for(
        ServerEvent.MONITOR_UPDATED, lambda p: [m["name"] for m in p["monitors"]] == ["Farida"]
    )
    await pair.agent.hang_up()
    ended = await farida.wait_for(ServerEvent.MONITOR_ENDED)
    assert ended["reason"] == "call_ended"
    await farida.wait_for(ServerEvent.CALL_ENDED)
    ends = [
        (r["actor"], r["details"]["reason"])
        for r in monitoring_records(server, pair.call_id)
        if r["action"] == "monitor_ended"
    ]
    assert ends == [("nasrin", "disconnected"), ("farida", "call_ended")]
    assert server.switchboard.calls[pair.call_id].monitors == ()
    # Farida never barged in: the customer never heard of her.
    assert mentions(pair.customer.received, "farida") == []


def _supervisor_shown(payload: dict[str, Any]) -> bool:
    return bool(payload["participant"]["role"] == "supervisor")


async def test_recording_keeps_the_sessions_and_the_whisper_not_what_listening_sent(
    server: Server,
) -> None:
    pair = await connect_call(
        server,
        customer_sources={SourceKind.MICROPHONE: ToneTrack(440)},
        agent_sources={SourceKind.MICROPHONE: ToneTrack(660)},
    )
    nasrin = await supervisor(server)
    joined = await nasrin.monitor_call(pair.call_id, "listen")
    pid = joined["participant_id"]
    room = server.switchboard.room(pair.call_id)
    await _until(
        lambda: any(
            s.key.participant_id == pid and s.frames_refused > 20 for s in room.router.sources()
        )
    )
    recorder = server.switchboard.recordings.recorder(pair.call_id)
    assert recorder is not None
    assert not any(key.participant_id == pid for key in recorder._streams), "listening was recorded"
    await nasrin.set_monitor_mode("whisper")
    await asyncio.sleep(1.5)
    await nasrin.stop_monitoring()
    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()
    folder = recorder.folder
    events = read_events(folder)
    monitoring = [
        (e["type"], e.get("mode"), e.get("previous"), e.get("reason"))
        for e in events
        if e["type"].startswith("monitor_")
    ]
    assert monitoring == [
        ("monitor_started", "listen", None, None),
        ("monitor_mode_changed", "whisper", "listen", None),
        ("monitor_ended", "whisper", None, "stopped"),
    ]
    assert all(
        e["name"] == "Nasrin" and e["participant_id"] == pid
        for e in events
        if e["type"].startswith("monitor_")
    )
    meta = json.loads((folder / "meta.json").read_text())
    streams = [s for s in meta["streams"] if s["participant_id"] == pid]
    assert [(s["role"], s["source"]) for s in streams] == [("supervisor", "microphone")]
    # The whisper is on the call clock where it was said, about 1.5 s of it.
    started = next(e["t_ms"] for e in events if e["type"] == "monitor_mode_changed")
    assert abs(streams[0]["first_ms"] - started) < 500
    assert 1000 < streams[0]["last_ms"] - streams[0]["first_ms"] < 2500


async def _until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_watchers_and_the_agent_learn_of_sessions_but_agents_get_no_floor(
    server: Server,
) -> None:
    pair = await connect_call(server)
    watcher = await supervisor(server, "Farida")
    await watcher.request("watch_call", {"call_id": pair.call_id})
    nasrin = await supervisor(server)
    await nasrin.monitor_call(pair.call_id, "listen")
    update = await watcher.wait_for(ServerEvent.MONITOR_UPDATED)
    assert [(m["name"], m["mode"]) for m in update["monitors"]] == [("Nasrin", "listen")]
    view = await watcher.request("watch_call", {"call_id": pair.call_id})
    assert [m["name"] for m in view["monitors"]] == ["Nasrin"]
    await watcher.wait_for(
        ServerEvent.FLOOR_UPDATED, lambda f: f["calls"] and f["calls"][0]["monitors"]
    )
    assert pair.agent.events(ServerEvent.FLOOR_UPDATED) == []
    assert pair.customer.events(ServerEvent.FLOOR_UPDATED) == []


async def test_two_pages_of_one_supervisor_racing_to_monitor_get_one_session(
    server: Server,
) -> None:
    pair = await connect_call(server)
    tabs = [await supervisor(server), await supervisor(server)]
    results = await asyncio.gather(
        *(tab.monitor_call(pair.call_id, "listen") for tab in tabs), return_exceptions=True
    )
    refusals = [r for r in results if isinstance(r, ClientError)]
    assert len(refusals) == 1 and refusals[0].code == "call_state", results
    assert len(server.switchboard.calls[pair.call_id].monitors) == 1
    started = [
        r for r in monitoring_records(server, pair.call_id) if r["action"] == "monitor_started"
    ]
    assert len(started) == 1


async def test_a_barging_supervisors_line_is_measured_and_a_listening_one_is_not(
    server: Server,
) -> None:
    """A bad supervisor line was invisible: nobody sampled it, even while everyone heard it."""
    pair = await connect_call(server, customer_sources=_tone(440), agent_sources=_tone(660))
    nasrin = await supervisor(server)
    await nasrin.monitor_call(pair.call_id, "listen")

    def roles(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {p["role"]: p for p in view["participants"]}

    listening = await pair.agent.wait_for(
        ServerEvent.QUALITY_UPDATED, lambda v: len(v["participants"]) == 2, timeout=15
    )
    assert set(roles(listening)) == {"customer", "agent"}
    await nasrin.set_monitor_mode("barge")

    def measured(view: dict[str, Any]) -> bool:
        line = roles(view).get("supervisor")
        return line is not None and (line["inbound"].get("microphone") or {}).get("packets", 0) > 0

    view = await pair.agent.wait_for(ServerEvent.QUALITY_UPDATED, measured, timeout=15)
    line = roles(view)["supervisor"]
    assert line["name"] == "Nasrin" and line["rating"] in ("good", "unknown")


def _tone(hz: float) -> dict[SourceKind, Any]:
    return {SourceKind.MICROPHONE: ToneTrack(hz)}
