"""The call centre's nodes for ``GET /metrics``, read at scrape time.

Every live node in the directory, labelled by its id, as this node's last heartbeat read it
(no round trip to Redis): the calls whose media it carries, its capacity, its headroom, its
event loop's lag and whether it drains. Any node's scrape shows them all, so one scraped
node is enough to see the whole centre's load; scraping every node also gives each one's own
node-bus counters (what it sent and heard, lost, repeated, retried, and requests that never
got an answer), labelled with its id. With one node the directory holds just this one and
the bus counters stay 0. :class:`~api.metrics.Metrics` registers the collector.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from node.bus import BusStats
from node.switchboard import Switchboard

_NODE = ["node"]

# The node bus's counters: (metric name, help, BusStats field).
_BUS_COUNTERS = (
    ("kotha_node_bus_sent", "Messages this node sent on the node bus.", "sent"),
    ("kotha_node_bus_received", "Messages this node received from the other nodes.", "received"),
    (
        "kotha_node_bus_lost",
        "Messages from other nodes that never arrived (sequence numbers skipped).",
        "lost",
    ),
    ("kotha_node_bus_repeats", "Messages received twice (the repeat dropped).", "repeats"),
    ("kotha_node_bus_retries", "Requests to another node sent again, unanswered.", "retries"),
    (
        "kotha_node_bus_timeouts",
        "Requests another node never answered (the caller was told busy).",
        "timeouts",
    ),
)


class NodeCollector(Collector):
    """Each live node's load, and this node's node-bus counters."""

    def __init__(self, switchboard: Switchboard) -> None:
        self._switchboard = switchboard

    def collect(self) -> Iterable[Metric]:
        board = self._switchboard
        calls = GaugeMetricFamily(
            "kotha_node_calls", "Calls whose media the node carries.", labels=_NODE
        )
        capacity = GaugeMetricFamily(
            "kotha_node_capacity_calls", "The most calls the node takes (max_calls).", labels=_NODE
        )
        headroom = GaugeMetricFamily(
            "kotha_node_headroom_ratio",
            "The share of the node's capacity still free, 0 to 1 (0 when full or draining).",
            labels=_NODE,
        )
        lag = GaugeMetricFamily(
            "kotha_node_loop_lag_seconds",
            "The node's event loop's worst lag over its last heartbeat.",
            labels=_NODE,
        )
        draining = GaugeMetricFamily(
            "kotha_node_draining", "1 while the node shuts down (it takes no call).", labels=_NODE
        )
        for node in board.heartbeat.nodes:
            label = [node.node_id]
            calls.add_metric(label, node.calls)
            capacity.add_metric(label, node.capacity)
            headroom.add_metric(label, node.headroom)
            lag.add_metric(label, node.loop_lag_ms / 1000)
            draining.add_metric(label, 1 if node.draining else 0)
        yield from (calls, capacity, headroom, lag, draining)

        bus = board.cluster.bus
        stats = bus.stats if bus is not None else BusStats()
        for name, text, field in _BUS_COUNTERS:
            counter = CounterMetricFamily(name, text, labels=_NODE)
            counter.add_metric([board.node_id], getattr(stats, field))
            yield counter
