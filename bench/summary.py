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
TARGET_ANALYTICS_OVERHEAD_PCT = 10.0
TALK_CPU = "kotha_talk_cpu_seconds"  # analytics: at most this to a recorded, transcribed call

# Modes measured against the forward run of the same round (what they add to forwarding).
COMPARED_MODES = ("record", "monitor")


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
    for mode in COMPARED_MODES:
        if mode in results:
            summary.update(_cost(mode, forward, results[mode]))
            summary.update(_delivery_of(mode, results[mode]))
    if "record" in results:
        summary["targets"]["max_record_overhead_pct"] = TARGET_RECORD_OVERHEAD_PCT
        _record_target(summary)
    summary["meets_targets"] = _all_met(summary["targets"])
    summary.update(results)
    return summary


def summarise_rounds(summary: dict[str, Any], rounds: list[dict[str, dict[str, Any]]]) -> None:
    """With several rounds, each compared mode's figures become the rounds' medians.

    A round runs forward and then each compared mode (record, monitor) back to
    back. Each round's overhead compares runs made back to back, so slow drift
    of the shared machine mostly cancels within a round; the median then
    discards a round that a neighbour's burst of work disturbed.
    """
    for mode in COMPARED_MODES:
        if rounds and mode in rounds[0]:
            _median_of_rounds(summary, mode, rounds)
    if "record" in summary["modes"]:
        _record_target(summary)


def summarise_analytics(summary: dict[str, Any], rounds: list[dict[str, dict[str, Any]]]) -> None:
    """What the conversation analytics add to recorded, transcribed calls: each round's
    ``transcribe`` and ``analytics`` runs back to back, and the median of their overheads."""
    per_round = []
    for one in rounds:
        base = one["transcribe"].get("cpu_ms_per_stream_s")
        cost = one["analytics"].get("cpu_ms_per_stream_s")
        # The talk monitor's own thread CPU over the window, of the server's CPU in it: a
        # share measured within one run, which the machine's drift between runs cannot move.
        talk_s = (one["analytics"].get("probe") or {}).get(TALK_CPU)
        server_s = (one["analytics"].get("server_cpu_cores") or 0) * summary["seconds"]
        per_round.append(
            {
                "transcribe_cpu_ms_per_stream_s": base,
                "analytics_cpu_ms_per_stream_s": cost,
                "analytics_overhead_pct": round((cost / base - 1) * 100, 1)
                if cost and base
                else None,
                "talk_cpu_s": None if talk_s is None else round(talk_s, 3),
                "talk_share_pct": round(100 * talk_s / server_s, 2)
                if talk_s is not None and server_s
                else None,
            }
        )
    shares = [r["talk_share_pct"] for r in per_round if r["talk_share_pct"] is not None]
    summary["talk_share_pct"] = round(statistics.median(shares), 2) if shares else None
    overheads = [
        r["analytics_overhead_pct"] for r in per_round if r["analytics_overhead_pct"] is not None
    ]
    median = round(statistics.median(overheads), 1) if overheads else None
    summary["analytics_rounds"] = per_round
    summary["analytics_overhead_pct"] = median
    summary["targets"]["max_analytics_overhead_pct"] = TARGET_ANALYTICS_OVERHEAD_PCT
    summary["targets"]["analytics_overhead_met"] = (
        None if median is None else median <= TARGET_ANALYTICS_OVERHEAD_PCT
    )


def _median_of_rounds(
    summary: dict[str, Any], mode: str, rounds: list[dict[str, dict[str, Any]]]
) -> None:
    """``<mode>_rounds``: each round's figures; with two or more, the medians replace the last."""
    per_round = [
        {
            "server_cpu_ms_per_stream_s": one["forward"].get("cpu_ms_per_stream_s"),
            **_cost(mode, one["forward"], one[mode]),
            "other_cpu_cores": [one[m].get("other_cpu_cores") for m in ("forward", mode)],
        }
        for one in rounds
    ]
    summary[f"{mode}_rounds"] = per_round
    if len(per_round) < 2:
        return
    medians = {
        key: round(statistics.median(values), 1 if key.endswith("_pct") else 2)
        for key in per_round[0]
        if key != "other_cpu_cores"
        and (values := [r[key] for r in per_round if r[key] is not None])
    }
    if f"{mode}_overhead_pct" not in medians:
        return
    server = medians.pop("server_cpu_ms_per_stream_s")
    summary.update(medians)
    summary["server_cpu_ms_per_stream_s_median"] = server


def _cost(mode: str, plain: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """A mode's server CPU per stream-second and its overhead over a forward run's."""
    base = plain.get("cpu_ms_per_stream_s")
    cost = other.get("cpu_ms_per_stream_s")
    figures = {
        f"{mode}_cpu_ms_per_stream_s": cost,
        f"{mode}_overhead_pct": round((cost / base - 1) * 100, 1) if cost and base else None,
    }
    if mode == "monitor":
        figures.update(_per_supervisor(base, other))
    return figures


def _per_supervisor(base: float | None, monitored: dict[str, Any]) -> dict[str, Any]:
    """What one listening supervisor adds: server CPU ms per second, and in forwarded streams.

    Both runs divide their CPU by the same stream-seconds (the parties'), so the
    difference times the streams, over the supervisors, is each supervisor's share.
    """
    cost = monitored.get("cpu_ms_per_stream_s")
    if not (cost and base and monitored.get("supervisors")):
        return {"monitor_cpu_ms_per_supervisor_s": None, "monitor_supervisor_in_streams": None}
    extra = (cost - base) * monitored["streams"] / monitored["supervisors"]
    return {
        "monitor_cpu_ms_per_supervisor_s": round(extra, 3),
        "monitor_supervisor_in_streams": round(extra / base, 2),
    }


def _delivery_of(mode: str, other: dict[str, Any]) -> dict[str, Any]:
    """A compared mode's delivery and latency (and, monitoring, the supervisors' too)."""
    figures = {
        f"{mode}_delivered_ratio": other.get("delivered_ratio"),
        f"{mode}_latency_ms_p95": other.get("latency_ms_p95"),
    }
    heard = other.get("to_supervisors")
    if heard is not None:
        figures["monitor_supervisor_delivered_ratio"] = heard.get("delivered_ratio")
        figures["monitor_supervisor_latency_ms_p95"] = heard.get("latency_ms_p95")
        figures["monitor_refused_frames_arrived"] = other.get("refused_frames_arrived")
    return figures


def _record_target(summary: dict[str, Any]) -> None:
    overhead = summary["record_overhead_pct"]
    summary["targets"]["record_overhead_met"] = (
        None if overhead is None else overhead <= TARGET_RECORD_OVERHEAD_PCT
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
