"""``kotha bench relay --nodes 1,2``: one node and two nodes under the same load, on Redis.

Guards (no speed is asserted: the machine may be shared): the CLI prints one JSON object
with, for each node count, the calls carried and each node's CPU and loop; two nodes
really are two processes sharing the load (both loops busy); Redis's cost per call
set-up and per relayed message is reported; the ratios are what their figures say.
"""

from __future__ import annotations

import json

import pytest

from signaling.cli import main

pytestmark = pytest.mark.own_redis


def test_one_and_two_nodes_carry_the_same_load_and_say_what_redis_costs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["bench", "relay", "--nodes", "1,2", "--ladder", "4", "--seconds", "3", "--json"])

    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["benchmark"] == "relay-nodes"
    for count in ("1", "2"):
        (step,) = result["steps"][count]
        assert "error" not in step, step
        assert step["node_count"] == int(count) and step["calls"] == 4
        assert len(step["nodes"]) == int(count), "each node process is measured"
        assert all(0 < node["loop_busy"] <= node["cpu_cores"] + 0.05 for node in step["nodes"])
        assert step["carried"] is (step["delivered_ratio"] >= 0.99 and step["latency_ms_p95"] < 20)
        assert step["client_cpu_cores"] > 0 and step["redis_commands_per_s"] > 0
        carried = result["carried"][count]
        assert carried["calls"] == (4 if step["carried"] else 0)
    if result["carried"]["1"]["calls"]:
        assert result["capacity_ratio"] == pytest.approx(
            result["carried"]["2"]["calls"] / result["carried"]["1"]["calls"], abs=0.01
        )
    setup = result["redis_setup"]
    assert setup["redis_commands_per_call_setup"] > 0
    assert setup["embedded_setup_s"] > 0 and setup["redis_setup_s"] > 0
    relayed = result["relayed_message"]
    assert relayed["messages"] > 0
    assert 0 < relayed["round_trip_ms_p50"] <= relayed["round_trip_ms_p95"] < 1000
    assert relayed["nodes_cpu_us_per_message"] > 0
