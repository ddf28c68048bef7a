"""Every live call's talk: who is talking when, measured from each party's own audio.

Each speaking participant's microphone gets a :class:`TalkStream` (decoded and
measured in one worker thread of the node's: a frame costs tens of
microseconds, so one thread carries every call), whether or not the call has a
speech model. Each talk spurt that closes goes on the recording's timeline
(``talk_spurt``), where the finished recording's conversation characteristics
are made from (``recording/finalize.py``), and to this node's listeners.
While the recording is paused nothing is measured, as nothing is transcribed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from callcenter.in_call import speaker_of
from callcenter.values import CallValue
from conversation.talk_stream import TalkStream
from conversation.voice import MERGE_GAP_MS, TalkSpurt
from media.room import Room
from media.router import Router
from media.source import EncodedFrame, SourceKey, SourceKind
from recording.timeline import EntryType

from .recordings import CallRecordings

logger = logging.getLogger(__name__)

TICK_S = 0.1  # how often streams gone quiet (muted, hung up) close their open spurt
QUIET_S = MERGE_GAP_MS / 1000

# Told every spurt of every call as it closes (on the loop): call id, role, spurt.
TalkListener = Callable[[str, str, TalkSpurt], None]


@dataclass(slots=True)
class CallTalk:
    """One call's talk streams and the spurts they closed so far."""

    call_id: str
    known: Callable[[], CallValue | None]
    call_start: float
    streams: dict[str, TalkStream] = field(default_factory=dict)
    spurts: list[tuple[str, TalkSpurt]] = field(default_factory=list)  # (role, spurt)
    paused: bool = False
    tap: Callable[[SourceKey, EncodedFrame], None] | None = None


class TalkMonitor:
    """Measures the talk of every live call on this node."""

    def __init__(self, recordings: CallRecordings, *, enabled: bool = True) -> None:
        self._recordings = recordings
        self._enabled = enabled
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="talk")
        self._calls: dict[str, CallTalk] = {}
        self._closing: dict[TalkStream, asyncio.Future[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.listeners: list[TalkListener] = []
        self._ended_cpu_s = 0.0  # the worker's CPU time on the streams that ended

    @property
    def cpu_s(self) -> float:
        """CPU seconds the talk worker spent measuring, every stream so far (/metrics)."""
        live = sum(s.cpu_s for talk in self._calls.values() for s in talk.streams.values())
        return self._ended_cpu_s + live

    def talking_roles(self, call_id: str) -> frozenset[str]:
        """Who is talking in ``call_id`` now (their spurt is open)."""
        talk = self._calls.get(call_id)
        if talk is None:
            return frozenset()
        return frozenset(s.role for s in talk.streams.values() if s.talking)

    def talk(self, call_id: str) -> CallTalk | None:
        return self._calls.get(call_id)

    def start(self, call: CallValue, room: Room, known: Callable[[str], CallValue | None]) -> None:
        """Measure ``call``'s talk from now on (on the recording's clock when recorded)."""
        if not self._enabled or not isinstance(room.plane, Router):
            return
        self._loop = asyncio.get_running_loop()
        call_id = call.call_id
        recorder = self._recordings.recorder(call_id)
        talk = CallTalk(
            call_id,
            known=lambda: known(call_id),
            call_start=recorder.started_perf if recorder else time.perf_counter(),
        )
        talk.tap = functools.partial(self._on_frame, talk)
        room.plane.add_tap(talk.tap)
        self._calls[call_id] = talk

    def pause(self, call_id: str, paused: bool) -> None:
        """While the recording is paused nothing is measured; what was being said closes."""
        talk = self._calls.get(call_id)
        if talk is None:
            return
        talk.paused = paused
        if paused:
            for stream in talk.streams.values():
                self._run(talk, stream, stream.flush)

    async def participant_left(self, call_id: str, participant_id: str) -> None:
        """A party left a call that goes on: their last spurt closes."""
        talk = self._calls.get(call_id)
        stream = talk.streams.pop(participant_id, None) if talk else None
        if talk is not None and stream is not None:
            await self._finish(talk, stream)

    async def stop(self, call_id: str, room: Room | None = None) -> None:
        """The call ended (or its media moved away): every open spurt closes and is kept."""
        talk = self._calls.pop(call_id, None)
        if talk is None:
            return
        if room is not None and talk.tap is not None and isinstance(room.plane, Router):
            room.plane.remove_tap(talk.tap)
        await asyncio.gather(*(self._finish(talk, s) for s in list(talk.streams.values())))

    async def run(self) -> None:
        """Close the open spurt of streams gone quiet, a few times a second."""
        while True:
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            for talk in list(self._calls.values()):
                for stream in talk.streams.values():
                    if (
                        not stream.busy
                        and stream.talking
                        and stream.last_arrival is not None
                        and now - stream.last_arrival > QUIET_S
                    ):
                        self._run(talk, stream, stream.flush)

    async def close(self) -> None:
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

    # -- internals -------------------------------------------------------

    def _on_frame(self, talk: CallTalk, key: SourceKey, frame: EncodedFrame) -> None:
        """The tap: on the packet path, so it only queues."""
        if key.source is not SourceKind.MICROPHONE or talk.paused:
            return
        stream = talk.streams.get(key.participant_id)
        if stream is None:
            speaker = speaker_of(talk.known(), key.participant_id)
            if speaker is None:
                return
            stream = TalkStream(key.participant_id, speaker[0], call_start=talk.call_start)
            talk.streams[key.participant_id] = stream
        stream.inbox.append(frame)
        stream.last_arrival = frame.arrival
        if not stream.busy:
            self._run(talk, stream, stream.process)

    def _run(self, talk: CallTalk, stream: TalkStream, job: Callable[[], list[TalkSpurt]]) -> None:
        if stream.busy:
            return
        stream.busy = True
        assert self._loop is not None
        loop = self._loop

        def work() -> None:
            try:
                spurts, failed = job(), False
            except Exception:  # a frame that breaks the decoder stops this stream only
                logger.exception("talk of %s could not be measured", stream.participant_id)
                spurts, failed = [], True
            loop.call_soon_threadsafe(self._done, talk, stream, spurts, failed)

        self._executor.submit(work)

    def _done(
        self, talk: CallTalk, stream: TalkStream, spurts: list[TalkSpurt], failed: bool
    ) -> None:
        stream.busy = False
        for spurt in spurts:
            talk.spurts.append((stream.role, spurt))
            self._recordings.event(
                talk.call_id,
                EntryType.TALK_SPURT,
                participant_id=stream.participant_id,
                role=stream.role,
                **spurt.to_wire(),
            )
            for listener in self.listeners:
                listener(talk.call_id, stream.role, spurt)
        if failed:
            stream.inbox.clear()
        closing = self._closing.get(stream)
        if stream.inbox:
            self._run(talk, stream, stream.process)
        elif closing is not None:
            if stream.talking and not failed:
                self._run(talk, stream, stream.flush)
                return
            del self._closing[stream]
            self._ended_cpu_s += stream.cpu_s
            closing.set_result(None)

    async def _finish(self, talk: CallTalk, stream: TalkStream) -> None:
        """Measure what is queued, close the open spurt, and let the stream go."""
        if stream in self._closing:
            await self._closing[stream]
            return
        done = asyncio.get_running_loop().create_future()
        self._closing[stream] = done
        if not stream.busy:
            self._done(talk, stream, [], False)
        await done
