"""A call's quality in a few figures, for the recording's meta.json and for search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .alerts import AlertChange
from .sample import StreamSample


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass(slots=True)
class QualitySummary:
    """Accumulates every sample of a call; ``to_dict()`` is what is stored."""

    mos: list[float] = field(default_factory=list)
    jitter_ms: list[float] = field(default_factory=list)
    packets: int = 0
    lost: float = 0.0
    alerts: dict[str, int] = field(default_factory=dict)

    def add(self, sample: StreamSample) -> None:
        if sample.kind != "audio":
            return
        if sample.mos is not None:
            self.mos.append(sample.mos)
        if sample.jitter_ms is not None:
            self.jitter_ms.append(sample.jitter_ms)
        if sample.loss_pct is not None and sample.packets:
            # Lost packets of the second, from the share lost and the share that arrived.
            share = min(sample.loss_pct, 99.0) / 100
            self.packets += sample.packets
            self.lost += sample.packets * share / (1 - share)

    def alert(self, change: AlertChange) -> None:
        if change.active:
            kind = change.alert.kind.value
            self.alerts[kind] = self.alerts.get(kind, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        total = self.packets + self.lost
        p95 = _percentile(self.jitter_ms, 0.95)
        return {
            "mos_average": round(sum(self.mos) / len(self.mos), 2) if self.mos else None,
            "mos_worst": round(min(self.mos), 2) if self.mos else None,
            "jitter_ms_p95": None if p95 is None else round(p95, 1),
            "loss_pct": round(100 * self.lost / total, 2) if total else None,
            "alerts": dict(self.alerts),
            "samples": len(self.mos),
        }
