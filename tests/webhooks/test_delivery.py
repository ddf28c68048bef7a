"""The shop's backend is told about calls: signed, at least once, in order per call.

Guards (a real receiver on 127.0.0.1 checks every request's signature):
- each delivery carries its id, type, JSON content type, user agent and a signature
  the shop verifies with the shared secret; the body is the event, seq counting 1, 2,
  3 within each call;
- a receiver that fails three times and then recovers gets every event exactly once
  after dropping duplicates by id, and each call's events in seq order (also on the
  wire: a later event of a call is never sent before the earlier one is taken);
- a call whose events keep failing does not hold back another call's events;
- an event that keeps failing is given up after max_attempts: status() lists it with
  the error in words, the call's later events go, and retry() delivers it;
- an endpoint that wants only call.ended gets only those;
- a receiver that is down, slow or answering 500 shows in status() in words, and a
  dead receiver costs one warning in the log, not one per retry; neither the secret
  nor the body is ever logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from aiohttp import web

from tests.webhooks.conftest import (
    FAST,
    SECRET,
    OpenDispatcher,
    a_call,
    endpoint,
    free_port,
    wait_until,
)
from tests.webhooks.receiver import Receiver
from webhooks import Dispatcher, DispatcherStateError, EventType, NotFoundError, RetryPolicy


async def test_each_delivery_is_signed_and_says_what_it_is(
    receiver: Receiver, open_dispatcher: OpenDispatcher
) -> None:
    dispatcher = await open_dispatcher(endpoint(receiver.url))
    published = await dispatcher.publish(
        EventType.CALL_QUEUED, "call-1", {"language": "bn", "customer": {"name": "করিম"}}
    )

    (got,) = await receiver.wait_for(1)
    assert receiver.rejected == []
    assert got.headers["Kotha-Event-Id"] == published.id == got.id
    assert got.headers["Kotha-Event-Type"] == "call.queued"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "kotha-webhooks/1"
    assert got.headers["Kotha-Signature"].startswith("t=")
    assert got.body == published.to_body()
    assert json.loads(got.body) == {
        "id": published.id,
        "type": "call.queued",
        "call_id": "call-1",
        "seq": 1,
        "occurred_at": published.occurred_at,
        "data": {"language": "bn", "customer": {"name": "করিম"}},
    }
    assert len(published.id) == 32


async def test_the_events_of_a_call_are_numbered_from_one_and_calls_apart(
    receiver: Receiver, open_dispatcher: OpenDispatcher
) -> None:
    dispatcher = await open_dispatcher(endpoint(receiver.url))
    await asyncio.gather(a_call(dispatcher, "call-a"), a_call(dispatcher, "call-b"))

    await receiver.wait_for(6)
    assert receiver.of_call("call-a") == [1, 2, 3]
    assert receiver.of_call("call-b") == [1, 2, 3]
    assert [r.type for r in receiver.deduplicated() if r.call_id == "call-a"] == [
        "call.queued",
        "call.answered",
        "call.ended",
    ]


async def test_a_receiver_that_fails_three_times_then_recovers_gets_each_event_once_in_order(
    receiver: Receiver, open_dispatcher: OpenDispatcher
) -> None:
    receiver.fail_first = 3
    dispatcher = await open_dispatcher(endpoint(receiver.url))
    calls = [f"call-{n}" for n in range(5)]
    await asyncio.gather(*(a_call(dispatcher, call_id) for call_id in calls))

    kept = await receiver.wait_for(15)
    assert receiver.rejected == []
    assert len(kept) == 15
    assert len({r.id for r in kept}) == 15
    assert sum(1 for r in receiver.requests if r.answered == 500) == 3
    for call_id in calls:
        assert receiver.of_call(call_id) == [1, 2, 3]
        on_the_wire = [r.seq for r in receiver.requests if r.call_id == call_id]
        assert on_the_wire == sorted(on_the_wire), "a later event went before an earlier one"
    await wait_until(lambda: dispatcher.status()[0].pending == 0)
    (status,) = dispatcher.status()
    assert (status.state, status.delivered, status.failed_count) == ("delivering", 15, 0)
    assert status.last_error == "the receiver answered 500 (Internal Server Error)"
    assert status.last_success_at is not None


async def test_a_failing_call_does_not_hold_back_another_calls_events(
    receiver: Receiver, open_dispatcher: OpenDispatcher
) -> None:
    receiver.failing_calls = {"call-stuck"}
    dispatcher = await open_dispatcher(endpoint(receiver.url))
    await a_call(dispatcher, "call-stuck")
    await a_call(dispatcher, "call-fine")

    await receiver.wait_for(3)
    assert receiver.of_call("call-fine") == [1, 2, 3]
    assert receiver.of_call("call-stuck") == []
    # The stuck call is still retried, its first event only: the rest wait their turn.
    await wait_until(lambda: sum(1 for r in receiver.requests if r.call_id == "call-stuck") >= 3)
    assert {r.seq for r in receiver.requests if r.call_id == "call-stuck"} == {1}

    receiver.failing_calls.clear()
    await receiver.wait_for(6)
    assert receiver.of_call("call-stuck") == [1, 2, 3]


async def test_an_event_that_keeps_failing_is_given_up_shown_to_the_admin_and_can_be_retried(
    receiver: Receiver, open_dispatcher: OpenDispatcher
) -> None:
    receiver.failing_types = {"call.queued"}
    policy = RetryPolicy(base_s=0.02, cap_s=0.05, max_attempts=3, max_age_s=3600)
    dispatcher = await open_dispatcher(endpoint(receiver.url), policy=policy)
    queued = await dispatcher.publish(EventType.CALL_QUEUED, "call-1", {"language": "en"})
    answered = await dispatcher.publish(EventType.CALL_ANSWERED, "call-1", {"agent_id": "rahim"})

    # Given up after three attempts, the call's next event goes.
    (got,) = await receiver.wait_for(1)
    assert got.id == answered.id
    assert [r.id for r in receiver.requests if r.answered == 500] == [queued.id] * 3
    await wait_until(lambda: dispatcher.status()[0].delivered == 1)
    (status,) = dispatcher.status()
    assert (status.pending, status.delivered, status.failed_count) == (0, 1, 1)
    (failed,) = status.failed
    assert (failed.event_id, failed.type, failed.call_id, failed.seq) == (
        queued.id,
        "call.queued",
        "call-1",
        1,
    )
    assert failed.attempts == 3
    assert failed.error == "the receiver answered 500 (Internal Server Error)"
    assert failed.failed_at >= queued.occurred_at
    assert status.to_dict()["failed"][0]["error"] == failed.error

    receiver.failing_types.clear()
    await dispatcher.retry("shop", queued.id)
    await receiver.wait_for(2)
    # Late, after the call's later event: its seq tells the shop.
    assert receiver.of_call("call-1") == [2, 1]
    await wait_until(lambda: dispatcher.status()[0].delivered == 2)
    assert (dispatcher.status()[0].failed_count, dispatcher.status()[0].pending) == (0, 0)

    with pytest.raises(NotFoundError, match="no failed event"):
        await dispatcher.retry("shop", queued.id)
    with pytest.raises(NotFoundError, match="no webhook endpoint named 'crm'"):
        await dispatcher.retry("crm", queued.id)


async def test_retry_failed_sends_every_given_up_event_again(
    receiver: Receiver, open_dispatcher: OpenDispatcher
) -> None:
    receiver.failing_types = {"call.abandoned"}
    policy = RetryPolicy(base_s=0.02, cap_s=0.05, max_attempts=2, max_age_s=3600)
    dispatcher = await open_dispatcher(endpoint(receiver.url), policy=policy)
    for n in range(3):
        await dispatcher.publish(EventType.CALL_ABANDONED, f"call-{n}", {"wait_s": 40.0})
    await wait_until(lambda: dispatcher.status()[0].failed_count == 3)

    receiver.failing_types.clear()
    assert await dispatcher.retry_failed("shop") == 3
    await receiver.wait_for(3)


async def test_an_endpoint_that_wants_only_ended_calls_gets_only_those(
    receiver: Receiver, open_dispatcher: OpenDispatcher
) -> None:
    billing = Receiver(SECRET, path="/billing")
    await billing.start()
    try:
        dispatcher = await open_dispatcher(
            endpoint(receiver.url, "crm"),
            endpoint(billing.url, "billing", events={EventType.CALL_ENDED}),
        )
        await a_call(dispatcher, "call-1")
        await dispatcher.publish(EventType.CALL_ABANDONED, "call-2", {"wait_s": 61.0})

        await receiver.wait_for(4)
        (ended,) = await billing.wait_for(1)
        assert (ended.type, ended.call_id, ended.seq) == ("call.ended", "call-1", 3)
        await asyncio.sleep(0.2)
        assert len(billing.requests) == 1
    finally:
        await billing.stop()


async def test_a_receiver_that_is_down_shows_as_failing_in_words(
    open_dispatcher: OpenDispatcher,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks?token=do-not-show"
    dispatcher = await open_dispatcher(endpoint(url))
    await dispatcher.publish(EventType.CALL_QUEUED, "call-1", {})

    await wait_until(lambda: dispatcher.status()[0].last_error is not None)
    (status,) = dispatcher.status()
    assert status.state == "failing"
    assert status.url == url.split("?", maxsplit=1)[0]
    assert status.last_error == f"could not connect to {status.url}: connection refused"
    assert status.pending == 1
    await wait_until(lambda: dispatcher.status()[0].next_attempt_at is not None)


async def test_a_receiver_that_answers_too_late_is_tried_again(
    receiver: Receiver, open_dispatcher: OpenDispatcher
) -> None:
    receiver.delay_s = 1.0
    dispatcher = await open_dispatcher(endpoint(receiver.url, timeout_s=0.2))
    published = await dispatcher.publish(EventType.CALL_QUEUED, "call-1", {})

    await wait_until(lambda: dispatcher.status()[0].last_error is not None)
    assert dispatcher.status()[0].last_error == "no answer within 0.2 s"
    receiver.delay_s = 0.0
    # The slow answers may have been taken too: at least once, and once by id.
    (got,) = await receiver.wait_for(1)
    assert got.id == published.id
    await wait_until(lambda: dispatcher.status()[0].state == "delivering")


async def test_a_redirect_is_not_followed_and_says_where_it_went(
    open_dispatcher: OpenDispatcher,
) -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("https://shop.example/new-hooks")

    app = web.Application()
    app.router.add_post("/old", moved)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        port = runner.addresses[0][1]
        dispatcher = await open_dispatcher(endpoint(f"http://127.0.0.1:{port}/old"))
        await dispatcher.publish(EventType.CALL_QUEUED, "call-1", {})
        await wait_until(lambda: dispatcher.status()[0].last_error is not None)
        assert dispatcher.status()[0].last_error == (
            "the receiver answered 301 (Moved Permanently), a redirect to "
            "https://shop.example/new-hooks: redirects are not followed, configure the new URL"
        )
    finally:
        await runner.cleanup()


async def test_a_dead_receiver_is_one_warning_in_the_log_not_one_per_retry(
    receiver: Receiver, open_dispatcher: OpenDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="webhooks")
    receiver.fail_first = 1_000
    dispatcher = await open_dispatcher(endpoint(receiver.url))
    for n in range(3):
        await dispatcher.publish(EventType.CALL_QUEUED, f"call-{n}", {"secret": "not-logged"})
    await receiver.wait_for_requests(20)

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "Webhooks(shop) delivering -> failing: the receiver answered 500 (Internal Server "
        "Error); retrying with backoff, one request at a time until it takes one"
    ]
    # While failing, one request at a time: the receiver is probed, not flooded.
    assert dispatcher.status()[0].in_flight <= 1

    receiver.fail_first = 0
    await receiver.wait_for(3)
    await wait_until(lambda: dispatcher.status()[0].state == "delivering")
    assert SECRET not in caplog.text
    assert "not-logged" not in caplog.text
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("failing -> delivering" in line for line in infos)


async def test_the_secret_is_not_in_the_endpoints_repr() -> None:
    assert SECRET not in repr(endpoint("https://shop.example/hooks"))


async def test_publish_before_start_and_after_close_is_refused(
    receiver: Receiver, directory: Path
) -> None:
    dispatcher = Dispatcher(directory, [endpoint(receiver.url)], policy=FAST)
    with pytest.raises(DispatcherStateError):
        await dispatcher.publish(EventType.CALL_QUEUED, "call-1", {})
    await dispatcher.start()
    await dispatcher.close()
    await dispatcher.close()
    with pytest.raises(DispatcherStateError):
        await dispatcher.publish(EventType.CALL_QUEUED, "call-1", {})
    with pytest.raises(DispatcherStateError, match="started once"):
        await dispatcher.start()
