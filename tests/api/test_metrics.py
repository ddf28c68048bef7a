"""``GET /metrics``: what a Prometheus scraper (or an admin) sees of a node.

Guards:
- /metrics is refused without a token (401), to an agent (403) and to a wrong static
  token (401); an admin token gets the Prometheus text format with every kotha metric and
  the process metrics, from the app's own registry;
- with ``metrics_token`` set, a scraper sends it as a bearer token; admins still get in;
- during a live call with audio: one active call, two connected participants, two published
  microphones, packets and bytes counted both ways, MOS, loss and jitter observed, the
  event loop's lag measured; a one-way audio fault counts a fired no-audio alert and shows
  it active;
- after hang-up the call is counted as ended, and nothing of it stays live (no active alert).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from callcenter.identity import Role
from node.events import ServerEvent
from tests.conftest import Server, ServerFactory, connect_call
from tests.support import drop_every, participant_media

METRICS_TOKEN = "scrape-token-0123456789abcdef"


class Scrape:
    """One parsed /metrics reply."""

    def __init__(self, text: str) -> None:
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = [s for f in self.families.values() for s in f.samples]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples named ``name`` whose labels include ``labels``."""
        matching = [
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]
        assert matching, f"no sample {name}{labels}"
        return sum(matching)


async def get_metrics(server: Server, token: str | None = None) -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.url + "/metrics", headers=headers) as response,
    ):
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def scrape(server: Server) -> Scrape:
    status, _, text = await get_metrics(server, server.token(Role.ADMIN, "Ayesha"))
    assert status == 200, text
    return Scrape(text)


async def scrape_until(
    server: Server, ready: Callable[[Scrape], bool], *, timeout: float = 10.0
) -> Scrape:
    deadline = time.monotonic() + timeout
    while True:
        result = await scrape(server)
        if ready(result):
            return result
        assert time.monotonic() < deadline, "the metrics never got there"
        await asyncio.sleep(0.5)


async def test_metrics_are_refused_without_an_admin_token(server: Server) -> None:
    status, _, body = await get_metrics(server)
    assert status == 401 and "token_missing" in body
    status, _, body = await get_metrics(server, server.token(Role.AGENT, "Rahim"))
    assert status == 403 and "forbidden" in body
    status, _, _ = await get_metrics(server, server.token(Role.SUPERVISOR, "Sumi"))
    assert status == 403
    # No metrics_token is configured, so a static token is just an invalid JWT.
    status, _, body = await get_metrics(server, METRICS_TOKEN)
    assert status == 401 and "token_invalid" in body


async def test_an_admin_gets_every_metric_in_prometheus_text(server: Server) -> None:
    status, content_type, text = await get_metrics(server, server.token(Role.ADMIN, "Ayesha"))
    assert status == 200
    assert content_type.startswith("text/plain") and "charset=utf-8" in content_type
    result = Scrape(text)
    assert {
        "kotha_calls",
        "kotha_participants",
        "kotha_monitoring_sessions",
        "kotha_agents",
        "kotha_peers",
        "kotha_media_streams",
        "kotha_forwarded_tracks",
        "kotha_live_recordings",
        "kotha_quality_alerts_active",
        "kotha_quality_alerts_fired",
        "kotha_media_packets",
        "kotha_media_bytes",
        "kotha_stream_loss_ratio",
        "kotha_stream_jitter_seconds",
        "kotha_stream_mos",
        "kotha_event_loop_lag_seconds",
        "kotha_event_loop_lag_latest_seconds",
        "kotha_transcription_streams",
        "kotha_transcription_capacity_streams",
        "kotha_transcription_lag_seconds",
        "kotha_transcription_audio_seconds",
        "kotha_transcription_busy_seconds",
        "kotha_transcription_refused_streams",
        "kotha_transcription_stopped_streams",
        "kotha_transcript_utterances",
        "kotha_transcript_alerts",
        "process_cpu_seconds",
        "python_info",
    } <= set(result.families)
    assert result.value("kotha_calls", state="active") == 0
    assert result.value("kotha_media_packets_total", direction="inbound", kind="audio") == 0
    assert result.value("kotha_quality_alerts_fired_total", kind="no_audio") == 0


