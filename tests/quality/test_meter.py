"""Freezes counted by the stream meter (quality/meter.py), frame by frame with set arrival times.

Guards:
- a camera at a steady 30 frames a second has no freeze, nor does one that slows a little;
- a frame later than max(3 x the average interval, average + 150 ms) is one freeze, counted
  once, and a later stall of the same length is counted again;
- a stall just under the threshold is not a freeze;
- the count is handed over by ``take()`` and starts again from zero;
- a microphone's gaps (DTX, silence) are never freezes.
"""

from __future__ import annotations

import pytest

from media.source import EncodedFrame, SourceKey, SourceKind
from quality.meter import FREEZE_MARGIN_S, StreamMeter

FPS_30 = 1 / 30
CAMERA = SourceKey("p_customer01", SourceKind.CAMERA)
MICROPHONE = SourceKey("p_customer01", SourceKind.MICROPHONE)


def feed(meter: StreamMeter, key: SourceKey, arrivals: list[float]) -> None:
    for n, arrival in enumerate(arrivals):
        # Delta frames (bit 0 set): no picture size to read, only timing.
        meter.on_frame(key, EncodedFrame(b"\x01" + bytes(40), n * 3000, False, 0, arrival))


def steady(count: int, start: float = 0.0, interval: float = FPS_30) -> list[float]:
    return [start + n * interval for n in range(count)]


def test_a_steady_camera_has_no_freeze() -> None:
    meter = StreamMeter()
    feed(meter, CAMERA, steady(90))
    counts = meter.take()[CAMERA]
    assert (counts.frames, counts.freezes) == (90, 0)


def test_a_stall_past_the_threshold_is_one_freeze_and_the_next_is_seen_too() -> None:
    meter = StreamMeter()
    # 30 fps: the threshold is max(3 x 33 ms, 33 ms + 150 ms) = 183 ms.
    first = steady(30)
    stall = 0.5
    second = steady(30, start=first[-1] + stall)
    third = steady(30, start=second[-1] + stall)
    feed(meter, CAMERA, first + second + third)
    assert meter.take()[CAMERA].freezes == 2


def test_a_stall_just_under_the_threshold_is_not_a_freeze() -> None:
    meter = StreamMeter()
    first = steady(30)
    just_under = FPS_30 + FREEZE_MARGIN_S - 0.01
    feed(meter, CAMERA, first + steady(30, start=first[-1] + just_under))
    assert meter.take()[CAMERA].freezes == 0


def test_take_hands_the_count_over_and_starts_again() -> None:
    meter = StreamMeter()
    first = steady(30)
    after = steady(10, start=first[-1] + 0.6)
    feed(meter, CAMERA, first + after)
    assert meter.take()[CAMERA].freezes == 1
    # The next second: steady again, continuing from the last arrival.
    meter.on_frame(CAMERA, EncodedFrame(b"\x01" + bytes(40), 0, False, 0, after[-1] + FPS_30))
    assert meter.take()[CAMERA].freezes == 0


@pytest.mark.parametrize("gap_s", [0.5, 2.0], ids=["half-second", "two-seconds"])
def test_a_microphone_gap_is_never_a_freeze(gap_s: float) -> None:
    meter = StreamMeter()
    first = steady(50, interval=0.02)
    feed(meter, MICROPHONE, first + steady(50, start=first[-1] + gap_s, interval=0.02))
    counts = meter.take()[MICROPHONE]
    assert (counts.frames, counts.freezes) == (100, 0)
