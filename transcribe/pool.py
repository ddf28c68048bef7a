"""The node's transcription workers: a bounded pool of threads shared by every stream.

Vosk decodes in C and lets go of the GIL while it does, so threads use every
core without a model copy per process (a model is hundreds of megabytes).
Each stream's jobs run one at a time, in order; the event loop only queues
frames and hands out results. A machine has room for so many streams: past
``max_streams``, or while the pool runs ``behind_s`` behind live, a new
stream is refused with a reason the console shows, and a stream that falls
``give_up_s`` behind is stopped with a reason rather than losing audio
without anyone knowing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from media.source import EncodedFrame

from .errors import CapacityError
from .spares import SpareRecognizers
from .speaker import Result, SpeakerStream

logger = logging.getLogger(__name__)

# A stream quiet this long with words still open is flushed (muted, paused, hung up).
IDLE_FLUSH_S = 0.7

Job = Callable[[], list[Result]]
ReadyJob = tuple[SpeakerStream, Job, bool]  # the stream, its job, whether it closes for sure
OnResults = Callable[[SpeakerStream, list[Result]], None]
OnStopped = Callable[[SpeakerStream, str], None]


@dataclass(frozen=True, slots=True)
class PoolStats:
    streams: int
    workers: int
    max_streams: int
    lag_s: float  # the furthest behind live any stream is (queued plus being decoded)
    refused: int
    stopped: int
    audio_s: float  # audio recognised by every stream so far
    busy_s: float  # worker time spent on it


class TranscriptionPool:
    """Schedules every stream's decoding and recognition on ``workers`` threads."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        max_streams: int = 8,
        behind_s: float = 2.0,
        give_up_s: float = 20.0,
        warm_spares: int | None = None,
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        # Warm recognisers kept ready per model (one per worker unless told): a stream that
        # starts on one skips a new recogniser's first computation (~0.9 s of CPU).
        self.warm_spares = min(warm_spares or self.workers, max_streams or 1)
        self.max_streams = max_streams
        self.behind_s = behind_s
        self.give_up_s = give_up_s
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="transcribe")
        self._ready: deque[ReadyJob] = deque()  # queued jobs (taken from worker threads)
        self._ready_lock = threading.Lock()
        self.spares = SpareRecognizers(keep=max_streams)
        self._warm_models: dict[int, object] = {}
        self._warming: set[int] = set()
        self._streams: dict[SpeakerStream, tuple[OnResults, OnStopped]] = {}
        self._closing: dict[SpeakerStream, asyncio.Future[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.refused = 0
        self.stopped = 0
        self._ended_audio_s = 0.0
        self._ended_busy_s = 0.0

    def admit(self) -> None:
        """Raise CapacityError (with the reason to show) if no new stream fits now."""
        if len(self._streams) >= self.max_streams:
            self.refused += 1
            raise CapacityError(
                f"the server is already transcribing {len(self._streams)} streams, its limit"
            )
        lag = self.lag_s()
        if lag > self.behind_s:
            self.refused += 1
            raise CapacityError(f"transcription is running {lag:.1f} s behind live")

    def add(self, stream: SpeakerStream, on_results: OnResults, on_stopped: OnStopped) -> None:
        """Transcribe ``stream`` from now on (call :meth:`admit` first)."""
        self._loop = asyncio.get_running_loop()
        self._streams[stream] = (on_results, on_stopped)

    def offer(self, stream: SpeakerStream, frame: EncodedFrame) -> None:
        """The tap: queue a frame of ``stream`` (on the packet path: nothing else happens here)."""
        if stream not in self._streams:
            return
        stream.inbox.append(frame)
        stream.last_arrival = frame.arrival
        if not stream.busy:
            self._run(stream, stream.process)

    async def remove(self, stream: SpeakerStream) -> None:
        """Finish ``stream``: what is queued is recognised and what was being said is final."""
        if stream not in self._streams or stream in self._closing:
            return
        done = asyncio.get_running_loop().create_future()
        self._closing[stream] = done
        if not stream.busy:
            self._run(stream, self._last_job(stream))
        await done

    def tick(self, now: float | None = None) -> None:
        """Flush streams gone quiet mid-utterance; stop those hopelessly behind."""
        now = time.perf_counter() if now is None else now
        self._refill()
        for stream in list(self._streams):
            if stream in self._closing:
                continue
            backlog = stream.backlog_s(now)
            if backlog > self.give_up_s:
                self._stop(stream, f"transcription fell {backlog:.0f} s behind live and stopped")
            elif (
                not stream.busy
                and stream.speaking
                and stream.last_arrival is not None
                and now - stream.last_arrival > IDLE_FLUSH_S
            ):
                self._run(stream, stream.flush, closes=True)

    def lag_s(self, now: float | None = None) -> float:
        now = time.perf_counter() if now is None else now
        return max(
            (max(s.backlog_s(now), s.stats.lag_s if s.busy else 0.0) for s in self._streams),
            default=0.0,
        )

    def stats(self) -> PoolStats:
        live = list(self._streams)
        return PoolStats(
            streams=len(live),
            workers=self.workers,
            max_streams=self.max_streams,
            lag_s=self.lag_s(),
            refused=self.refused,
            stopped=self.stopped,
            audio_s=self._ended_audio_s + sum(s.stats.audio_ms for s in live) / 1000,
            busy_s=self._ended_busy_s + sum(s.stats.busy_s for s in live),
        )

    def warm(self, model: object) -> None:
        """Keep ``warm_spares`` warm recognisers for ``model`` from now on (made in the workers)."""
        self._warm_models[id(model)] = model
        self._refill()

    def _refill(self) -> None:
        # One spare at a time per model, so warming never takes more than one worker.
        for key, model in self._warm_models.items():
            if key in self._warming or self.spares.count(model) >= self.warm_spares:
                continue
            self._warming.add(key)
            future = self._executor.submit(self.spares.warm, model, 1)
            future.add_done_callback(functools.partial(self._warmed, key))

    def _warmed(self, key: int, _: object) -> None:
        self._warming.discard(key)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _last_job(self, stream: SpeakerStream) -> Job:
        def last() -> list[Result]:
            results: list[Result] = []
            while stream.inbox:
                results += stream.process()
            results += stream.flush()
            stream.release()  # here, not on the loop when the stream is dropped
            return results

        return last

    def _run(self, stream: SpeakerStream, job: Job, *, closes: bool = False) -> None:
        """Queue ``stream``'s next job; one that closes an utterance goes before the rest.

        The workers take the queued jobs in order, except that a job that will close
        an utterance (a flush, or a stream whose queued audio ends what is being said:
        ``SpeakerStream.closing``) is taken first: its words are final as soon as it is
        done, while the others, mid-speech, only owe a partial. Jobs are picked when a
        worker is free, not when queued, so a stream that reaches its end of speech
        while queued moves up too.
        """
        stream.busy = True
        assert self._loop is not None
        with self._ready_lock:
            self._ready.append((stream, job, closes))
        self._executor.submit(self._work, self._loop)

    def _work(self, loop: asyncio.AbstractEventLoop) -> None:
        """In a worker: run the most pressing queued job (each job queued one of these)."""
        with self._ready_lock:
            entry = self._next_job()
        if entry is None:
            return
        stream, job, _ = entry
        try:
            results = job()
            error = None
        except Exception as exc:  # a decoder or recogniser failure ends this stream only
            logger.exception("transcription of %s failed", stream.speaker.participant_id)
            results, error = [], exc
        loop.call_soon_threadsafe(self._done, stream, results, error)

    def _next_job(self) -> ReadyJob | None:
        for n, entry in enumerate(self._ready):
            stream, _, closes = entry
            if closes or stream.closing:
                del self._ready[n]
                return entry
        # None left: a stream stopped while its job was queued takes the job out.
        return self._ready.popleft() if self._ready else None

    def _done(self, stream: SpeakerStream, results: list[Result], error: Exception | None) -> None:
        stream.busy = False
        handlers = self._streams.get(stream)
        if handlers is None:
            return
        if results:
            handlers[0](stream, results)
        if error is not None:
            self._stop(stream, f"transcription failed ({error})")
            return
        closing = self._closing.get(stream)
        if closing is not None:
            if stream.inbox or stream.speaking or not stream.released:
                self._run(stream, self._last_job(stream))
                return
            self._forget(stream)
            closing.set_result(None)
        elif stream.inbox:
            self._run(stream, stream.process)

    def _stop(self, stream: SpeakerStream, reason: str) -> None:
        handlers = self._streams.get(stream)
        if handlers is None:
            return
        self.stopped += 1
        logger.warning("%s: %s", stream.speaker.participant_id, reason)
        self._forget(stream)
        stream.inbox.clear()
        with self._ready_lock:  # a queued job of it must not run after the release
            self._ready = deque(entry for entry in self._ready if entry[0] is not stream)
        # Not kept: it failed, or is far behind with its audio cut off.
        self._executor.submit(functools.partial(stream.release, keep=False))
        handlers[1](stream, reason)
        closing = self._closing.pop(stream, None)
        if closing is not None and not closing.done():
            closing.set_result(None)

    def _forget(self, stream: SpeakerStream) -> None:
        self._streams.pop(stream, None)
        self._closing.pop(stream, None)
        self._ended_audio_s += stream.stats.audio_ms / 1000
        self._ended_busy_s += stream.stats.busy_s
