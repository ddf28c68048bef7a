"""A node keeps warm recognisers ready, as many as its operator set, and refills them.

A call that starts on a warm recogniser skips a new one's first computation (~0.9 s of
CPU in its first second; ``kotha bench transcribe`` measures it). The real Korean model.
"""

from __future__ import annotations

import asyncio

from transcribe.pool import TranscriptionPool


async def ready(pool: TranscriptionPool, model: object, count: int) -> int:
    """Spares of ``model`` once the pool has had time to make ``count`` (ticking as the
    server does)."""
    for _ in range(600):
        if pool.spares.count(model) >= count:
            break
        pool.tick()
        await asyncio.sleep(0.05)
    return pool.spares.count(model)


async def test_the_pool_keeps_as_many_warm_recognisers_as_set_and_refills_them(
    korean_model: object,
) -> None:
    pool = TranscriptionPool(workers=1, max_streams=4, warm_spares=3)
    try:
        pool.warm(korean_model)
        assert await ready(pool, korean_model, 3) == 3
        await asyncio.sleep(0.3)
        pool.tick()
        assert pool.spares.count(korean_model) == 3  # no more than set

        assert pool.spares.take(korean_model) is not None  # a call started on one
        assert await ready(pool, korean_model, 3) == 3
    finally:
        pool.close()


async def test_by_default_one_warm_recogniser_per_thread(korean_model: object) -> None:
    pool = TranscriptionPool(workers=2, max_streams=4)
    try:
        pool.warm(korean_model)
        assert await ready(pool, korean_model, 2) == 2
        await asyncio.sleep(0.3)
        pool.tick()
        assert pool.spares.count(korean_model) == 2
    finally:
        pool.close()
