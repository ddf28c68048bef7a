"""Nothing the server accepted is lost: a restart, a kill -9 and a torn journal line.

Guards:
- events published while the receiver is down are kept: the dispatcher is closed
  mid-retry, a new one opens on the same directory, the receiver comes up, and
  every event arrives, each call's in order;
- a process killed with SIGKILL while publishing loses none of the events whose
  ``publish()`` had returned (the journal is fsync'd before it returns), even with
  the endpoint's URL changed before the restart;
- a journal whose last line was cut off (the kill came mid-write) opens: the line is
  dropped with a warning, cut from the file, and the rest is delivered;
- a call's seq goes on counting after a restart, also once all its events were
  delivered; the delivered count is kept too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import pytest

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
from webhooks import Dispatcher, EventType

ROOT = Path(__file__).resolve().parents[2]


async def test_a_restart_mid_retry_loses_nothing(receiver: Receiver, directory: Path) -> None:
    await receiver.stop()  # the shop's backend is down
    first = Dispatcher(directory, [endpoint(receiver.url)], policy=FAST)
    await first.start()
    await asyncio.gather(a_call(first, "call-1"), a_call(first, "call-2"))
    await wait_until(lambda: first.status()[0].last_error is not None)
    assert first.status()[0].pending == 6
    await first.close()

    second = Dispatcher(directory, [endpoint(receiver.url)], policy=FAST)
    await second.start()
    try:
        assert second.status()[0].pending == 6
        await receiver.start()  # back up, on the same port
        kept = await receiver.wait_for(6)
        assert len(kept) == 6
        assert receiver.of_call("call-1") == [1, 2, 3]
        assert receiver.of_call("call-2") == [1, 2, 3]
        assert receiver.rejected == []
    finally:
        await second.close()


async def test_a_calls_seq_goes_on_after_a_restart(
    receiver: Receiver, directory: Path, open_dispatcher: OpenDispatcher
) -> None:
    first = await open_dispatcher(endpoint(receiver.url))
    await a_call(first, "call-1")
    await receiver.wait_for(3)
    await wait_until(lambda: first.status()[0].delivered == 3)
    await first.close()

    second = await open_dispatcher(endpoint(receiver.url))
    ready = await second.publish(
        EventType.RECORDING_READY, "call-1", {"recording_id": "rec-1", "duration_s": 287.5}
    )
    assert ready.seq == 4
    await receiver.wait_for(4)
    assert receiver.of_call("call-1") == [1, 2, 3, 4]
    await wait_until(lambda: second.status()[0].delivered == 4)


async def test_a_torn_last_line_is_dropped_and_the_rest_delivered(
    receiver: Receiver, directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await receiver.stop()
    first = Dispatcher(directory, [endpoint(receiver.url)], policy=FAST)
    await first.start()
    await a_call(first, "call-1")
    await first.close()
    journal = directory / "shop.outbox.jsonl"
    whole = journal.read_bytes()
    with journal.open("ab") as handle:  # the kill came while this line was written
        handle.write(b'{"op":"add","event":{"id":"4c1e0b5d","type":"call.ended","call_id":"ca')

    second = Dispatcher(directory, [endpoint(receiver.url)], policy=FAST)
    await second.start()
    try:
        assert "its last line was cut off" in caplog.text
        assert journal.read_bytes() == whole  # cut back: the next line starts clean
        await receiver.start()
        await receiver.wait_for(3)
        assert receiver.of_call("call-1") == [1, 2, 3]
    finally:
        await second.close()


PUBLISHER = """
import asyncio, sys
from pathlib import Path
from webhooks import Dispatcher, Endpoint, EventType, RetryPolicy

async def publish(dispatcher, worker):
    n = 0
    while True:
        n += 1
        call_id = f"call-{worker}-{n % 5}"
        event = await dispatcher.publish(EventType.CALL_QUEUED, call_id, {"n": n})
        print(event.id, event.call_id, event.seq, flush=True)

async def main():
    directory, url, secret = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    endpoint = Endpoint("shop", url, secret)
    dispatcher = Dispatcher(directory, [endpoint], policy=RetryPolicy(base_s=0.05, cap_s=0.2))
    await dispatcher.start()
    await asyncio.gather(*(publish(dispatcher, worker) for worker in range(4)))

asyncio.run(main())
"""


async def test_events_accepted_before_a_kill_9_are_all_delivered_after_it(
    receiver: Receiver, directory: Path
) -> None:
    # The killed server's endpoint is down; after the restart it has a new URL.
    down = f"http://127.0.0.1:{free_port()}/hooks"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PUBLISHER,
        str(directory),
        down,
        SECRET,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    accepted: list[tuple[str, str, int]] = []
    try:
        async with asyncio.timeout(20):
            while len(accepted) < 200:
                line = await process.stdout.readline()
                assert line, "the publisher stopped by itself"
                event_id, call_id, seq = line.decode().split()
                accepted.append((event_id, call_id, int(seq)))
    finally:
        process.kill()  # SIGKILL: no close(), no flush, mid-write perhaps
        rest = await process.stdout.read()
        await process.wait()
    for text in rest.decode().splitlines():
        if len(text.split()) == 3:  # the last one may be cut off
            event_id, call_id, seq = text.split()
            accepted.append((event_id, call_id, int(seq)))

    restarted = Dispatcher(directory, [endpoint(receiver.url)], policy=FAST)
    await restarted.start()
    try:
        await wait_until(
            lambda: {r.id for r in receiver.deduplicated()} >= {a[0] for a in accepted}
        )
        for call_id in {a[1] for a in accepted}:
            seqs = receiver.of_call(call_id)
            assert seqs == sorted(seqs)
            assert seqs[-1] >= max(a[2] for a in accepted if a[1] == call_id)
        # Numbering goes on past everything the killed process gave out.
        call_id = accepted[-1][1]
        later = await restarted.publish(EventType.CALL_ANSWERED, call_id, {})
        assert later.seq > max(a[2] for a in accepted if a[1] == call_id)
    finally:
        await restarted.close()


async def test_reopening_logs_what_waits(
    receiver: Receiver, directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webhooks")
    await receiver.stop()
    first = Dispatcher(directory, [endpoint(receiver.url)], policy=FAST)
    await first.start()
    await a_call(first, "call-1")
    await first.close()

    second = Dispatcher(directory, [endpoint(receiver.url)], policy=FAST)
    await second.start()
    await second.close()
    assert f"Webhooks(shop) 3 events to send to {receiver.url}" in caplog.text
