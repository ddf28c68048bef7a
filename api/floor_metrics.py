"""The floor's numbers for ``GET /metrics``: today and the last 15 minutes.

The same figures as the supervisor dashboard (``node/contacts.py``, defined in
``analytics/figures.py``), labelled ``period`` (``today``: since midnight in the
centre's time zone; ``last_15_min``). The scrape refreshes them first (a read of
the contact store, at most once a second); a figure with nothing to count is left
out rather than reported as 0.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from analytics.figures import Figures
from node.switchboard import Switchboard

# name, help, the figure it reads
RATIOS = (
    (
        "kotha_floor_service_level_ratio",
        "Calls answered within the target, of those that left the queue.",
        "service_level",
    ),
    (
        "kotha_floor_abandonment_ratio",
        "Calls abandoned in the queue, of those that left it.",
        "abandonment_rate",
    ),
    (
        "kotha_floor_occupancy_ratio",
        "Agents' time on calls, of their time taking calls.",
        "occupancy",
    ),
    (
        "kotha_floor_negative_ratio",
        "Handled calls whose customer ended negative, of those with a sentiment.",
        "negative_share",
    ),
)
SECONDS = (
    (
        "kotha_floor_speed_of_answer_seconds",
        "Average wait of the answered calls.",
        "average_speed_of_answer_s",
    ),
    (
        "kotha_floor_abandoned_wait_seconds",
        "Average wait of the abandoned calls.",
        "abandoned_wait_s",
    ),
    (
        "kotha_floor_handle_time_seconds",
        "Average handle time (answered to ended).",
        "average_handle_time_s",
    ),
)
SCORES = (
    ("kotha_floor_mos", "Average MOS of the calls.", "mos_average"),
    ("kotha_floor_csat", "Average customer rating (1-5).", "csat_average"),
)


class FloorCollector(Collector):
    def __init__(self, switchboard: Switchboard) -> None:
        self._switchboard = switchboard

    def collect(self) -> Iterable[Metric]:
        live = self._switchboard.contacts.cached_live
        if live is None:
            return
        periods: dict[str, Figures] = {"today": live.today, "last_15_min": live.last_15_min}
        calls = GaugeMetricFamily(
            "kotha_floor_calls", "Calls by outcome in the period.", labels=["period", "outcome"]
        )
        for period, f in periods.items():
            for outcome in ("offered", "answered", "abandoned", "handled", "answered_in_target"):
                calls.add_metric([period, outcome], getattr(f, outcome))
        yield calls
        rated = GaugeMetricFamily(
            "kotha_floor_csat_ratings", "Customer ratings in the period.", labels=["period"]
        )
        for period, f in periods.items():
            rated.add_metric([period], f.csat_count)
        yield rated
        for name, text, figure in (*RATIOS, *SECONDS, *SCORES):
            family = GaugeMetricFamily(name, text, labels=["period"])
            for period, f in periods.items():
                value = getattr(f, figure)
                if value is not None:
                    family.add_metric([period], value)
            yield family
