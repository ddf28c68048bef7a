"""MOS and alert rules against values worked out by hand.

Guards:
- MOS follows the E-model reduction: a clean link scores 4.43, and latency, jitter and loss
  lower it by the amounts the formula gives (each case computed by hand below);
- an alert fires on the third bad second of five, not on one bad second, and clears only
  when at most one of the last five is bad (no flapping at the threshold);
- loss averaged over seven seconds fires even when no three seconds are above the line;
- no audio from a participant fires after 3 silent seconds and clears with the first packet;
- alerts say in words whose network and what is wrong.
"""

from __future__ import annotations

import pytest

from quality.alerts import AlertChange, AlertKind, AlertRules, Thresholds
from quality.mos import mos, r_factor
from quality.sample import Direction, StreamSample


def test_a_clean_link_scores_about_4_4() -> None:
    # EL = 0 + 0 + 10 = 10; R = 94.768 - 10/40 = 94.518
    assert r_factor(0, 0, 0) == pytest.approx(94.518)
    # MOS = 1 + 0.035*94.518 + 7e-6*94.518*(94.518-60)*(100-94.518)
    #     = 1 + 3.30813 + 0.125198 = 4.43333
    assert mos(0, 0, 0) == pytest.approx(4.4333, abs=1e-3)


def test_latency_jitter_and_loss_lower_the_score_as_the_formula_says() -> None:
    # rtt 100, jitter 20: EL = 100 + 40 + 10 = 150 < 160; R = 94.768 - 3.75 = 91.018
    # loss 2 %: R = 91.018 - 5 = 86.018
    assert r_factor(100, 20, 2) == pytest.approx(86.018)
    # MOS = 1 + 3.01063 + 7e-6*86.018*26.018*13.982 = 1 + 3.01063 + 0.219040 = 4.22967
    assert mos(100, 20, 2) == pytest.approx(4.2297, abs=1e-3)
    # rtt 400, jitter 50: EL = 510 >= 160; R = 94.768 - (510-120)/10 = 55.768
    assert r_factor(400, 50, 0) == pytest.approx(55.768)
    # MOS = 1 + 1.95188 + 7e-6*55.768*(-4.232)*44.232 = 1 + 1.95188 - 0.073076 = 2.87880
    assert mos(400, 50, 0) == pytest.approx(2.8788, abs=1e-3)


def test_heavy_loss_leaves_the_floor_or_nothing() -> None:
    # R = 94.518; loss 35 % <= R/2.5 = 37.8: R = max(94.518 - 87.5, 6.52) = 7.018
    assert r_factor(0, 0, 35) == pytest.approx(7.018)
    # loss 37 %: 94.518 - 92.5 = 2.018, floored at 6.52
    assert r_factor(0, 0, 37) == pytest.approx(6.52)
    # loss 40 % > 37.8: nothing gets through
    assert r_factor(0, 0, 40) == 0
    assert mos(0, 0, 40) == pytest.approx(1.0)
    # Effective latency past 1000 ms: R = 0, and any loss is more than R/2.5.
    assert r_factor(1500, 0, 1) == 0


def sample(
    *,
    role: str = "customer",
    packets: int = 50,
    direction: Direction = Direction.INBOUND,
    **kw: float,
) -> StreamSample:
    source = "microphone" if direction is Direction.INBOUND else "audio"
    return StreamSample("p1", role, direction, "audio", source, 0.0, packets, **kw)  # type: ignore[arg-type]


def fired(rules: AlertRules, s: StreamSample) -> list[tuple[str, bool]]:
    return [(c.alert.kind.value, c.active) for c in rules.update(s)]


def test_one_bad_second_is_noise_three_of_five_is_an_alert() -> None:
    rules = AlertRules()
    assert fired(rules, sample(jitter_ms=80)) == []
    assert fired(rules, sample(jitter_ms=5)) == []
    assert fired(rules, sample(jitter_ms=80)) == []
    assert fired(rules, sample(jitter_ms=80)) == [("high_jitter", True)]
    # Still bad in 3 of the last 5, then 2 of 5: up until at most 1 of 5 is bad.
    assert fired(rules, sample(jitter_ms=5)) == []
    assert fired(rules, sample(jitter_ms=5)) == []
    assert fired(rules, sample(jitter_ms=5)) == []  # window: 80 80 5 5 5 -> 2 bad
    assert fired(rules, sample(jitter_ms=5)) == [("high_jitter", False)]  # 80 5 5 5 5


def test_loss_averaged_over_seven_seconds_fires_without_three_bad_seconds() -> None:
    rules = AlertRules(Thresholds(loss_pct=5, loss_average_pct=3))
    # Seven seconds: two at 10 %, the rest at 1.5 %: never 3 of 5 above 5 %,
    # but the average is (20 + 7.5) / 7 = 3.93 % > 3 %.
    seconds = [10, 1.5, 1.5, 10, 1.5, 1.5]
    for loss in seconds:
        assert fired(rules, sample(loss_pct=loss)) == []
    changes = rules.update(sample(loss_pct=1.5))
    assert [(c.alert.kind, c.active) for c in changes] == [(AlertKind.HIGH_LOSS, True)]
    # It says the average that fired it, not this second's 1.5 %.
    assert changes[0].alert.value == pytest.approx(27.5 / 7)
    assert "losing 4% of audio packets" in changes[0].alert.message


