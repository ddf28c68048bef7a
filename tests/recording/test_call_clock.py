"""The call clock keeps two parties in step over a long call, whatever their sound cards do.

Guards (10 simulated minutes, frames placed by media.clock.StreamClock):
- a customer whose sound card runs 100 ppm fast and an agent whose runs 100 ppm slow
  (together 120 ms apart after 10 minutes if nothing corrected it) stay within 40 ms of
  each other and of the truth, with up to 30 ms of network jitter, 5 % loss and a
  3-second DTX silence on top;
- a reconnect (a new peer, a new RTP clock starting anywhere) is placed at its arrival;
- RTP timestamps that wrap around 2^32 do not move the audio.
"""

from __future__ import annotations

import random

import pytest

from media.clock import StreamClock
from media.source import EncodedFrame

RATE = 48000
FRAME = 960  # 20 ms at 48 kHz
CALL_START = 1000.0  # perf_counter of call time 0
MINUTES = 10
MAX_SKEW_MS = 40


def speak(
    clock: StreamClock,
    *,
    ppm: float,
    delay_s: float,
    seed: int,
    first_ts: int = 0,
    epoch: int = 1,
    start_s: float = 0.0,
    seconds: float = MINUTES * 60,
) -> list[tuple[float, int]]:
    """Send a party's frames through ``clock``: (true capture time s, placed ms) per frame.

    The sender's card makes RATE * (1 + ppm/1e6) samples per real second and stamps each
    frame by its sample count; the network adds ``delay_s`` plus up to 30 ms of jitter and
    loses 5 % of frames; from 120 s to 123 s the party is silent (DTX: nothing is sent).
    """
    rng = random.Random(seed)
    rate = RATE * (1 + ppm / 1e6)
    placed = []
    frames = round(seconds * rate / FRAME)
    for n in range(frames):
        capture = start_s + n * FRAME / rate
        if 120.0 <= capture < 123.0 or rng.random() < 0.05:
            continue
        arrival = CALL_START + capture + delay_s + rng.uniform(0, 0.030)
        timestamp = (first_ts + n * FRAME) % (1 << 32)
        frame = EncodedFrame(b"x", timestamp, True, epoch, arrival)
        placed.append((capture, clock.place(frame)))
    return placed


def errors_ms(placed: list[tuple[float, int]], delay_s: float) -> list[float]:
    """How far each frame was placed from where it belongs (its capture plus the fixed delay)."""
    return [ms - (capture + delay_s) * 1000 for capture, ms in placed]


def skew_ms(delay: float, customer_ppm: float, agent_ppm: float) -> tuple[float, list[float]]:
    """The most the parties were apart over the call, and the customer's own errors."""
    customer = speak(StreamClock(RATE, CALL_START), ppm=customer_ppm, delay_s=delay, seed=1)
    agent = speak(StreamClock(RATE, CALL_START), ppm=agent_ppm, delay_s=delay, seed=2)
    customer_err, agent_err = errors_ms(customer, delay), errors_ms(agent, delay)
    # Second by second: what was said at the same moment lines up.
    by_second: dict[int, list[float]] = {}
    for (capture, _), err in zip(customer, customer_err, strict=True):
        by_second.setdefault(int(capture), []).append(err)
    skews = [
        abs(err - sum(by_second[int(capture)]) / len(by_second[int(capture)]))
        for (capture, _), err in zip(agent, agent_err, strict=True)
        if int(capture) in by_second
    ]
    return max(skews), customer_err + agent_err


def test_drifting_sound_cards_stay_in_step_for_ten_minutes() -> None:
    skew, errors = skew_ms(0.040, customer_ppm=+100, agent_ppm=-100)

    assert skew < MAX_SKEW_MS, f"the parties drifted {skew:.1f} ms apart"
    assert max(map(abs, errors)) < MAX_SKEW_MS, "a party was placed away from when it spoke"


def test_without_correction_the_same_cards_drift_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: RTP timestamps alone put these parties 120 ms apart."""
    monkeypatch.setattr("media.clock.DRIFT_TOLERANCE_S", float("inf"))

    skew, _ = skew_ms(0.040, customer_ppm=+100, agent_ppm=-100)

    assert skew > 2 * MAX_SKEW_MS


def test_a_reconnect_is_placed_at_its_arrival_on_a_new_rtp_clock() -> None:
    clock = StreamClock(RATE, CALL_START)
    speak(clock, ppm=0, delay_s=0.02, seed=3, seconds=30)
    after = speak(
        clock, ppm=0, delay_s=0.02, seed=4, first_ts=123_456_789, epoch=2, start_s=45, seconds=10
    )
    assert max(map(abs, errors_ms(after, 0.02))) < MAX_SKEW_MS


def test_rtp_timestamps_wrapping_around_do_not_move_the_audio() -> None:
    clock = StreamClock(RATE, CALL_START)
    # Starts 5 s before the 32-bit timestamp wraps.
    placed = speak(clock, ppm=0, delay_s=0.02, seed=5, first_ts=(1 << 32) - 5 * RATE, seconds=20)
    assert max(map(abs, errors_ms(placed, 0.02))) < MAX_SKEW_MS
