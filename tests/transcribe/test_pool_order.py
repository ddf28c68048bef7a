"""The pool takes the job that makes an utterance final before jobs queued ahead of it.

Guards: with every worker busy, a stream whose queued audio will close what its
speaker was saying (``SpeakerStream.closing``) is served before streams queued
earlier that are still mid-speech, whose next job only owes a partial; otherwise
jobs are taken in the order they were queued. (How much sooner finals arrive is a
speed figure, measured by ``kotha bench transcribe``, not here.)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from media.source import EncodedFrame
from transcribe.keywords import KeywordSpotter
from transcribe.pool import TranscriptionPool
from transcribe.speaker import Result, SpeakerStream
from transcribe.utterance import Speaker


class RecordingStream(SpeakerStream):
    """A stream whose jobs only note that they ran (and the first may hold its worker)."""

    def __init__(
        self,
        name: str,
        ran: list[str],
        after: Callable[[], object],
        *,
        hold: threading.Event | None = None,
    ):
        super().__init__(
            Speaker(name, "customer"), "ko", object(), call_start=0.0, spotter=KeywordSpotter()
        )
        self.name, self.ran, self.after, self.hold = name, ran, after, hold
        self.ends_utterance = False

    @property
    def closing(self) -> bool:
        return self.ends_utterance

    def process(self) -> list[Result]:
        if self.hold is not None:
            self.hold.wait(10)
        self.inbox.clear()
        self.ran.append(self.name)
        self.after()
        return []


async def run_in_order(closing: set[str]) -> list[str]:
    """One worker held by ``busy`` while ``a``, ``b`` and ``c`` queue a frame each, in turn."""
    pool = TranscriptionPool(workers=1)
    ran: list[str] = []
    hold = threading.Event()
    loop, all_ran = asyncio.get_running_loop(), asyncio.Event()

    def after() -> None:  # in the worker
        if len(ran) == 4:
            loop.call_soon_threadsafe(all_ran.set)

    busy = RecordingStream("busy", ran, after, hold=hold)
    streams = [busy, *(RecordingStream(name, ran, after) for name in "abc")]

    def on_stopped(_: SpeakerStream, reason: str) -> None:
        raise AssertionError(reason)

    def ignore(_: SpeakerStream, __: Any) -> None:
        pass

    try:
        for stream in streams:
            pool.add(stream, ignore, on_stopped)
        for stream in streams:
            stream.ends_utterance = stream.name in closing
            pool.offer(stream, EncodedFrame.now(b"\x00", 0, True, 0))
        hold.set()
        await asyncio.wait_for(all_ran.wait(), 10)
    finally:
        await asyncio.to_thread(pool.close)
    return ran


async def test_a_stream_ending_its_utterance_is_served_before_streams_mid_speech() -> None:
    assert await run_in_order({"c"}) == ["busy", "c", "a", "b"]


async def test_jobs_are_otherwise_taken_in_the_order_they_were_queued() -> None:
    assert await run_in_order(set()) == ["busy", "a", "b", "c"]
    assert await run_in_order({"b", "c"}) == ["busy", "b", "c", "a"]
