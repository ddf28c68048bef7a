"""``kotha bench join``: late joiners of real video calls, timed to their first picture.

Guards:
- the CLI prints one JSON object as its last line: each late join completed, with the
  picture the agent's decoder gave (the customer's camera at its own size);
- each join's figures are in their order (the camera's track exists before its first
  frame) and the percentiles are of those joins; the verdict is what the worst join and
  the target say (no speed is asserted: the machine may be shared);
- the machine's other load is reported, so a disturbed run can be told apart.
"""

from __future__ import annotations

import json
import statistics

import pytest

from signaling.cli import main


def test_join_bench_times_each_late_joiner_to_the_first_picture(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["bench", "join", "--joins", "2", "--lead", "0.5", "--json"])

    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "error" not in result, result
    assert result["benchmark"] == "join"
    assert result["joins"] == result["completed"] == 2
    joins = result["joins_detail"]
    assert len(joins) == 2
    for join in joins:
        # aiortc's VideoStreamTrack, the customer's camera: 640x480.
        assert (join["width"], join["height"]) == (640, 480)
        assert join["join_ack_ms"] > 0
        assert 0 < join["track_ms"] <= join["connected_ms"] <= join["first_frame_ms"]
    firsts = [j["first_frame_ms"] for j in joins]
    assert result["first_frame_ms_p50"] == pytest.approx(statistics.median(firsts), abs=0.1)
    assert result["first_frame_ms_max"] == max(firsts)
    assert result["target_met"] is (max(firsts) < result["target_max_first_frame_ms"])
    assert result["other_cpu_cores"] >= 0
    assert result["server_cpu_cores"] > 0
