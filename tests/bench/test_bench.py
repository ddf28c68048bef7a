"""``kotha bench relay``: the machinery runs end to end and reports sane figures.

Guards:
- the CLI prints one JSON object as its last line, with the fields the issue names;
- both modes (and, with --record, forwarding with recording on) run a real server
  process and real peers, and every figure is in range
  (no speed is asserted: the machine may be shared, this is not a timed test);
- the baseline really is the naive relay: none of the frames it delivers has the bytes
  that were sent (it decoded and encoded them again), while forwarding changes none;
- with --monitor, every call also has a listening supervisor: both parties' audio
  reaches it, matched and timed, and its own audio reaches nobody; the summary
  gives the overhead over forwarding, also per supervisor, with medians over rounds;
- ``kotha bench quality`` reports what sampling costs and what the sampler counted each
  second (packets per sample, the time between samples, packets per second over it);
- the pieces the figures rest on: unique Opus packets, the packet file, the
  matching of received bytes to send times within the window, /proc CPU reading,
  the sampler's counts turned into figures.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import pytest
from aiortc.jitterbuffer import JitterFrame

from bench import measure, opus_loop, quality, streams, summary, transcribe
from media.source import SourceKey, SourceKind
from signaling.cli import main


def test_cli_runs_both_modes_and_prints_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "relay", "--calls", "2", "--seconds", "3", "--json"])

    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["calls"] == 2
    assert result["streams"] == 4
    assert result["modes"] == ["forward", "transcode"]
    for mode in ("forward", "transcode"):
        assert "error" not in result[mode], result[mode]
        assert result[mode]["frames_sent"] >= 2 * 2 * 3 / opus_loop.FRAME_S * 0.9
        assert result[mode]["client_cpu_ms_per_stream_s"] > 0
    assert result["server_cpu_ms_per_stream_s"] > 0
    assert result["baseline_cpu_ms_per_stream_s"] > 0
    assert result["ratio"] == pytest.approx(
        result["baseline_cpu_ms_per_stream_s"] / result["server_cpu_ms_per_stream_s"], rel=0.01
    )
    # Sane, not fast: most frames arrive and latency is a small positive number.
    assert 0.5 < result["delivered_ratio"] <= 1.0
    assert 0.5 < result["baseline_delivered_ratio"] <= 1.05
    assert 0 < result["latency_ms_p50"] <= result["latency_ms_p95"] < 1000
    assert result["forward"]["frames_unmatched"] == 0  # forwarding leaves the bytes alone
    assert "latency_ms_p50" not in result["transcode"]  # re-encoded bytes cannot be matched
    # The baseline server decoded and encoded every frame again: none arrived as sent.
    assert result["transcode"]["frames_delivered"] > 0
    assert result["transcode"]["frames_unchanged"] == 0
    assert result["machine"]["cpus"] == os.cpu_count()
    # Each verdict is what its figure and its target say, and the headline is all three.
    targets = result["targets"]
    assert targets["ratio_met"] is (result["ratio"] >= targets["min_ratio"])
    assert targets["delivered_ratio_met"] is (
        result["delivered_ratio"] >= targets["min_delivered_ratio"]
    )
    assert targets["latency_ms_p95_met"] is (
        result["latency_ms_p95"] < targets["max_latency_ms_p95"]
    )
    assert result["meets_targets"] is (
        targets["ratio_met"] and targets["delivered_ratio_met"] and targets["latency_ms_p95_met"]
    )


def test_record_runs_the_load_with_recording_off_and_on(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["bench", "relay", "--calls", "1", "--seconds", "2", "--record", "--rounds", "2", "--json"]
    )

    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["modes"] == ["forward", "record"]
    assert "error" not in result["record"], result["record"]
    assert result["record_cpu_ms_per_stream_s"] > 0
    # Two rounds of forward-then-record runs; each round's overhead compares its own pair,
    # and the headline is their median.
    rounds = result["record_rounds"]
    assert len(rounds) == 2
    for one in rounds:
        assert one["record_overhead_pct"] == pytest.approx(
            (one["record_cpu_ms_per_stream_s"] / one["server_cpu_ms_per_stream_s"] - 1) * 100,
            abs=0.2,
        )
    assert result["record_overhead_pct"] == pytest.approx(
        statistics.median(r["record_overhead_pct"] for r in rounds), abs=0.1
    )
    assert 0.5 < result["record_delivered_ratio"] <= 1.0
    assert result["targets"]["record_overhead_met"] is (
        result["record_overhead_pct"] <= result["targets"]["max_record_overhead_pct"]
    )


def test_monitor_runs_the_load_with_a_listening_supervisor_on_every_call(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["bench", "relay", "--calls", "2", "--seconds", "3", "--monitor", "--json"])

    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["modes"] == ["forward", "monitor"]
    monitored = result["monitor"]
    assert "error" not in monitored, monitored
    assert monitored["supervisors"] == 2
    assert 0.5 < monitored["delivered_ratio"] <= 1.0  # the parties still hear each other
    # Each supervisor hears both parties: every frame sent in the window, bytes unchanged.
    heard = monitored["to_supervisors"]
    assert heard["streams"] == 4
    assert heard["frames_sent"] == monitored["frames_sent"]
    assert heard["frames_delivered"] > 0
    assert heard["delivered_ratio"] >= 0.95
    assert heard["frames_unmatched"] == 0
    assert 0 < heard["latency_ms_p50"] <= heard["latency_ms_p95"] < 1000
    # The supervisors sent audio all along, and none of it reached a party or a supervisor.
    assert monitored["refused_frames_sent"] >= 2 * 3 / opus_loop.FRAME_S * 0.9
    assert monitored["refused_frames_arrived"] == 0
    assert result["monitor_refused_frames_arrived"] == 0
    assert result["monitor_supervisor_delivered_ratio"] == heard["delivered_ratio"]
    # The overhead over the same round's forward run, and each supervisor's share of it.
    plain, with_monitors = result["server_cpu_ms_per_stream_s"], monitored["cpu_ms_per_stream_s"]
    assert result["monitor_cpu_ms_per_stream_s"] == with_monitors
    assert result["monitor_overhead_pct"] == pytest.approx(
        (with_monitors / plain - 1) * 100, abs=0.1
    )
    per_supervisor = result["monitor_cpu_ms_per_supervisor_s"]
    assert per_supervisor == pytest.approx((with_monitors - plain) * 4 / 2, abs=0.01)
    assert result["monitor_supervisor_in_streams"] == pytest.approx(
        per_supervisor / plain, abs=0.01
    )
    assert len(result["monitor_rounds"]) == 1
    assert "record_overhead_pct" not in result


def test_monitor_rounds_report_the_medians_of_each_rounds_overhead() -> None:
    def run(cpu: float) -> dict[str, object]:
        return {"cpu_ms_per_stream_s": cpu, "other_cpu_cores": 0.0, "streams": 4, "supervisors": 2}

    rounds = [
        {"forward": run(10.0), "monitor": run(13.0)},
        {"forward": run(10.0), "monitor": run(11.0)},
        {"forward": run(8.0), "monitor": run(12.0)},
    ]
    results = rounds[-1]
    figures = summary.summarise(2, 3.0, results, processes=1, client_nice=10)
    summary.summarise_rounds(figures, rounds)

    assert [r["monitor_overhead_pct"] for r in figures["monitor_rounds"]] == [30.0, 10.0, 50.0]
    # (monitor - forward) ms per stream-second x 4 streams / 2 supervisors
    per_supervisor = [r["monitor_cpu_ms_per_supervisor_s"] for r in figures["monitor_rounds"]]
    assert per_supervisor == [6.0, 2.0, 8.0]
    assert figures["monitor_overhead_pct"] == 30.0
    assert figures["monitor_cpu_ms_per_supervisor_s"] == 6.0
    assert figures["monitor_supervisor_in_streams"] == 0.6  # median of 0.6, 0.2, 1.0
    assert figures["monitor_cpu_ms_per_stream_s"] == 12.0
    assert figures["server_cpu_ms_per_stream_s_median"] == 10.0


def test_opus_loop_packets_are_unique_and_survive_the_file(tmp_path: Path) -> None:
    packets = opus_loop.encode_opus_loop(2.0)

    assert len(packets) >= 99  # 2 s of 20 ms frames
    assert len(set(packets)) == len(packets)
    path = tmp_path / "loop.bin"
    opus_loop.write_packets(path, packets)
    assert opus_loop.read_packets(path) == packets


async def test_tally_matches_bytes_sent_within_the_window() -> None:
    window = streams.Window()
    track = streams.LoopTrack([b"a", b"b", b"c"], 0, window)
    tally = streams.Tally(window)
    tally.senders["p1"] = track
    key = SourceKey("p1", SourceKind.MICROPHONE)
    before = await track.recv()  # sent before the window opens
    window.t0, window.t1 = time.monotonic(), time.monotonic() + 60
    inside = await track.recv()
    track.stop()

    tally.on_frame(key, JitterFrame(data=bytes(before), timestamp=0))
    tally.on_frame(key, JitterFrame(data=bytes(inside), timestamp=960))
    tally.on_frame(key, JitterFrame(data=b"re-encoded", timestamp=1920))
    tally.on_frame(SourceKey("stranger", SourceKind.MICROPHONE), JitterFrame(b"a", 0))

    report = tally.report()
    assert report["sent"] == 1
    assert report["matched"] == 1  # only the frame sent inside the window
    assert report["arrived"] == 3
    assert report["unmatched"] == 1
    assert len(report["latencies_us"]) == 1
    assert 0 <= report["latencies_us"][0] < 1_000_000


async def test_tally_counts_any_frame_of_a_refused_stream_and_its_twin_shares_the_streams() -> None:
    window = streams.Window()
    party = streams.LoopTrack([b"a", b"b"], 0, window)
    supervisor = streams.LoopTrack([b"x", b"y"], 0, window)
    parties = streams.Tally(window)
    supervisors = parties.alongside()
    parties.senders["p1"] = party
    parties.refused["s1"] = supervisor
    window.t0, window.t1 = time.monotonic(), time.monotonic() + 60
    sent = await party.recv()
    await supervisor.recv()
    party.stop()
    supervisor.stop()

    parties.on_frame(SourceKey("s1", SourceKind.MICROPHONE), JitterFrame(b"x", 0))
    supervisors.on_frame(SourceKey("p1", SourceKind.MICROPHONE), JitterFrame(bytes(sent), 0))

    assert parties.report()["refused_arrived"] == 1
    assert parties.report()["refused_sent"] == 1
    assert parties.receiving == set()  # a refused stream is no stream these receivers get
    heard = supervisors.report()
    assert heard["sent"] == 1  # the same senders as the parties' receivers
    assert heard["matched"] == 1
    assert heard["refused_arrived"] == 0


def test_process_cpu_reads_this_process() -> None:
    user, system = measure.process_cpu(os.getpid())

    assert user > 0
    assert system >= 0
    assert measure.machine_busy_seconds() >= user


def test_quality_bench_reports_what_sampling_costs(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "quality", "--participants", "4", "--seconds", "3", "--json"])

    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["participants"] == 4
    assert "error" not in result, result
    # The server sampled about once a second, and the meter counted the frames it received
    # (2 calls x 2 streams x 50 frames a second).
    assert 2 <= result["ticks"] <= 5
    assert 150 <= result["frames_metered"] <= 4 * 50 * 4
    assert result["sampler_cpu_pct"] == pytest.approx(
        result["tick_cpu_pct"] + result["tap_cpu_pct"], abs=0.01
    )
    assert 0 < result["sampler_cpu_pct"] < 100
    assert result["target_met"] is (
        result["sampler_cpu_pct"] < result["target_max_sampler_cpu_pct"]
    )
    # What the sampler counted, as the agents were told each second: both parties'
    # microphones (inbound) and the audio sent to each (outbound) of both calls.
    counted = result["sampler_packets"]
    assert counted["expected_packets_per_s"] == 50
    assert "quality_samples" not in result["run"]  # the raw series stay out of the JSON
    for name in ("inbound_microphone", "outbound_audio"):
        figures = counted[name]
        assert figures["streams"] == 4, figures
        assert figures["samples"] >= 4, figures
        assert 0 < figures["packets_per_sample_min"] <= figures["packets_per_sample_p50"]
        assert 0 < figures["interval_s_min"] <= figures["interval_s_max"]
        # A stream of 20 ms packets, counted over the samples' own span: about 50 a second.
        assert 25 < figures["packets_per_s"] < 75, figures


def test_packet_counts_take_each_sample_over_the_time_since_the_one_before() -> None:
    steady = [[100.0, 48], [101.0, 50], [102.0, 50], [103.0, 50]]
    late_tick = [[100.0, 50], [101.5, 75], [102.5, 50]]  # one second stretched to 1.5

    figures = quality.packet_counts([late_tick, steady])

    assert figures["streams"] == 2
    # Each stream's first sample counts packets from before the window: left out.
    assert figures["samples"] == 5
    assert figures["packets_per_sample_min"] == 50
    assert figures["packets_per_sample_max"] == 75
    assert figures["samples_outside_40_60"] == 1  # what a fixed 40-60 would have failed
    assert figures["interval_s_min"] == 1.0
    assert figures["interval_s_max"] == 1.5
    assert figures["packets_per_s"] == 50.0  # 275 packets over 5.5 s
    assert quality.packet_counts([])["packets_per_s"] is None


def test_transcribe_bench_reports_real_time_factor_and_latency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two microphones speak two phrases into the real pool and Korean model (no speed asserted)."""
    code = main(["bench", "transcribe", "--streams", "2", "--phrases", "2", "--json"])

    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "error" not in result, result
    assert result["streams"] == 2
    assert result["workers"] == os.cpu_count()
    assert result["phrases"] == 2
    assert result["audio_s"] > 5  # two phrases, each followed by 1.5 s of silence
    # A stream may be refused if a busy machine put the pool behind live when it came;
    # every stream admitted was heard to the end.
    heard = 2 - result["refused"]
    assert heard >= 1
    assert result["pool_audio_s"] == pytest.approx(heard * result["audio_s"], abs=0.5)
    assert result["rtf"] > 0
    assert result["rtf"] == pytest.approx(
        result["busy_s"] / (result["audio_s"] * result["workers"]), rel=0.01
    )
    assert result["rtf_per_stream"] > 0
    assert result["utterances"] > 0
    assert result["stopped"] == 0
    for name in ("partial_latency_ms", "final_latency_ms"):
        assert 0 < result[f"{name}_p50"] <= result[f"{name}_p95"] <= result[f"{name}_max"]
    assert 0 <= result["loop_lag_ms_p50"] <= result["loop_lag_ms_p95"] <= result["loop_lag_ms_max"]
    assert 0 <= result["lag_s_p95"] <= result["lag_s_max"]
    assert result["final_goal_met"] is (
        result["final_latency_ms_p95"] <= transcribe.GOAL_FINAL_MS_P95
    )
    # Alone, the recogniser closes each phrase some audio after its end (the endpointer's
    # trailing silence); live, the streams' words are compared with that offline decode.
    assert result["endpoint"]["phrases_final"] == 2
    assert all(ms > 0 for ms in result["endpoint"]["final_audio_ms"])
    assert 0 <= result["texts_match_offline"] <= 1
