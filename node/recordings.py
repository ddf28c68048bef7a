"""The recorder of each live call: started when an agent takes the call, finished when it ends.

Finishing (closing files, the combined file, meta.json) runs in a thread and
is awaited on shutdown, so a clean stop never leaves a recording unfinished.
An ended call's recorder still takes its last events (the words said as the
call was hung up) until it is finished and indexed; then it is let go.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Container
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from callcenter.errors import CallStateError
from callcenter.in_call import speaker_of
from callcenter.values import CallValue
from categories import Rules
from media.router import Router
from media.source import SourceKey
from recording.finalize import recover_unfinished
from recording.index import Query, RecordingIndex
from recording.layout import folder_for
from recording.recorder import Recorder, RecordingState, Segment, next_segment
from recording.timeline import EntryType
from recording.writer import DiskWriter

from .logs import call_context

logger = logging.getLogger(__name__)

FINISH_NICENESS = 10


class CallRecordings:
    """All recorders of this node, by call id."""

    def __init__(self, root: Path, *, enabled: bool, node_id: str = "") -> None:
        self.root = root
        self.enabled = enabled
        self.node_id = node_id
        self._recorders: dict[str, Recorder] = {}
        # Ended calls whose last events (the words said as they hung up) may still come,
        # until their recordings are finished.
        self._ending: dict[str, Recorder] = {}
        self._finishing: set[asyncio.Task[Any]] = set()
        self._opening: asyncio.Future[None] | None = None  # done once open() has ended
        self._created = time.time()
        # SQLite is used from one thread: the index gets a thread of its own.
        self._index_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording-index")
        self._index: RecordingIndex | None = None
        # Every recording's files are written by one thread (started with the first).
        self._disk = DiskWriter()
        # Finishing decodes and encodes the whole call (about 0.8 s of CPU per minute
        # of call): one at a time, at a lower priority, so that calls ending together
        # never take both cores from the calls still going on.
        # Told of every recording finished here, with its meta (on the loop); recovered
        # ones too (meta["recovered"]), so the contact and the shop hear of those as well.
        self.finished: list[Callable[[dict[str, Any]], None]] = []
        self._finisher = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="recording-finish", initializer=_lower_priority
        )

    async def open(
        self,
        elsewhere: Callable[[], Awaitable[set[str]]] | None = None,
        *,
        rules: Rules | None = None,
    ) -> None:
        """Open the index (rebuilding it from the folders if it is new), then recover
        (``elsewhere``: the other live nodes sharing this disk, whose recordings go on;
        ``rules``: the operator's categories, see ``recover``)."""
        opened = self._opening = asyncio.get_running_loop().create_future()
        try:
            path = self.root / "index.sqlite3"
            self._index = await self._in_index_thread(lambda: RecordingIndex(path))
            if self._index.needs_reindex:
                count = await self.in_index(lambda index: index.reindex(self.root))
                logger.info("recording index built from %d folders", count)
            await self.recover(await elsewhere() if elsewhere else set(), rules=rules)
        finally:
            opened.set_result(None)

    async def in_index(self, work: Callable[[RecordingIndex], Any]) -> Any:
        """Run ``work`` with the index, in the index's thread."""
        index = self._index
        if index is None:
            raise CallStateError("the recording index is not open yet")
        return await self._in_index_thread(lambda: work(index))

    async def search(self, query: Query) -> list[dict[str, Any]]:
        return await self.in_index(lambda index: index.search(query))

    async def _in_index_thread(self, work: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._index_thread, work)

    def folder_of(self, call: CallValue) -> Path:
        return folder_for(self.root, call.call_id, call.answered_at or call.created_at)

    async def next_segment(self, call: CallValue) -> Segment | None:
        """Where a recording of ``call`` starting here goes on from: a segment after the
        ones a node that is gone wrote (None: a new recording)."""
        if not self.enabled:
            return None
        folder = self.folder_of(call)
        return await asyncio.get_running_loop().run_in_executor(
            self._finisher, lambda: next_segment(folder)
        )

    def start(
        self,
        call: CallValue,
        router: Router,
        known: Callable[[str], CallValue | None],
        segment: Segment | None = None,
    ) -> str:
        """Record ``call`` from now on (the agent has just taken it; or, as ``segment``, its
        media moved here); returns the recording's state. ``known`` gives the node's latest
        view of a call (who speaks as whom)."""
        if not self.enabled:
            return "off"
        call_id = call.call_id
        recorder = Recorder(
            call_id,
            self.folder_of(call),
            disk=self._disk,
            describe=lambda pid: _describe(known(call_id), pid),
            request_keyframe=lambda key: _request_keyframe(router, key),
            segment=segment,
            node=self.node_id,
        )
        recorder.start(
            {
                "language": call.language,
                "media": call.media,
                "created_at": call.created_at,
                "queued_at": call.queued_at,
                "answered_at": call.answered_at,
                "metadata": dict(call.metadata),
                "customer": {"subject": call.customer.subject, "name": call.customer.name},
                "agent": (
                    {"subject": call.agent.subject, "name": call.agent.name} if call.agent else None
                ),
            }
        )
        router.add_tap(recorder.on_frame)
        self._recorders[call_id] = recorder
        return recorder.state.value

    def recorder(self, call_id: str) -> Recorder | None:
        return self._recorders.get(call_id)

    def event(self, call_id: str, event_type: str, /, **fields: Any) -> None:
        recorder = self._recorders.get(call_id) or self._ending.get(call_id)
        if recorder is not None:
            recorder.event(event_type, **fields)

    def set_paused(self, call_id: str, paused: bool, by: str) -> str:
        """Pause or resume the call's recording; returns its state now."""
        recorder = self._recorder(call_id)
        if paused and recorder.state is RecordingState.PAUSED:
            raise CallStateError("recording is already paused")
        if not paused and recorder.state is RecordingState.RECORDING:
            raise CallStateError("recording is not paused")
        if paused:
            recorder.pause(by)
        else:
            recorder.resume(by)
        return recorder.state.value

    def finish(
        self,
        call_id: str,
        reason: str,
        *,
        ended_by: str | None,
        after: Awaitable[Any] | None = None,
    ) -> bool:
        """Stop recording the call and finish its folder in the background (False: it was
        not being recorded).

        ``after``: what must still reach the timeline first (the last utterances).
        """
        recorder = self._recorders.pop(call_id, None)
        if recorder is None:
            return False
        recorder.event(EntryType.CALL_ENDED, reason=reason, ended_by=ended_by)
        self._ending[call_id] = recorder
        with call_context(call_id):
            task = asyncio.get_running_loop().create_task(
                self._finish(recorder, after), name=f"Recording({call_id})::finish"
            )
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        return True

    async def hand_over(self, call_id: str, to_node: str) -> None:
        """This node stops: the call's recording goes on at ``to_node`` (a new segment)."""
        recorder = self._recorders.pop(call_id, None)
        if recorder is not None:
            await recorder.hand_over(to_node)

    async def recover(
        self, elsewhere: Container[str] = (), *, rules: Rules | None = None
    ) -> list[tuple[Path, dict[str, Any]]]:
        """Finish the recordings an earlier process left unfinished (it crashed or was killed),
        but those that a node in ``elsewhere`` goes on recording.

        ``rules``: the operator's categories (None: none configured). A call cut off never
        had its end decided, so its timeline is evaluated again with them and what it meets
        is added to what was matched live.
        """
        if not self.root.exists():
            return []
        loop = asyncio.get_running_loop()
        recovered: list[tuple[Path, dict[str, Any]]] = await loop.run_in_executor(
            self._finisher,
            lambda: recover_unfinished(
                self.root,
                started_before=self._created,
                recording_elsewhere=elsewhere,
                rules=rules,
            ),
        )
        for folder, meta in recovered:
            await self._index_finished(folder, meta)
            self._tell_finished(meta)  # the contact's figures, the shop's recording.ready
        return recovered

    async def settle(self) -> None:
        """Wait until every recording that ended has been finished and indexed."""
        if self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)

    async def close(self) -> None:
        """Finish what is being finished (shutdown must not cut one short), close the index."""
        if self._opening is not None:
            # A node stopped as it started: opening (a reindex, recovered recordings
            # being indexed) ends first, or it would find its threads shut down.
            await self._opening
        await self.settle()
        await asyncio.wrap_future(self._disk.close())
        self._finisher.shutdown(wait=True)
        if self._index is not None:
            index, self._index = self._index, None
            await self._in_index_thread(index.close)
        self._index_thread.shutdown(wait=True)

    def _recorder(self, call_id: str) -> Recorder:
        recorder = self._recorders.get(call_id)
        if recorder is None:
            raise CallStateError("this call is not being recorded")
        return recorder

    async def _finish(self, recorder: Recorder, after: Awaitable[Any] | None) -> dict[str, Any]:
        try:
            return await self._finish_and_index(recorder, after)
        finally:
            # Finished (or failed for good): no late event can reach it any more, and
            # keeping it would keep its writer, stream files and router for ever.
            if self._ending.get(recorder.call_id) is recorder:
                del self._ending[recorder.call_id]

    async def _finish_and_index(
        self, recorder: Recorder, after: Awaitable[Any] | None
    ) -> dict[str, Any]:
        if after is not None:
            try:
                await after
            except Exception:  # the recording is finished whatever happened to the rest
                logger.exception(
                    "Recording(%s): finishing what came before failed", recorder.call_id
                )
        try:
            meta = await recorder.stop(self._finisher)
        except Exception:
            logger.exception("Recording(%s) could not be finished", recorder.call_id)
            raise
        logger.info(
            "Recording(%s) finished: %d streams, %d ms",
            recorder.call_id,
            len(meta["streams"]),
            meta["duration_ms"],
        )
        await self._index_finished(recorder.folder, meta)
        self._tell_finished(meta)
        return meta

    def _tell_finished(self, meta: dict[str, Any]) -> None:
        for listener in self.finished:
            try:
                listener(meta)
            except Exception:  # a listener's bug must not undo a finished recording
                logger.exception("Recording(%s): a listener failed", meta.get("call_id"))

    async def _index_finished(self, folder: Path, meta: dict[str, Any]) -> None:
        if self._index is None:
            return  # indexed by the reindex when the index opens
        await self.in_index(lambda index: index.add(folder, meta))


def _lower_priority() -> None:
    """Run this thread at nice 10 (Linux gives each thread its own niceness)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), FINISH_NICENESS)
    except OSError:  # not permitted here: finish at normal priority
        logger.debug("could not lower the priority of the recording-finish thread")


def _describe(call: CallValue | None, participant_id: str) -> dict[str, str]:
    speaker = speaker_of(call, participant_id)
    if speaker is None:
        return {"role": "participant"}
    role, name = speaker
    return {"role": role, "name": name}


def _request_keyframe(router: Router, key: SourceKey) -> None:
    router.request_keyframe(key)
