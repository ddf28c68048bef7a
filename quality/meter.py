"""What arrives on each published stream: bytes, frames, picture size and freezes.

A tap on the media router (like the recorder): aiortc counts packets and
jitter per SSRC but not bytes or frames, and knows nothing of pictures. It
runs on the packet path, so it only adds to counters; the sampler reads
and resets them once a second.
"""

from __future__ import annotations

from dataclasses import dataclass

from media.source import EncodedFrame, SourceKey, vp8_size

# A video frame later than this many average frame intervals is a freeze
# (the W3C "freezeCount" rule: max(3 x average, average + 150 ms)).
FREEZE_FACTOR = 3.0
FREEZE_MARGIN_S = 0.150
INTERVAL_WEIGHT = 1 / 16  # smoothing of the average frame interval


@dataclass(slots=True)
class StreamCounts:
    """One stream's counts since the last read."""

    bytes: int = 0
    frames: int = 0
    freezes: int = 0
    width: int | None = None
    height: int | None = None
    last_arrival: float | None = None
    interval_s: float | None = None


class StreamMeter:
    """Counts every published stream of a call; ``take()`` hands over and resets the counts."""

    def __init__(self) -> None:
        self._counts: dict[SourceKey, StreamCounts] = {}

    def on_frame(self, key: SourceKey, frame: EncodedFrame) -> None:
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = StreamCounts()
        counts.bytes += len(frame.data)
        counts.frames += 1
        if key.source.media_kind != "video":
            return
        if frame.keyframe:
            size = vp8_size(frame.data)
            if size is not None:
                counts.width, counts.height = size
        last, counts.last_arrival = counts.last_arrival, frame.arrival
        if last is None or frame.arrival <= last:
            return
        gap = frame.arrival - last
        average = counts.interval_s
        if average is not None and gap > max(FREEZE_FACTOR * average, average + FREEZE_MARGIN_S):
            counts.freezes += 1
        else:
            # A freeze does not teach the average: it would make the next one harder to see.
            step = gap if average is None else (gap - average) * INTERVAL_WEIGHT
            counts.interval_s = gap if average is None else average + step

    def take(self) -> dict[SourceKey, StreamCounts]:
        """The counts since the last call; picture size and timing carry over."""
        taken: dict[SourceKey, StreamCounts] = {}
        for key, counts in self._counts.items():
            taken[key] = StreamCounts(
                counts.bytes, counts.frames, counts.freezes, counts.width, counts.height
            )
            counts.bytes = counts.frames = counts.freezes = 0
        return taken

    def forget(self, participant_id: str) -> None:
        for key in [k for k in self._counts if k.participant_id == participant_id]:
            del self._counts[key]
