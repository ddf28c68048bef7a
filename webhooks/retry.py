"""When to try a failed delivery again, and when to stop trying.

Exponential backoff with jitter: the wait doubles from ``base_s`` to ``cap_s``, and
each wait is drawn between its half and its whole, so the retries of many events
that failed together (a receiver that was down) spread out instead of arriving
in one burst when it comes back. With the defaults an event is tried for a day:
ten attempts within the first 8.5 minutes, then one every 2.5-5 minutes (about 380
in all; ``max_attempts`` is there to make it shorter).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RetryPolicy"]

# 2**60 s is far past any cap: no float overflow however many attempts are made.
MAX_DOUBLINGS = 60


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a failed delivery is retried.

    Args:
        base_s: the wait after the first failed attempt (before jitter).
        cap_s: the longest wait between two attempts.
        max_attempts: attempts before the event is given up.
        max_age_s: an event older than this (from ``occurred_at``) is given up at its
            next failed attempt, however few attempts it had (restarts reset none of it).
    """

    base_s: float = 1.0
    cap_s: float = 300.0
    max_attempts: int = 500
    max_age_s: float = 86_400.0

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.cap_s:
            raise ValueError("RetryPolicy: 0 < base_s <= cap_s")
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy: max_attempts must be at least 1")

    def delay_s(self, attempts: int, rng: random.Random) -> float:
        """The wait after ``attempts`` failed attempts (1 for the first)."""
        full = min(self.cap_s, self.base_s * 2 ** min(max(attempts - 1, 0), MAX_DOUBLINGS))
        return full / 2 + rng.random() * full / 2

    def gives_up(self, attempts: int, age_s: float) -> bool:
        """After a failed attempt: stop trying this event?"""
        return attempts >= self.max_attempts or age_s >= self.max_age_s
