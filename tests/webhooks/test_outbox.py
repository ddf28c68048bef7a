"""The outbox on disk: durable before add() returns, bounded, compacted, read back whole.

Guards:
- add() returns only once the event's line is in the journal; the writing happens in
  the writer thread (a write stuck in the kernel leaves the event loop running) and a
  failed write is an error in words;
- a full outbox refuses the next event with a clear error; through the dispatcher the
  other endpoints still get it and the admin sees how many were refused;
- done lines are compacted away once they dominate: the file shrinks, and reopening
  it gives the same pending and failed events, attempts, errors and delivered count;
- a retried event is pending again after a reopen.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import uuid
from pathlib import Path

import pytest

from tests.webhooks.conftest import OpenDispatcher, endpoint, free_port, wait_until
from tests.webhooks.receiver import Receiver
from webhooks import EventType, JournalError, OutboxFullError, WebhookEvent
from webhooks.outbox import Outbox


def event(call_id: str = "call-1", seq: int = 1, **data: object) -> WebhookEvent:
    return WebhookEvent(uuid.uuid4().hex, EventType.CALL_QUEUED, call_id, seq, 1767000000.0, data)


def journal_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_add_returns_once_the_event_is_in_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "shop.outbox.jsonl"
    outbox = await Outbox.open(path)
    stored = event(customer="করিম")
    await outbox.add(stored)
    assert journal_lines(path) == [{"op": "add", "event": stored.to_record()}]
    assert outbox.head("call-1") is not None
    await outbox.close()


async def test_a_write_stuck_in_the_kernel_leaves_the_event_loop_running(tmp_path: Path) -> None:
    path = tmp_path / "shop.outbox.jsonl"
    outbox = await Outbox.open(path)
    # Opening a pipe for writing blocks until somebody reads it: a disk that hangs.
    os.mkfifo(path)
    reader: list[int] = []
    unblock = threading.Timer(0.5, lambda: reader.append(os.open(path, os.O_RDONLY)))
    unblock.start()
    try:
        adding = asyncio.ensure_future(outbox.add(event()))
        ticks = 0
        for _ in range(10):
            await asyncio.sleep(0.02)
            ticks += 1
        assert not reader, "the loop was not free while the write was stuck"
        assert (ticks, adding.done()) == (10, False)
        # A pipe cannot be fsync'd: the add fails, in words, and the event is not kept.
        with pytest.raises(JournalError, match=r"could not write .*: invalid argument"):
            await adding
        assert outbox.pending_count == 0
    finally:
        unblock.join()
        for fd in reader:
            os.close(fd)
    await outbox.close()


async def test_a_full_outbox_refuses_the_next_event_in_words(tmp_path: Path) -> None:
    outbox = await Outbox.open(tmp_path / "shop.outbox.jsonl", max_kept=2)
    await outbox.add(event(seq=1))
    await outbox.add(event(seq=2))
    with pytest.raises(OutboxFullError, match="2 events are kept for this endpoint already"):
        await outbox.add(event(seq=3))
    assert outbox.pending_count == 2
    await outbox.close()


async def test_a_full_endpoint_does_not_stop_the_others_and_the_admin_sees_refusals(
    receiver: Receiver, open_dispatcher: OpenDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    down = f"http://127.0.0.1:{free_port()}/hooks"
    dispatcher = await open_dispatcher(
        endpoint(down, "analytics"), endpoint(receiver.url, "crm"), max_kept=2
    )
    for n in range(4):
        await dispatcher.publish(EventType.CALL_ABANDONED, f"call-{n}", {"wait_s": 30.0})
        # The crm takes each before the next (it too keeps two at most).
        await wait_until(lambda: dispatcher.status()[1].pending == 0)

    assert len(await receiver.wait_for(4)) == 4
    analytics, crm = dispatcher.status()
    assert (analytics.pending, analytics.refused) == (2, 2)
    assert crm.refused == 0
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert dropped == [
        "Webhooks(analytics) events are dropped: 2 events are kept for this endpoint already "
        "(its receiver has not taken them): this one was not stored"
    ]


async def test_done_lines_are_compacted_and_the_outbox_reads_back_the_same(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="webhooks")
    path = tmp_path / "shop.outbox.jsonl"
    outbox = await Outbox.open(path, compact_after=10)
    events = [event(f"call-{n % 4}", seq=n // 4 + 1) for n in range(40)]
    for stored in events:
        await outbox.add(stored)
    for stored in events[:30]:
        pending = outbox.head(stored.call_id)
        assert pending is not None and pending.event is stored
        await outbox.mark_delivered(pending, at=1767000100.0)
    given_up = outbox.head(events[30].call_id)
    assert given_up is not None
    given_up.attempts = 12
    await outbox.mark_failed(given_up, "the receiver answered 500", at=1767000200.0)
    await outbox.close()

    assert "rewriting without its" in caplog.text
    assert len(journal_lines(path)) < 40 + 31
    reopened = await Outbox.open(path, compact_after=10)
    assert reopened.pending_count == 9
    assert reopened.delivered == 30
    assert reopened.last_delivered_at == 1767000100.0
    (failed,) = reopened.failed()
    assert (failed.event, failed.attempts, failed.error) == (
        events[30],
        12,
        "the receiver answered 500",
    )
    for call_id in reopened.calls():
        head = reopened.head(call_id)
        assert head is not None
        assert head.event == min(
            (e for e in events[31:] if e.call_id == call_id), key=lambda e: e.seq
        )
    await reopened.close()


async def test_a_retried_event_is_pending_again_after_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "shop.outbox.jsonl"
    outbox = await Outbox.open(path)
    stored = event()
    await outbox.add(stored)
    pending = outbox.head("call-1")
    assert pending is not None
    await outbox.mark_failed(pending, "no answer within 10 s", at=1767000000.0)
    assert outbox.failed_count == 1
    _, written = outbox.retry(stored.id)
    await written
    await outbox.close()

    reopened = await Outbox.open(path)
    assert (reopened.pending_count, reopened.failed_count) == (1, 0)
    await reopened.close()


async def test_lines_that_are_not_records_are_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "shop.outbox.jsonl"
    stored = event()
    path.write_text(
        "not json\n[1, 2]\n"
        + json.dumps({"op": "add", "event": stored.to_record()})
        + "\n"
        + json.dumps({"op": "add", "event": {"id": "x"}})
        + "\n"
    )
    outbox = await Outbox.open(path)
    assert outbox.pending_count == 1
    assert "2 lines are not JSON records: skipped" in caplog.text
    assert "1 records could not be used: skipped" in caplog.text
    await outbox.close()
