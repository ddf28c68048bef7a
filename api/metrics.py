"""Prometheus metrics of one node: ``GET /metrics``.

Three sources feed them:

- the switchboard, read at scrape time by :mod:`api.switchboard_metrics` (calls,
  participants, agents, peers, streams, live recordings, active quality alerts):
  gauges that are always exactly what the switchboard holds, with nothing to keep
  in step;
- the quality monitor, which tells :meth:`Metrics.on_quality` each call's
  samples and alert changes once per interval: packet and byte counters and
  the loss, jitter and MOS histograms;
- a watchdog task that sleeps a quarter second and measures how late it
  wakes up: the event loop's lag, the first sign of blocking code; and, at
  scrape time, how many asyncio tasks the loop holds (a leak shows as a climb).

Each app owns its own :class:`~prometheus_client.CollectorRegistry` (never
the library's global one: tests run many apps in one process). Access:
an admin token, or the static ``metrics_token`` of the config for scrapers.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from callcenter.identity import Role
from node.switchboard import Switchboard
from node.tasks import TaskSet
from quality.alerts import AlertChange, AlertKind
from quality.sample import Direction, StreamSample
from signaling.keys import CONFIG, SWITCHBOARD

from .calls import bearer_identity
from .floor_metrics import FloorCollector
from .node_metrics import NodeCollector
from .switchboard_metrics import SwitchboardCollector

logger = logging.getLogger(__name__)

# How often the watchdog wakes up to measure the event loop's lag.
LAG_INTERVAL_S = 0.25
# Samples of a call not seen for this long belong to an ended call.
_FORGET_CALL_AFTER_S = 60.0

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
# One second of one stream each; 0 counts the clean seconds.
LOSS_BUCKETS = (0.0, 0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5)
JITTER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5)
# E-model MOS: 4.4 is a clean Opus line, below 3.6 sounds poor, below 3 the alert fires.
MOS_BUCKETS = (1.0, 2.0, 2.5, 3.0, 3.3, 3.6, 3.8, 4.0, 4.1, 4.2, 4.3, 4.4, 4.5)

_STREAM_LABELS = ("direction", "kind")


class Metrics:
    """The node's metrics on a registry of its own, and the task that measures loop lag.

    Args:
        switchboard: read at scrape time, and its quality monitor feeds the counters.
        lag_interval: how long the watchdog sleeps between two lag measurements.
    """

    def __init__(self, switchboard: Switchboard, *, lag_interval: float = LAG_INTERVAL_S) -> None:
        self.registry = CollectorRegistry()
        self._switchboard = switchboard
        self._lag_interval = lag_interval
        self._tasks = TaskSet("Metrics")
        self._started = False
        self._sampled_at: dict[str, float] = {}
        registry = self.registry
        registry.register(SwitchboardCollector(switchboard))
        registry.register(NodeCollector(switchboard))
        registry.register(FloorCollector(switchboard))

        self.packets = Counter(
            "kotha_media_packets",
            "RTP packets, counted by the quality sampler: inbound arrived from a participant, "
            "outbound were sent to one.",
            _STREAM_LABELS,
            registry=registry,
        )
        self.bytes = Counter(
            "kotha_media_bytes",
            "Media bytes, approximate: each sample's bitrate times the time it covers "
            "(inbound counts encoded frame payloads, outbound the bytes sent).",
            _STREAM_LABELS,
            registry=registry,
        )
        self.loss = Histogram(
            "kotha_stream_loss_ratio",
            "Packet loss of one stream over one sampling interval (0.03 is 3 %).",
            _STREAM_LABELS,
            buckets=LOSS_BUCKETS,
            registry=registry,
        )
        self.jitter = Histogram(
            "kotha_stream_jitter_seconds",
            "Interarrival jitter of one stream over one sampling interval.",
            _STREAM_LABELS,
            buckets=JITTER_BUCKETS,
            registry=registry,
        )
        self.mos = Histogram(
            "kotha_stream_mos",
            "Estimated MOS (E-model, 1 to 4.5) of one audio stream over one sampling interval.",
            ["direction"],
            buckets=MOS_BUCKETS,
            registry=registry,
        )
        self.alerts_fired = Counter(
            "kotha_quality_alerts_fired",
            "Quality alerts that fired (3 bad samples of 5), by kind and direction.",
            ["kind", "direction"],
            registry=registry,
        )
        self.loop_lag = Histogram(
            "kotha_event_loop_lag_seconds",
            f"How late the event loop woke a {lag_interval} s sleep: time other code held it.",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.loop_lag_latest = Gauge(
            "kotha_event_loop_lag_latest_seconds",
            "The event loop's lag at the latest measurement.",
            registry=registry,
        )
        self.asyncio_tasks = Gauge(
            "kotha_asyncio_tasks",
            "Asyncio tasks not yet done in the node's event loop, counted at scrape time "
            "(one that climbs while the calls do not is a leak).",
            registry=registry,
        )
        self.asyncio_tasks.set_function(_asyncio_tasks)
        # Every series exists from the first scrape, so rate() and alert rules see zeros.
        for direction in Direction:
            self.mos.labels(direction.value)
            for kind in ("audio", "video"):
                self.packets.labels(direction.value, kind)
                self.bytes.labels(direction.value, kind)
            for alert in AlertKind:
                self.alerts_fired.labels(alert.value, direction.value)

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        """Listen to the quality monitor, start the watchdog, add the process metrics."""
        if self._started:
            return
        self._started = True
        # Both read /proc or the platform when made, so not in create_app.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._switchboard.quality.listeners.append(self.on_quality)
        self._tasks.spawn(self._watch_loop(), "loop_lag")

    async def stop(self) -> None:
        """Stop listening and end the watchdog; safe to call twice."""
        listeners = self._switchboard.quality.listeners
        if self.on_quality in listeners:
            listeners.remove(self.on_quality)
        await self._tasks.close()

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)

    # -- feeds -------------------------------------------------------------

    def on_quality(
        self, call_id: str, samples: list[StreamSample], changes: list[AlertChange]
    ) -> None:
        """The quality monitor's tick for one call (runs on the loop: counts, nothing more)."""
        for change in changes:
            if change.active:
                alert = change.alert
                self.alerts_fired.labels(alert.kind.value, alert.direction.value).inc()
        if not samples:
            return
        elapsed = self._elapsed(call_id, samples[0].at)
        for sample in samples:
            labels = (sample.direction.value, sample.kind)
            self.packets.labels(*labels).inc(sample.packets)
            if sample.bitrate_kbps is not None:
                # kbit/s to bytes a second: * 1000 / 8.
                self.bytes.labels(*labels).inc(max(0.0, sample.bitrate_kbps) * 125 * elapsed)
            if sample.loss_pct is not None:
                self.loss.labels(*labels).observe(sample.loss_pct / 100)
            if sample.jitter_ms is not None:
                self.jitter.labels(*labels).observe(sample.jitter_ms / 1000)
            if sample.mos is not None:
                self.mos.labels(sample.direction.value).observe(sample.mos)

    def _elapsed(self, call_id: str, at: float) -> float:
        """Seconds the call's samples cover: since its previous samples, as the sampler counts."""
        previous = self._sampled_at.get(call_id)
        if previous is None:
            for stale in [c for c, t in self._sampled_at.items() if at - t > _FORGET_CALL_AFTER_S]:
                del self._sampled_at[stale]
        self._sampled_at[call_id] = at
        if previous is None:
            return self._switchboard.quality.interval
        return max(1e-3, at - previous)

    async def _watch_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self._lag_interval
            await asyncio.sleep(self._lag_interval)
            lag = max(0.0, loop.time() - due)
            self.loop_lag.observe(lag)
            self.loop_lag_latest.set(lag)


def _asyncio_tasks() -> float:
    """Tasks of the running loop; 0 when scraped outside one (a test calling exposition())."""
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:
        return 0.0


METRICS = web.AppKey("metrics", Metrics)


async def metrics_endpoint(request: web.Request) -> web.Response:
    """``GET /metrics``: for an admin token, or the config's ``metrics_token``."""
    _authorize(request)
    await request.app[SWITCHBOARD].contacts.live()  # the floor's figures, fresh
    return web.Response(
        body=request.app[METRICS].exposition(),
        headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
    )


def _authorize(request: web.Request) -> None:
    expected = request.app[CONFIG].metrics_token
    if expected:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        # Constant time, so timing says nothing about how much of the token matched.
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), expected.encode()
        ):
            return
    bearer_identity(request).require(Role.ADMIN)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics_endpoint)
