"""The agent sees each call's quality live, is alerted when audio stops, and the recording keeps it.

Guards:
- every second the agent gets the call's quality view: both parties, both directions,
  rated good with a clean line's MOS and the reason empty;
- the customer's microphone packets stop reaching the server (the connection stays up:
  one-way audio): the agent is alerted within 5 s, in words, and the alert clears when
  audio comes back;
- a supervisor watching the call gets the same view, and no more once they unwatch; watching
  again mid-call brings the last seconds of views (for the dashboard's charts);
- after the call the recording's meta.json holds the quality summary and its timeline
  the per-second samples and the alerts, which the reviewers' API hands to the replay page.
"""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import pytest

from callcenter.identity import Role
from client.participant import ClientError
from node.events import ServerEvent
from recording.finalize import read_events
from tests.conftest import Server, connect_call
from tests.support import drop_every, participant_media

ONE_WAY_ALERT_S = 5.0


def voices() -> dict[str, Any]:
    return {
        "customer_sources": participant_media(440),
        "agent_sources": participant_media(660),
    }


def participant(view: dict[str, Any], role: str) -> dict[str, Any]:
    return next(p for p in view["participants"] if p["role"] == role)


async def test_agent_sees_both_parties_rated_good_on_a_clean_line(server: Server) -> None:
    pair = await connect_call(server, **voices())

    def settled(view: dict[str, Any]) -> bool:
        return len(view["participants"]) == 2 and all(
            p["rating"] == "good" for p in view["participants"]
        )

    view = await pair.agent.wait_for(ServerEvent.QUALITY_UPDATED, settled, timeout=15)
    assert view["call_id"] == pair.call_id
    customer = participant(view, "customer")
    assert customer["mos"] == pytest.approx(4.4, abs=0.1)
    assert customer["reason"] == "" and customer["suggestion"] == ""
    mic = customer["inbound"]["microphone"]
    assert mic["packets"] > 30 and mic["loss_pct"] == 0
    assert customer["outbound"]["audio"]["rtt_ms"] < 100
    assert view["alerts"] == []
    # The customer is told nothing of it.
    assert ServerEvent.QUALITY_UPDATED.value not in {r.event for r in pair.customer.received}


async def test_one_way_audio_alerts_the_agent_within_five_seconds(server: Server) -> None:
    pair = await connect_call(server, **voices())
    await pair.agent.wait_for(
        ServerEvent.QUALITY_UPDATED, lambda v: len(v["participants"]) == 2, timeout=15
    )
    assert pair.customer.peer is not None
    transport = pair.customer.peer.pc.getSenders()[0].transport
    send = transport._send_rtp  # type: ignore[attr-defined]
    stopped = time.monotonic()
    drop_every(transport, 1)  # every RTP packet of the customer's; RTCP still flows

    def no_audio(active: bool) -> Any:
        return lambda p: (
            p["alert"]["kind"] == "no_audio"
            and p["alert"]["role"] == "customer"
            and p["active"] is active
        )

    fired = await pair.agent.wait_for(ServerEvent.QUALITY_ALERT, no_audio(True), timeout=10)
    took = time.monotonic() - stopped
    assert took < ONE_WAY_ALERT_S, f"the no-audio alert took {took:.1f} s"
    assert fired["alert"]["message"].startswith("no audio from the customer for 3 s")
    view = await pair.agent.wait_for(
        ServerEvent.QUALITY_UPDATED, lambda v: participant(v, "customer")["rating"] == "poor"
    )
    assert "no audio from the customer" in participant(view, "customer")["reason"]
    assert "microphone is on and not muted" in participant(view, "customer")["suggestion"]

    transport._send_rtp = send  # type: ignore[attr-defined]
    await pair.agent.wait_for(ServerEvent.QUALITY_ALERT, no_audio(False), timeout=5)


async def test_the_recording_keeps_the_quality_timeline_and_summary(server: Server) -> None:
    pair = await connect_call(server, **voices())
    recorder = server.switchboard.recordings.recorder(pair.call_id)
    assert recorder is not None

    def measured() -> list[dict[str, Any]]:
        """The views the agent got with both parties' MOS (a sample each went to the timeline)."""
        views = pair.agent.events(ServerEvent.QUALITY_UPDATED)
        return [
            v
            for v in views
            if len(v["participants"]) == 2 and all(p["mos"] for p in v["participants"])
        ]

    # Two samples of both lines: the first can come a second after the media connects.
    await pair.agent.wait_for(
        ServerEvent.QUALITY_UPDATED, lambda _: len(measured()) >= 2, timeout=15
    )
    await pair.agent.hang_up()
    await server.switchboard.recordings.settle()

    events = read_events(recorder.folder)
    samples = [e for e in events if e["type"] == "quality_sample"]
    assert len(samples) >= 2
    roles = {s["role"] for e in samples for s in e["samples"]}
    assert roles == {"customer", "agent"}
    summary = next(e["summary"] for e in events if e["type"] == "quality_summary")
    assert summary["mos_average"] == pytest.approx(4.4, abs=0.1)
    assert summary["loss_pct"] == 0 and summary["alerts"] == {}
    stored = json.loads((recorder.folder / "meta.json").read_text())
    assert stored["quality"] == summary

    # The replay page gets the series (not listed as events) and the summary.
    async with aiohttp.ClientSession() as http:
        reply = await http.get(
            f"{server.url}/api/recordings/{pair.call_id}",
            headers={"Authorization": f"Bearer {server.token(Role.REVIEWER, 'Rina')}"},
        )
        detail = await reply.json()
    assert reply.status == 200, detail
    assert detail["recording"]["quality"] == summary
    assert len(detail["quality"]) == len(samples)
    assert detail["quality"][0]["samples"][0]["role"] in {"customer", "agent"}
    assert not [e for e in detail["timeline"] if e["type"].startswith("quality_s")]


