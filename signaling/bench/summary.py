"""The figures the issue asks for, each mode's details, and whether the targets are met."""

from __future__ import annotations

import datetime
import statistics
from typing import Any

from .measure import machine_info

# Targets from the issue: the bench reports whether the forwarding run meets them.
TARGET_RATIO = 7.0
TARGET_DELIVERED = 0.99
TARGET_P95_MS = 20.0
TARGET_RECORD_OVERHEAD_PCT = 20.0  # recording may add at most this to the relay's CPU


def summarise(
    calls: int,
    seconds: float,
    results: dict[str, dict[str, Any]],
    *,
    processes: int,
    client_nice: int,
) -> dict[str, Any]:
    """The top-level figures the issue asks for, with each mode's details below them.

    ``ratio`` divides CPU by the offered stream-seconds on both sides, as the
    issue defines it. When the naive relay cannot carry the load it drops
    media and its CPU stops growing, so that ratio understates its cost:
    ``baseline_saturated`` says so, and ``ratio_per_delivered_stream`` divides
    each side's CPU by the stream-seconds it actually delivered.
    """
    forward = results.get("forward", {})
    baseline = results.get("transcode", {})
    server = forward.get("cpu_ms_per_stream_s")
    naive = baseline.get("cpu_ms_per_stream_s")
    ratio = _ratio(naive, server)
    per_delivered = _ratio(
        baseline.get("cpu_ms_per_delivered_stream_s"), forward.get("cpu_ms_per_delivered_stream_s")
    )
    baseline_delivered = baseline.get("delivered_ratio")
    summary: dict[str, Any] = {
        "benchmark": "relay",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "calls": calls,
        "streams": 2 * calls,
        "seconds": seconds,
        "modes": list(results),
        "server_cpu_ms_per_stream_s": server,
        "baseline_cpu_ms_per_stream_s": naive,
        "ratio": ratio,
        "ratio_per_delivered_stream": per_delivered,
        "delivered_ratio": forward.get("delivered_ratio"),
        "latency_ms_p50": forward.get("latency_ms_p50"),
        "latency_ms_p95": forward.get("latency_ms_p95"),
        "baseline_delivered_ratio": baseline_delivered,
        "baseline_saturated": None
        if baseline_delivered is None
        else baseline_delivered < TARGET_DELIVERED,
        "client_processes": processes,
        "client_nice": client_nice,
        "targets": _targets(forward, ratio, per_delivered),
        "machine": machine_info(),
    }
    recorded = results.get("record")
    if recorded is not None:
        with_recording = recorded.get("cpu_ms_per_stream_s")
        summary["record_cpu_ms_per_stream_s"] = with_recording
        summary["record_overhead_pct"] = (
            round((with_recording / server - 1) * 100, 1) if with_recording and server else None
        )
        summary["record_delivered_ratio"] = recorded.get("delivered_ratio")
        summary["record_latency_ms_p95"] = recorded.get("latency_ms_p95")
        summary["targets"]["max_record_overhead_pct"] = TARGET_RECORD_OVERHEAD_PCT
        summary["targets"]["record_overhead_met"] = (
            None
            if summary["record_overhead_pct"] is None
            else summary["record_overhead_pct"] <= TARGET_RECORD_OVERHEAD_PCT
        )
    summary["meets_targets"] = _all_met(summary["targets"])
    summary.update(results)
    return summary


def summarise_rounds(summary: dict[str, Any], pairs: list[dict[str, dict[str, Any]]]) -> None:
    """With several forward/record rounds, the record figures become the rounds' medians.

    Each round's overhead compares two runs made back to back, so slow drift
    of the shared machine mostly cancels within a round; the median then
    discards a round that a neighbour's burst of work disturbed.
    """
    rounds: list[dict[str, Any]] = []
    for pair in pairs:
        plain = pair["forward"].get("cpu_ms_per_stream_s")
        recorded = pair["record"].get("cpu_ms_per_stream_s")
        rounds.append(
            {
                "server_cpu_ms_per_stream_s": plain,
                "record_cpu_ms_per_stream_s": recorded,
                "record_overhead_pct": round((recorded / plain - 1) * 100, 1)
                if plain and recorded
                else None,
                "other_cpu_cores": [pair[m].get("other_cpu_cores") for m in ("forward", "record")],
            }
        )
    summary["record_rounds"] = rounds
    if len(rounds) < 2:
        return
    overheads = [r["record_overhead_pct"] for r in rounds if r["record_overhead_pct"] is not None]
    recorded = [r["record_cpu_ms_per_stream_s"] for r in rounds if r["record_cpu_ms_per_stream_s"]]
    plain = [r["server_cpu_ms_per_stream_s"] for r in rounds if r["server_cpu_ms_per_stream_s"]]
    if not overheads:
        return
    summary["record_overhead_pct"] = round(statistics.median(overheads), 1)
    summary["record_cpu_ms_per_stream_s"] = round(statistics.median(recorded), 2)
    summary["server_cpu_ms_per_stream_s_median"] = round(statistics.median(plain), 2)
    summary["targets"]["record_overhead_met"] = (
        summary["record_overhead_pct"] <= TARGET_RECORD_OVERHEAD_PCT
    )


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 2) if numerator and denominator else None


def _targets(
    forward: dict[str, Any], ratio: float | None, per_delivered: float | None
) -> dict[str, Any]:
    """Each target of the issue and whether this run met it (None: not measured)."""
    delivered = forward.get("delivered_ratio")
    p95 = forward.get("latency_ms_p95")
    return {
        "min_ratio": TARGET_RATIO,
        "min_delivered_ratio": TARGET_DELIVERED,
        "max_latency_ms_p95": TARGET_P95_MS,
        "ratio_met": None if ratio is None else ratio >= TARGET_RATIO,
        "ratio_per_delivered_stream_met": None
        if per_delivered is None
        else per_delivered >= TARGET_RATIO,
        "delivered_ratio_met": None if delivered is None else delivered >= TARGET_DELIVERED,
        "latency_ms_p95_met": None if p95 is None else p95 < TARGET_P95_MS,
    }


def _all_met(targets: dict[str, Any]) -> bool | None:
    """The strict reading: the offered-load ratio, delivery and latency (None: not all known)."""
    checks = [targets[key] for key in ("ratio_met", "delivered_ratio_met", "latency_ms_p95_met")]
    return None if None in checks else all(checks)
