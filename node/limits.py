"""What one address, one token or one key may hold or do: rate limits and tallies.

Both are keyed and bounded: a flood of new keys (addresses, tokens) evicts the
oldest ones rather than growing memory without end. An evicted rate-limit key
starts again with a full bucket, which only ever errs towards letting a client
in; an evicted tally would undercount, so tallies never evict a key that still
holds something (their keys are freed when the count falls back to zero).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["RateLimiter", "Tally"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    refilled: float


class RateLimiter:
    """A token bucket per key: ``burst`` at once, then ``rate_per_s`` on average.

    Args:
        rate_per_s: tokens added per second.
        burst: the bucket's size (what a key may do at once after a quiet while).
        max_keys: keys remembered; the least recently used are forgotten first.
    """

    def __init__(self, rate_per_s: float, burst: float, *, max_keys: int = 100_000) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a rate limiter needs rate_per_s > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = float(burst)
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str, cost: float = 1.0, *, now: float | None = None) -> bool:
        """Spend ``cost`` of ``key``'s tokens; False (and nothing spent) if it has too few."""
        bucket = self._refill(key, time.monotonic() if now is None else now)
        if bucket.tokens < cost:
            return False
        bucket.tokens -= cost
        return True

    def retry_after_s(self, key: str, cost: float = 1.0, *, now: float | None = None) -> float:
        """Seconds until ``key`` could spend ``cost`` again (0 if it can now)."""
        bucket = self._refill(key, time.monotonic() if now is None else now)
        return max(0.0, (cost - bucket.tokens) / self.rate_per_s)

    def _refill(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            refill = (now - bucket.refilled) * self.rate_per_s
            bucket.tokens = min(self.burst, bucket.tokens + refill)
            bucket.refilled = now
        return bucket


class Tally:
    """How many of something each key holds now (sockets per address, calls per key).

    Args:
        limit: the most one key may hold.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._counts)

    def count(self, key: str) -> int:
        return self._counts.get(key, 0)

    def acquire(self, key: str) -> bool:
        """Count one more for ``key``; False (and nothing counted) if it already holds ``limit``."""
        held = self._counts.get(key, 0)
        if held >= self.limit:
            return False
        self._counts[key] = held + 1
        return True

    def release(self, key: str) -> None:
        held = self._counts.get(key, 0) - 1
        if held > 0:
            self._counts[key] = held
        else:
            self._counts.pop(key, None)