async def test_pages_report_their_own_stats_and_the_agent_sees_them(server: Server) -> None:
    pair = await connect_call(server, **voices())
    report = {
        "call_id": pair.call_id,
        "audio": {"jitter_ms": 12.5, "jitter_buffer_delay_ms": 48.0, "concealed_pct": 1.2},
    }
    assert (await pair.customer.request("report_quality", report))["ok"]
    view = await pair.agent.wait_for(
        ServerEvent.QUALITY_UPDATED,
        lambda v: bool(
            v["participants"] and (participant(v, "customer").get("reported") or {}).get("audio")
        ),
    )
    reported = participant(view, "customer")["reported"]
    assert reported["audio"] == report["audio"]

    # At most one report every 2 s; a malformed or foreign one is refused by name.
    with pytest.raises(ClientError) as too_soon:
        await pair.customer.request("report_quality", report)
    assert too_soon.value.code == "rate_limited"
    for bad, field in (
        ({"audio": {"jitter_ms": -1}}, "audio.jitter_ms"),
        ({"audio": {"concealed_pct": 250}}, "audio.concealed_pct"),
        ({"audio": {"jitter_ms": "NaN"}}, "audio.jitter_ms"),
        ({"video": {"frames_per_second": 30, "secret": 1}}, "video.secret"),
    ):
        with pytest.raises(ClientError) as refused:
            await pair.agent.request("report_quality", {"call_id": pair.call_id, **bad})
        assert (refused.value.code, refused.value.field) == ("invalid_message", field), bad
    other_call, _ = await server.customer_call("Someone")
    with pytest.raises(ClientError) as foreign:
        await pair.agent.request("report_quality", {"call_id": other_call, "audio": {}})
    assert foreign.value.code in {"forbidden", "not_found", "call_state"}


async def test_the_live_view_is_served_to_staff_and_no_one_else(server: Server) -> None:
    pair = await connect_call(server, **voices())
    await pair.agent.wait_for(
        ServerEvent.QUALITY_UPDATED,
        lambda v: len(v["participants"]) == 2 and all(p["mos"] for p in v["participants"]),
        timeout=15,
    )
    url = f"{server.url}/api/calls/{pair.call_id}/quality"

    async def get(token: str) -> tuple[int, Any]:
        async with aiohttp.ClientSession() as http:
            reply = await http.get(url, headers={"Authorization": f"Bearer {token}"})
            return reply.status, await reply.json()

    status, body = await get(server.token(Role.SUPERVISOR, "Shirin"))
    assert status == 200, body
    assert {p["role"] for p in body["live"]["participants"]} == {"customer", "agent"}
    assert body["summary"]["samples"] >= 1
    assert (await get(pair.agent.token))[0] == 200  # the call's own agent
    assert (await get(server.token(Role.AGENT, "Nusrat")))[0] == 403  # another agent
    assert (await get(pair.customer.token))[0] == 403
    assert (await get(server.token(Role.REVIEWER, "Rina")))[0] == 403

    await pair.agent.hang_up()
    status, body = await get(server.token(Role.SUPERVISOR, "Shirin"))
    assert (status, body["live"]) == (200, None)
    assert body["summary"]["mos_average"] == pytest.approx(4.4, abs=0.1)


async def test_a_supervisor_watching_the_call_sees_its_quality_too(server: Server) -> None:
    pair = await connect_call(server, **voices())
    supervisor = server.client(server.token(Role.SUPERVISOR, "Sumi"))
    await supervisor.connect()
    await supervisor.request("watch_call", {"call_id": pair.call_id})
    view = await supervisor.wait_for(
        ServerEvent.QUALITY_UPDATED, lambda v: len(v["participants"]) == 2, timeout=15
    )
    assert view["call_id"] == pair.call_id
    assert {p["role"] for p in view["participants"]} == {"customer", "agent"}
    await supervisor.request("unwatch_call", {"call_id": pair.call_id})
    seen = len(supervisor.events(ServerEvent.QUALITY_UPDATED))
    await pair.agent.wait_for(
        ServerEvent.QUALITY_UPDATED,
        lambda v: v["at"] > view["at"] + 2.5,
        timeout=10,
    )
    assert len(supervisor.events(ServerEvent.QUALITY_UPDATED)) <= seen + 1  # one in flight
    # Watching again mid-call: the last seconds come with the answer, for the charts.
    watched = await supervisor.request("watch_call", {"call_id": pair.call_id})
    history = watched["quality_history"]
    assert len(history) >= 3 and [v["at"] for v in history] == sorted(v["at"] for v in history)
    customer = next(p for p in history[-1]["participants"] if p["role"] == "customer")
    assert customer["mos"] > 4 and customer["inbound"]["microphone"]["packets"] > 0
