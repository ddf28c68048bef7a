"""``python -m bench.impairment_relay``: the tests' relay, timed on a real call's packets.

Guards:
- the customer's audio goes through the relay both ways (RTP streams upstream and
  downstream), for at least as long as asked, and a clean relay drops nothing;
- the figures are the relays' own records: the worst delay is at least the mean, the top
  figures are the worst of the two directions, and the verdict is what they and the targets
  say (no speed is asserted: the machine may be shared).
"""

from __future__ import annotations

import json

import pytest

from bench import impairment_relay
from bench.opus_loop import FRAME_S


def test_relay_bench_reports_what_the_relay_did_to_a_real_call(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = impairment_relay.main(["--calls", "1", "--seconds", "2", "--json"])

    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "error" not in result, result
    up, down = result["upstream"], result["downstream"]
    for direction in (up, down):
        assert direction["rtp_streams"] >= 1
        # Both sides send 20 ms Opus all along: at least the 2 s asked for got through.
        assert direction["packets"] >= 0.8 * 2 / FRAME_S
        assert direction["dropped"] == 0
        assert 0 < direction["mean_delay_ms"] <= direction["max_delay_ms"]
        assert direction["applied_jitter_ms_max"] >= 0
    assert result["packets"] == up["packets"] + down["packets"]
    assert result["max_delay_ms"] == max(up["max_delay_ms"], down["max_delay_ms"])
    assert result["target_met"] is (
        result["max_delay_ms"] < result["target_max_delay_ms"]
        and result["applied_jitter_ms_max"] < result["target_applied_jitter_ms"]
    )
    assert result["other_cpu_cores"] >= 0
