"""The call clock: where each stream's frames belong in time, whatever the network did.

Within a stream, the sender's RTP timestamps say exactly how far apart frames
are, so a lost packet or a stretch of DTX leaves a gap of the right length
instead of pulling later audio forward. Across streams, RTP clocks share no
origin, so each stream is anchored to the call clock by the arrival time of
its first frame, and that anchor is corrected when the sender's clock drifts
from ours (sound cards run a little fast or slow: 100 ppm is 60 ms over ten
minutes, more than the 40 ms that makes two parties sound out of sync).
"""

from __future__ import annotations

from .source import EncodedFrame

# RTP clock rate by media kind: Opus runs at 48 kHz (RFC 7587), video at 90 kHz (RFC 3551).
CLOCK_RATES = {"audio": 48000, "video": 90000}

# How often the anchor is checked against arrivals, and by how much the
# earliest arrival in that window may disagree before it is moved. Network
# jitter only ever delays packets, so the earliest arrival is the truest.
# Each stream then stays within about the tolerance of the truth, so two
# parties drifting opposite ways stay within twice it of each other: 20 ms,
# half the 40 ms at which people hear them out of step. (At 20 ms, a fast
# and a slow sound card sawed 41 ms apart in tests/recording/test_call_clock.py.)
# A move of 10 ms leaves a gap or an overlap far shorter than one 20 ms frame.
DRIFT_WINDOW_S = 5.0
DRIFT_TOLERANCE_S = 0.010
# The first check comes sooner: the anchor is the first frame's arrival, and
# that frame may have been held up by as much as the network's jitter.
FIRST_WINDOW_S = 1.0


class StreamClock:
    """Maps one stream's RTP timestamps to milliseconds since the call started."""

    def __init__(self, clock_rate: int, call_start: float) -> None:
        self._rate = clock_rate
        self._call_start = call_start
        self._epoch: int | None = None
        self._anchor_s = 0.0  # call time of the anchor frame
        self._anchor_ts = 0  # its RTP timestamp (unwrapped)
        self._last_ts = 0
        self._unwrap = 0
        self._window_start = 0.0
        self._window_s = FIRST_WINDOW_S
        self._window_min_lag = float("inf")
        self._last_ms = -1

    def place(self, frame: EncodedFrame) -> int:
        """Call time of ``frame`` in ms, never earlier than the previous frame's."""
        arrival_s = frame.arrival - self._call_start
        if frame.epoch != self._epoch:
            # A new peer (reconnect) starts a new RTP clock: anchor it afresh.
            self._epoch = frame.epoch
            self._anchor_s = arrival_s
            self._anchor_ts = frame.timestamp
            self._last_ts = frame.timestamp
            self._unwrap = 0
            self._window_start = arrival_s
            self._window_s = FIRST_WINDOW_S
            self._window_min_lag = float("inf")
        ts = self._unwrapped(frame.timestamp)
        media_s = self._anchor_s + (ts - self._anchor_ts) / self._rate
        self._track_drift(arrival_s - media_s, arrival_s)
        ms = round(media_s * 1000)
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        return ms

    def _unwrapped(self, timestamp: int) -> int:
        # RTP timestamps are 32 bits and wrap (after 24 h of Opus, 13 h of video).
        if timestamp < self._last_ts and self._last_ts - timestamp > 1 << 31:
            self._unwrap += 1 << 32
        self._last_ts = timestamp
        return timestamp + self._unwrap

    def _track_drift(self, lag_s: float, arrival_s: float) -> None:
        self._window_min_lag = min(self._window_min_lag, lag_s)
        if arrival_s - self._window_start < self._window_s:
            return
        if abs(self._window_min_lag) > DRIFT_TOLERANCE_S:
            self._anchor_s += self._window_min_lag
        self._window_start = arrival_s
        self._window_s = DRIFT_WINDOW_S
        self._window_min_lag = float("inf")
