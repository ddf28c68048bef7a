"""A call's events published by different servers reach the shop in order (a real Redis).

With many nodes a call is queued on one node and answered on another: each keeps its
own outbox. Guards:
- node B's call.answered and call.ended wait while node A's call.queued is not
  delivered, and go once it is: the shop gets 1, 2, 3 though B's retries come first;
- a given-up predecessor (listed for the admin) releases the events after it;
- one that never comes holds them no longer than ``hold_s``, said once in the log;
- an endpoint that does not want the predecessor does not wait for it;
- with Redis unreachable the events still go (at least once comes first), said once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer
from tests.webhooks.conftest import FAST, endpoint, free_port, wait_until
from tests.webhooks.receiver import Receiver
from webhooks import Dispatcher, EventType, Follow, Hold, RetryPolicy
from webhooks.redis_order import RedisDeliveryOrder

QUEUED = Follow(1, EventType.CALL_QUEUED)
ANSWERED = Follow(2, EventType.CALL_ANSWERED)
# Node A retries after a second; node B within a tenth: B's events would go first.
SLOW = RetryPolicy(base_s=1.0, cap_s=1.0, max_attempts=100, max_age_s=3600)


@pytest.fixture
async def order(redis_server: RedisServer) -> AsyncIterator[RedisDeliveryOrder]:
    shared = RedisDeliveryOrder.from_url(redis_server.url, prefix=f"test:{secrets.token_hex(4)}:")
    yield shared
    await shared.close()


async def started(directory: Path, shop: Receiver, **options: object) -> Dispatcher:
    dispatcher = Dispatcher(directory, [endpoint(shop.url)], **options)  # type: ignore[arg-type]
    await dispatcher.start()
    return dispatcher


async def publish_the_call(a: Dispatcher, b: Dispatcher, call_id: str) -> None:
    """Queued on node A; answered and ended on node B."""
    await a.publish(EventType.CALL_QUEUED, call_id, {"language": "bn"}, seq=1)
    await b.publish(
        EventType.CALL_ANSWERED, call_id, {"agent_id": "rahim"}, seq=2, follows=(QUEUED,)
    )
    await b.publish(
        EventType.CALL_ENDED, call_id, {"handle_s": 61.5}, seq=3, follows=(ANSWERED, QUEUED)
    )


async def test_events_of_one_call_on_two_nodes_reach_the_shop_in_order(
    tmp_path: Path, order: RedisDeliveryOrder
) -> None:
    shop = Receiver("whsec-test-0123456789abcdef", failing_types={"call.queued"})
    await shop.start()
    a = await started(tmp_path / "a", shop, policy=SLOW, order=order)
    b = await started(tmp_path / "b", shop, policy=FAST, order=order)
    try:
        await publish_the_call(a, b, "call-1")
        await shop.wait_for_requests(1)  # A tried call.queued, and the shop failed it
        await asyncio.sleep(0.5)  # B looked several times meanwhile
        assert shop.deduplicated() == [], "B sent before A's call.queued was delivered"
        [b_status] = b.status()
        assert (b_status.pending, b_status.held) == (2, 1)

        shop.failing_types.clear()  # the shop's bug is fixed
        await shop.wait_for(3)
        assert shop.of_call("call-1") == [1, 2, 3]
        await wait_until(lambda: b.status()[0].held == 0)
    finally:
        await a.close()
        await b.close()
        await shop.stop()


async def test_a_given_up_event_lets_the_later_ones_go(
    tmp_path: Path, order: RedisDeliveryOrder
) -> None:
    shop = Receiver("whsec-test-0123456789abcdef", failing_types={"call.queued"})
    await shop.start()
    gives_up = RetryPolicy(base_s=0.05, cap_s=0.1, max_attempts=3, max_age_s=3600)
    a = await started(tmp_path / "a", shop, policy=gives_up, order=order)
    b = await started(tmp_path / "b", shop, policy=FAST, order=order)
    try:
        await publish_the_call(a, b, "call-2")
        await shop.wait_for(2)
        assert shop.of_call("call-2") == [2, 3]
        [failed] = a.status()[0].failed
        assert (failed.type, failed.seq) == ("call.queued", 1)  # the admin can send it again
    finally:
        await a.close()
        await b.close()
        await shop.stop()


async def test_an_event_whose_predecessor_never_comes_waits_no_longer_than_the_hold(
    tmp_path: Path,
    receiver: Receiver,
    order: RedisDeliveryOrder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    b = await started(tmp_path / "b", receiver, policy=FAST, order=order, hold=Hold(0.6))
    try:
        loop = asyncio.get_running_loop()
        began = loop.time()
        await b.publish(EventType.CALL_ANSWERED, "call-3", {}, seq=2, follows=(QUEUED,))
        await b.publish(EventType.CALL_ANSWERED, "call-4", {}, seq=2, follows=(QUEUED,))
        await receiver.wait_for(2)
        assert loop.time() - began >= 0.6
        said = [r for r in caplog.records if "sent without it" in r.getMessage()]
        assert len(said) == 1, "a line per event held too long"
        assert "waited" in said[0].getMessage() and "call-" in said[0].getMessage()
    finally:
        await b.close()


async def test_an_endpoint_that_does_not_want_the_earlier_event_does_not_wait_for_it(
    tmp_path: Path, receiver: Receiver, order: RedisDeliveryOrder
) -> None:
    ended_only = endpoint(receiver.url, events=frozenset({EventType.CALL_ENDED}))
    b = Dispatcher(tmp_path / "b", [ended_only], policy=FAST, order=order, hold=Hold(60))
    await b.start()
    try:
        await b.publish(EventType.CALL_ENDED, "call-5", {}, seq=3, follows=(ANSWERED, QUEUED))
        [got] = await receiver.wait_for(1, timeout=2)
        assert (got.type, got.seq) == ("call.ended", 3)
    finally:
        await b.close()


async def test_with_redis_unreachable_the_events_still_go_and_it_is_said_once(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = RedisDeliveryOrder.from_url(f"redis://127.0.0.1:{free_port()}/0")
    b = await started(tmp_path / "b", receiver, policy=FAST, order=nowhere, hold=Hold(60))
    caplog.set_level(logging.WARNING, logger="webhooks")
    try:
        for n in range(3):
            await b.publish(EventType.CALL_ANSWERED, f"call-{n}", {}, seq=2, follows=(QUEUED,))
        await receiver.wait_for(3, timeout=5)
        said = [r.getMessage() for r in caplog.records if "other servers" in r.getMessage()]
        assert len(said) == 1, said
        assert "Redis" in said[0] and "Traceback" not in said[0]
    finally:
        await b.close()
        await nowhere.close()
