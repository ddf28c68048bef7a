"""One call's media on this node: its room, and what is wired into it.

From the first agent's accept to the call's end, a call's media lives on the node that
accepted it (the registry will record which: ``CallValue.media_node``). ``CallMedia`` owns
the room and wires the recording, quality sampling and live transcription into it when it
opens, and unwires them, in order, when it closes: the switchboard no longer does that by
hand in two places. A call that goes back to the queue (its agent was lost) keeps its media;
the next agent joins the same room.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from callcenter.values import CallValue
from media.room import Room
from media.router import Router
from recording.recorder import Segment

from .live_categories import LiveCategories
from .quality_monitor import QualityMonitor
from .recordings import CallRecordings
from .talk_monitor import TalkMonitor
from .tasks import TaskSet
from .transcription import Transcription


class CallMedia:
    """The room of one call and its recorder, quality watcher and transcript."""

    def __init__(
        self,
        call: CallValue,
        room: Room,
        *,
        known: Callable[[str], CallValue | None],
        recordings: CallRecordings,
        quality: QualityMonitor,
        transcription: Transcription,
        talk: TalkMonitor,
        categories: LiveCategories,
        tasks: TaskSet,
        segment: Segment | None = None,
    ) -> None:
        self.call_id = call.call_id
        self.room = room
        self._recordings = recordings
        self._quality = quality
        self._transcription = transcription
        self._talk = talk
        self._categories = categories
        self._tasks = tasks
        self.recording_state = "off"
        """What the recorder said when it started (the call's ``recording_state``)."""
        # A call held when its media moved here (its node died) stays on hold; nobody has
        # joined yet, so the gates are applied as each party joins.
        room.held = call.held_since is not None
        if isinstance(room.plane, Router):
            self.recording_state = recordings.start(call, room.plane, known, segment)
        quality.watch(call, room, known)
        transcription.start(call, room, known)
        talk.start(call, room, known)
        categories.start(call.call_id)

    async def participant_left(self, participant_id: str) -> None:
        """A party left a call that goes on: their media and their quality figures go."""
        await self.room.leave(participant_id)
        self._quality.participant_left(self.call_id, participant_id)
        await self._talk.participant_left(self.call_id, participant_id)

    def stop_sampling(self) -> dict[str, Any] | None:
        """Quality sampling stops; returns the call's quality summary (before anyone leaves)."""
        summary: dict[str, Any] | None = self._quality.unwatch(self.call_id)
        return summary

    async def close(self, reason: str, ended_by: str | None) -> bool:
        """The call ended: its last words are recognised and its last talk measured (in a
        task of the switchboard's), the recording is finished once they are on its timeline,
        and the room closes. Returns whether the call was being recorded."""
        transcribed = self._tasks.spawn(self._last_words(), f"transcription:{self.call_id}")
        recorded = self._recordings.finish(
            self.call_id, reason, ended_by=ended_by, after=transcribed
        )
        await self.room.close()
        return recorded

    async def _last_words(self) -> None:
        await asyncio.gather(
            self._transcription.stop(self.call_id, self.room),
            self._talk.stop(self.call_id, self.room),
        )
        # Last, with every word and spurt in: what only the end of the call can tell.
        self._categories.finish(self.call_id)

    async def hand_over(self, to_node: str) -> None:
        """This node stops and the call goes on at ``to_node``: what was said is recognised,
        this segment of the recording is closed, and the room closes."""
        self._quality.unwatch(self.call_id)
        await self._transcription.stop(self.call_id, self.room)
        await self._talk.stop(self.call_id, self.room)
        await self._recordings.hand_over(self.call_id, to_node)
        await self.room.close()