def test_silence_from_a_microphone_fires_after_three_seconds() -> None:
    rules = AlertRules()
    assert fired(rules, sample(packets=50)) == []
    assert fired(rules, sample(packets=0)) == []
    assert fired(rules, sample(packets=0)) == []
    changes = rules.update(sample(packets=0))
    assert [(c.alert.kind, c.active) for c in changes] == [(AlertKind.NO_AUDIO, True)]
    assert "no audio from the customer for 3 s" in changes[0].alert.message
    assert fired(rules, sample(packets=12)) == [("no_audio", False)]
    # What the server sends out is not "no audio from" anybody.
    for _ in range(5):
        assert fired(rules, sample(packets=0, direction=Direction.OUTBOUND)) == []


def test_alerts_say_whose_network_and_what_is_wrong() -> None:
    rules = AlertRules()
    for _ in range(3):
        changes = rules.update(sample(loss_pct=8.2, rtt_ms=650, mos=2.4))
    words = {c.alert.kind: c.alert.message for c in changes}
    assert words[AlertKind.HIGH_LOSS] == (
        "the customer's network is losing 8% of audio packets (from the customer)"
    )
    assert "650 ms round trip" in words[AlertKind.HIGH_RTT]
    assert words[AlertKind.LOW_MOS] == "the customer sounds poor (MOS 2.4)"
    assert {a.kind for a in rules.active} == set(words)
    # The participant leaves: every alert of theirs clears.
    assert {c.alert.kind for c in rules.forget("p1") if not c.active} == set(words)
    assert rules.active == []


def test_unmeasured_figures_neither_fire_nor_clear() -> None:
    rules = AlertRules()
    for _ in range(3):
        rules.update(sample(rtt_ms=900))
    assert [a.kind for a in rules.active] == [AlertKind.HIGH_RTT]
    for _ in range(10):
        assert fired(rules, sample(rtt_ms=None)) == []  # type: ignore[arg-type]
    assert [a.kind for a in rules.active] == [AlertKind.HIGH_RTT]


def video(**kw: float) -> StreamSample:
    return StreamSample("p1", "customer", Direction.INBOUND, "video", "camera", 0.0, 90, **kw)  # type: ignore[arg-type]


def test_video_has_its_own_jitter_and_loss_thresholds() -> None:
    """A frame is a burst of packets: 60 ms of jitter troubles a voice, not a camera."""
    voice, camera = AlertRules(), AlertRules()
    for _ in range(5):
        assert all(kind != "high_jitter" for kind, _ in fired(camera, video(jitter_ms=60)))
        assert all(kind != "high_loss" for kind, _ in fired(camera, video(loss_pct=4)))
    heard = [fired(voice, sample(jitter_ms=60)) for _ in range(3)]
    assert heard[-1] == [("high_jitter", True)]
    seen = [fired(camera, video(jitter_ms=150)) for _ in range(3)]
    assert ("high_jitter", True) in seen[-1]
    alert = next(a for a in camera.active if a.kind.value == "high_jitter")
    assert alert.threshold == 100.0 and alert.media == "video"


def test_one_slow_line_is_one_alert_naming_its_streams_once() -> None:
    """A slow, lossy line shows on audio and video both ways: one alert each, not four."""
    rules = AlertRules()

    def second(loss: float, rtt: float) -> list[AlertChange]:
        changes = []
        for direction in Direction:
            for medium, source in (("audio", "microphone"), ("video", "camera")):
                name = source if direction is Direction.INBOUND else medium
                s = StreamSample(
                    "p1", "customer", direction, medium, name, 0.0, 50, loss_pct=loss, rtt_ms=rtt
                )
                changes += rules.update(s)
        return changes

    fired = [c for _ in range(3) for c in second(loss=12, rtt=900)]
    assert sorted((c.alert.kind.value, c.active) for c in fired) == [
        ("high_loss", True),
        ("high_rtt", True),
    ]
    active = {a.kind.value: a for a in rules.active}
    assert set(active) == {"high_loss", "high_rtt"}
    loss = active["high_loss"]
    assert loss.message == (
        "the customer's network is losing 12% of audio and video packets "
        "(both ways: from and to the customer)"
    )
    assert len(loss.to_wire()["covers"]) == 4  # type: ignore[arg-type]
    # (loss clears once its 7-second average is back under the threshold too)
    cleared = [c for _ in range(8) for c in second(loss=0, rtt=40)]
    assert sorted((c.alert.kind.value, c.active) for c in cleared) == [
        ("high_loss", False),
        ("high_rtt", False),
    ]
    assert rules.active == []
