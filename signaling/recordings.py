"""The recorder of each live call: started when an agent takes the call, finished when it ends.

Finishing (closing files, the combined file, meta.json) runs in a thread and
is awaited on shutdown, so a clean stop never leaves a recording unfinished.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from media.router import Router
from media.source import SourceKey
from recording.finalize import recover_unfinished
from recording.layout import folder_for
from recording.recorder import Recorder, RecordingState

from .calls import Call
from .errors import CallStateError
from .logs import call_context

logger = logging.getLogger(__name__)


class CallRecordings:
    """All recorders of this node, by call id."""

    def __init__(self, root: Path, *, enabled: bool) -> None:
        self.root = root
        self.enabled = enabled
        self._recorders: dict[str, Recorder] = {}
        self._finishing: set[asyncio.Task[Any]] = set()
        self._created = time.time()

    def start(self, call: Call, router: Router) -> None:
        """Record ``call`` from now on (the agent has just taken it)."""
        if not self.enabled:
            return
        recorder = Recorder(
            call.call_id,
            folder_for(self.root, call.call_id, call.answered_at or call.created_at),
            describe=lambda pid: _describe(call, pid),
            request_keyframe=lambda key: _request_keyframe(router, key),
        )
        recorder.start(
            {
                "language": call.language,
                "media": call.media,
                "created_at": call.created_at,
                "queued_at": call.queued_at,
                "answered_at": call.answered_at,
                "metadata": call.metadata,
                "customer": {"subject": call.customer.subject, "name": call.customer.name},
                "agent": (
                    {"subject": call.agent.subject, "name": call.agent.name} if call.agent else None
                ),
            }
        )
        router.add_tap(recorder.on_frame)
        self._recorders[call.call_id] = recorder
        call.recording_state = recorder.state.value

    def recorder(self, call_id: str) -> Recorder | None:
        return self._recorders.get(call_id)

    def event(self, call_id: str, event_type: str, /, **fields: Any) -> None:
        recorder = self._recorders.get(call_id)
        if recorder is not None:
            recorder.event(event_type, **fields)

    def pause(self, call: Call, by: str) -> None:
        recorder = self._recorder(call)
        if recorder.state is RecordingState.PAUSED:
            raise CallStateError("recording is already paused")
        recorder.pause(by)
        call.recording_state = recorder.state.value

    def resume(self, call: Call, by: str) -> None:
        recorder = self._recorder(call)
        if recorder.state is RecordingState.RECORDING:
            raise CallStateError("recording is not paused")
        recorder.resume(by)
        call.recording_state = recorder.state.value

    def finish(self, call: Call, reason: str) -> None:
        """Stop recording ``call`` and finish its folder in the background."""
        recorder = self._recorders.pop(call.call_id, None)
        if recorder is None:
            return
        recorder.event("call_ended", reason=reason, ended_by=call.ended_by)
        call.recording_state = RecordingState.STOPPED.value
        with call_context(call.call_id):
            task = asyncio.get_running_loop().create_task(
                self._finish(recorder), name=f"Recording({call.call_id})::finish"
            )
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    async def recover(self) -> list[dict[str, Any]]:
        """Finish the recordings an earlier process left unfinished (it crashed or was killed)."""
        if not self.root.exists():
            return []
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, lambda: recover_unfinished(self.root, started_before=self._created)
        )

    async def close(self) -> None:
        """Wait for every recording being finished (shutdown must not cut one short)."""
        if self._finishing:
            await asyncio.gather(*self._finishing, return_exceptions=True)

    def _recorder(self, call: Call) -> Recorder:
        recorder = self._recorders.get(call.call_id)
        if recorder is None:
            raise CallStateError("this call is not being recorded")
        return recorder

    async def _finish(self, recorder: Recorder) -> dict[str, Any]:
        try:
            meta = await recorder.stop()
        except Exception:
            logger.exception("Recording(%s) could not be finished", recorder.call_id)
            raise
        logger.info(
            "Recording(%s) finished: %d streams, %d ms",
            recorder.call_id,
            len(meta["streams"]),
            meta["duration_ms"],
        )
        return meta


def _describe(call: Call, participant_id: str) -> dict[str, str]:
    participant = call.participant(participant_id)
    if participant is None:
        return {"role": "participant"}
    return {"role": participant.role.value, "name": participant.name}


def _request_keyframe(router: Router, key: SourceKey) -> None:
    router.request_keyframe(key)
