"""Voice activity per 20 ms frame, and the talk spurts it adds up to.

A frame is voiced when its level stands clear of the speaker's own noise
floor and above an absolute floor, so that a quiet room's hiss is never talk.
The noise floor is the quietest frame of the last ``NOISE_WINDOW_MS`` (minimum
statistics: speech dips between words and syllables, noise does not, so a
steady hum or fan is the floor within that window, however loud, while the
words over it stand out). Voiced frames closer together than
``MERGE_GAP_MS`` are one spurt (the pauses between words and at a comma are
part of talking); a spurt shorter than ``MIN_SPURT_MS`` is a click or a
breath, not talk. A spurt runs from its first voiced frame to the end of its
last, so its length is what was said, not what the detector waited for.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

FRAME_MS = 20
# A frame is voiced above both: the level a quiet microphone never reaches...
ABSOLUTE_FLOOR_DB = -50.0
# ...and this far above the speaker's noise floor, the quietest frame of the last 2 s.
ABOVE_NOISE_DB = 12.0
NOISE_WINDOW_MS = 2000
SILENT_DB = -100.0  # what digital silence (and a frame that did not decode) measures
MERGE_GAP_MS = 300
MIN_SPURT_MS = 60


def level_db(samples: np.ndarray) -> float:
    """The RMS level of a frame of float samples (full scale 1.0), in dBFS."""
    if samples.size == 0:
        return SILENT_DB
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    return max(SILENT_DB, 20 * math.log10(rms)) if rms > 0 else SILENT_DB


@dataclass(frozen=True, slots=True)
class TalkSpurt:
    """One stretch of someone talking, on the call clock."""

    start_ms: int
    end_ms: int
    level_db: float
    """The mean level of its voiced frames (dBFS): how loud they spoke."""
    peak_db: float

    @property
    def ms(self) -> int:
        return self.end_ms - self.start_ms

    def to_wire(self) -> dict[str, float | int]:
        return {
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "level_db": round(self.level_db, 1),
            "peak_db": round(self.peak_db, 1),
        }


class VoiceActivity:
    """Frame levels in, closed talk spurts out (frames in time order)."""

    def __init__(self) -> None:
        # The frames that may still be the quietest of the window: (t_ms, level), levels
        # rising, so the first is the noise floor.
        self._quietest: deque[tuple[int, float]] = deque()
        self._start: int | None = None  # the open spurt's first voiced frame
        self._end = 0  # the end of its last voiced frame
        self._levels: list[float] = []  # its voiced frames' levels

    @property
    def talking(self) -> bool:
        return self._start is not None

    @property
    def noise_db(self) -> float:
        """The speaker's noise floor now."""
        return self._quietest[0][1] if self._quietest else SILENT_DB

    def add(self, t_ms: int, db: float) -> list[TalkSpurt]:
        """A frame starting at ``t_ms`` measured ``db``; the spurts this closes."""
        closed = self.until(t_ms)
        quietest = self._quietest
        if not quietest:  # a quiet room until heard otherwise: first words count at once
            quietest.append((t_ms, ABSOLUTE_FLOOR_DB - ABOVE_NOISE_DB))
        while quietest and quietest[-1][1] >= db:
            quietest.pop()
        quietest.append((t_ms, db))
        while quietest[0][0] <= t_ms - NOISE_WINDOW_MS:
            quietest.popleft()
        if db <= max(ABSOLUTE_FLOOR_DB, self.noise_db + ABOVE_NOISE_DB):
            return closed
        if self._start is None:
            self._start = t_ms
        self._end = t_ms + FRAME_MS
        self._levels.append(db)
        return closed

    def until(self, t_ms: int) -> list[TalkSpurt]:
        """Nothing voiced before ``t_ms``: the open spurt closes if the pause is long enough."""
        if self._start is None or t_ms - self._end < MERGE_GAP_MS:
            return []
        return self.flush()

    def flush(self) -> list[TalkSpurt]:
        """Close the open spurt (the stream went quiet for good, or the call ended)."""
        start, levels = self._start, self._levels
        self._start, self._levels = None, []
        if start is None or self._end - start < MIN_SPURT_MS:
            return []
        mean = 10 * math.log10(sum(10 ** (db / 10) for db in levels) / len(levels))
        return [TalkSpurt(start, self._end, mean, max(levels))]