async def test_a_scraper_uses_the_static_metrics_token(start_server: ServerFactory) -> None:
    server = await start_server(metrics_token=METRICS_TOKEN)
    status, _, text = await get_metrics(server, METRICS_TOKEN)
    assert status == 200 and "kotha_calls" in text
    status, _, _ = await get_metrics(server, METRICS_TOKEN + "x")
    assert status == 401
    status, _, _ = await get_metrics(server, server.token(Role.ADMIN, "Ayesha"))
    assert status == 200
    status, _, _ = await get_metrics(server, server.token(Role.AGENT, "Rahim"))
    assert status == 403


async def test_a_live_call_is_measured_and_leaves_nothing_live_when_it_ends(
    server: Server,
) -> None:
    pair = await connect_call(
        server,
        customer_sources=participant_media(440),
        agent_sources=participant_media(660),
    )

    def measured(s: Scrape) -> bool:
        return (
            s.value("kotha_media_packets_total", direction="inbound", kind="audio") > 100
            and s.value("kotha_stream_mos_count", direction="inbound") >= 4
        )

    during = await scrape_until(server, measured)
    assert during.value("kotha_calls", state="active") == 1
    assert during.value("kotha_participants", connected="true") == 2
    assert during.value("kotha_participants", role="customer", connected="true") == 1
    assert during.value("kotha_agents", state="on_call") == 1
    assert during.value("kotha_media_streams", source="microphone") == 2
    assert during.value("kotha_peers", state="connected") == 2
    assert during.value("kotha_forwarded_tracks") == 2
    assert during.value("kotha_live_recordings", state="recording") == 1
    assert during.value("kotha_media_packets_total", direction="outbound", kind="audio") > 0
    # Bytes come from the sampled bitrate: per packet, they must look like an Opus payload.
    inbound_bytes = during.value("kotha_media_bytes_total", direction="inbound", kind="audio")
    inbound_packets = during.value("kotha_media_packets_total", direction="inbound", kind="audio")
    assert 20 < inbound_bytes / inbound_packets < 1500
    # A clean loopback line: the MOS of a good call, no loss, little jitter.
    mos_sum = during.value("kotha_stream_mos_sum", direction="inbound")
    assert 4.0 < mos_sum / during.value("kotha_stream_mos_count", direction="inbound") <= 4.5
    assert during.value("kotha_stream_loss_ratio_bucket", direction="inbound", le="0.0") > 0
    assert during.value("kotha_stream_jitter_seconds_count", direction="inbound") > 0
    assert during.value("kotha_event_loop_lag_seconds_count") > 0
    assert during.value("kotha_event_loop_lag_latest_seconds") < 1

    # One-way audio: the customer's microphone stops reaching the server.
    assert pair.customer.peer is not None
    transport = pair.customer.peer.pc.getSenders()[0].transport
    send = transport._send_rtp  # type: ignore[attr-defined]
    drop_every(transport, 1)
    alerted = await scrape_until(
        server, lambda s: s.value("kotha_quality_alerts_active", kind="no_audio") == 1
    )
    fired = alerted.value("kotha_quality_alerts_fired_total", kind="no_audio", direction="inbound")
    assert fired == 1
    transport._send_rtp = send  # type: ignore[attr-defined]

    await pair.agent.hang_up()
    await pair.customer.wait_for(ServerEvent.CALL_ENDED, timeout=5)
    after = await scrape(server)
    assert after.value("kotha_calls", state="active") == 0
    assert after.value("kotha_calls", state="ended") == 1
    assert after.value("kotha_participants") == 0
    assert after.value("kotha_media_streams") == 0
    assert after.value("kotha_peers") == 0
    assert after.value("kotha_live_recordings") == 0
    assert after.value("kotha_quality_alerts_active") == 0
    assert after.value("kotha_agents", state="on_call") == 0


async def test_monitoring_sessions_are_counted_by_mode(server: Server) -> None:
    pair = await connect_call(server)
    lead = server.client(server.token(Role.SUPERVISOR, "Sumi"))
    await lead.connect()
    await lead.monitor_call(pair.call_id, "whisper")
    scrape = await scrape_until(
        server, lambda s: s.value("kotha_monitoring_sessions", mode="whisper") == 1
    )
    assert scrape.value("kotha_monitoring_sessions", mode="listen") == 0
    # A monitoring supervisor is not a participant of the call.
    assert scrape.value("kotha_participants", connected="true") == 2
    await lead.stop_monitoring()
    await scrape_until(server, lambda s: s.value("kotha_monitoring_sessions") == 0)
