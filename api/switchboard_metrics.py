"""The switchboard's gauges for ``GET /metrics``, read at scrape time.

Calls, participants, monitoring sessions, agents, peers, streams, live recordings,
active quality alerts, and what the quality sampler and live transcription cost: all
counted over what this node's switchboard holds when Prometheus scrapes, so they are
always exactly what it holds, with nothing to keep in step. :class:`~api.metrics.Metrics`
registers the collector on the node's registry.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from callcenter.errors import NotFoundError
from callcenter.identity import Role
from callcenter.states import AgentState, CallState
from callcenter.values import CallValue
from media.monitor import MonitorMode
from media.peer import PeerState
from media.router import Router
from media.source import SourceKind
from node.switchboard import Switchboard
from quality.alerts import AlertKind


class SwitchboardCollector(Collector):
    """Gauges read from the switchboard at scrape time (cheap: counts over live calls)."""

    def __init__(self, switchboard: Switchboard) -> None:
        self._switchboard = switchboard

    def collect(self) -> Iterable[Metric]:
        switchboard = self._switchboard
        calls = GaugeMetricFamily(
            "kotha_calls",
            "Calls by state (ended calls stay counted for an hour, until they are forgotten).",
            labels=["state"],
        )
        by_state = Tally(call.state for call in switchboard.calls.values())
        for state in CallState:
            calls.add_metric([state.value], by_state[state])
        yield calls

        live = switchboard.live_calls()
        participants = GaugeMetricFamily(
            "kotha_participants",
            "Participants of live calls, by role and whether their socket is connected.",
            labels=["role", "connected"],
        )
        by_role = Tally(
            (p.role, "true" if p.connected else "false") for call in live for p in call.participants
        )
        for role in (Role.CUSTOMER, Role.AGENT):
            for connected in ("true", "false"):
                participants.add_metric([role.value, connected], by_role[role.value, connected])
        yield participants

        monitors = GaugeMetricFamily(
            "kotha_monitoring_sessions",
            "Supervisors monitoring live calls, by mode (listen, whisper, barge).",
            labels=["mode"],
        )
        by_mode = Tally(m.mode for call in live for m in call.monitors)
        for mode in MonitorMode:
            monitors.add_metric([mode.value], by_mode[mode])
        yield monitors

        agents = GaugeMetricFamily(
            "kotha_agents", "Agents this node knows, by state.", labels=["state"]
        )
        agent_states = Tally(agent.state for agent in switchboard.agents.values())
        for agent_state in AgentState:
            agents.add_metric([agent_state.value], agent_states[agent_state])
        yield agents

        yield from self._media(switchboard, live)

        recordings = GaugeMetricFamily(
            "kotha_live_recordings",
            "Live calls being recorded, by recording state.",
            labels=["state"],
        )
        recording = Tally(call.recording_state for call in live)
        for recording_state in ("recording", "paused"):
            recordings.add_metric([recording_state], recording[recording_state])
        yield recordings

        alerts = GaugeMetricFamily(
            "kotha_quality_alerts_active",
            "Quality alerts active now on live calls, by kind.",
            labels=["kind"],
        )
        active: Tally[str] = Tally()
        for call in live:
            quality = switchboard.quality.quality(call.call_id)
            if quality is not None:
                active.update(alert.kind.value for alert in quality.rules.active)
        for kind in AlertKind:
            alerts.add_metric([kind.value], active[kind.value])
        yield alerts
        yield from self._sampler(switchboard)
        yield from self._transcription(switchboard)
        yield CounterMetricFamily(
            "kotha_talk_cpu_seconds",
            "CPU time of the talk monitor's thread: decoding each microphone and finding talk.",
            value=switchboard.talk.cpu_s,
        )

    def _transcription(self, switchboard: Switchboard) -> Iterable[Metric]:
        """Whether live transcription keeps up (lag) and what it costs (busy vs audio)."""
        transcription = switchboard.transcription
        stats = transcription.pool.stats()
        yield GaugeMetricFamily(
            "kotha_transcription_streams", "Microphones being transcribed now.", value=stats.streams
        )
        yield GaugeMetricFamily(
            "kotha_transcription_capacity_streams",
            "Microphones this node transcribes at most (transcribe_max_streams).",
            value=stats.max_streams,
        )
        yield GaugeMetricFamily(
            "kotha_transcription_lag_seconds",
            "How far behind live the furthest-behind transcribed stream is.",
            value=stats.lag_s,
        )
        yield CounterMetricFamily(
            "kotha_transcription_audio_seconds",
            "Audio fed to the recognisers (a worker's busy seconds over this is the RTF).",
            value=stats.audio_s,
        )
        yield CounterMetricFamily(
            "kotha_transcription_busy_seconds",
            "Worker time spent decoding and recognising.",
            value=stats.busy_s,
        )
        yield CounterMetricFamily(
            "kotha_transcription_refused_streams",
            "Microphones refused transcription (over capacity or running behind).",
            value=stats.refused,
        )
        yield CounterMetricFamily(
            "kotha_transcription_stopped_streams",
            "Microphones whose transcription stopped because it fell too far behind.",
            value=stats.stopped,
        )
        yield CounterMetricFamily(
            "kotha_transcript_utterances",
            "Final utterances transcribed.",
            value=transcription.utterances,
        )
        yield CounterMetricFamily(
            "kotha_transcript_alerts",
            "Keyword and customer-mood alerts raised.",
            value=transcription.alerts,
        )

    def _sampler(self, switchboard: Switchboard) -> Iterable[Metric]:
        """What measuring quality costs (kotha bench quality reads these)."""
        monitor = switchboard.quality
        yield CounterMetricFamily(
            "kotha_quality_sampler_cpu_seconds",
            "Thread CPU the quality monitor spent sampling, judging alerts and building views.",
            value=monitor.cpu_s,
        )
        yield CounterMetricFamily(
            "kotha_quality_ticks",
            "Times the quality monitor sampled every call.",
            value=monitor.ticks,
        )
        yield CounterMetricFamily(
            "kotha_quality_frames_metered",
            "Frames the quality meter taps counted on the packet path.",
            value=monitor.frames_metered,
        )

    def _media(self, switchboard: Switchboard, live: list[CallValue]) -> Iterable[Metric]:
        peers = GaugeMetricFamily(
            "kotha_peers", "The server's peer connections, by state.", labels=["state"]
        )
        streams = GaugeMetricFamily(
            "kotha_media_streams",
            "Streams participants publish (microphone, camera, screen).",
            labels=["source"],
        )
        tracks = GaugeMetricFamily(
            "kotha_forwarded_tracks",
            "Tracks that forward a published stream to another participant.",
        )
        peer_states: Tally[PeerState] = Tally()
        published: Tally[SourceKind] = Tally()
        forwarded = 0
        for call in live:
            if call.state is not CallState.ACTIVE:
                continue
            try:
                room = switchboard.room(call.call_id)
            except NotFoundError:
                continue
            peer_states.update(peer.state for peer in room.peers().values())
            published.update(kind for member in room.members() for kind in member.publishes)
            if isinstance(room.plane, Router):
                forwarded += sum(len(source.tracks) for source in room.plane.sources())
        for peer_state in PeerState:
            peers.add_metric([peer_state.value], peer_states[peer_state])
        for source in SourceKind:
            streams.add_metric([source.value], published[source])
        tracks.add_metric([], forwarded)
        return [peers, streams, tracks]
