"""What a party does in a call besides its media: the agent tags it, pauses its
recording and puts the customer on hold, a page reports what its own media looks like,
and either party hangs up."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from callcenter import in_call
from callcenter.errors import CallStateError
from callcenter.identity import Identity, Role
from callcenter.states import CallState, EndReason
from node.events import ServerEvent
from node.logs import call_context
from node.notifier import Payload
from recording.timeline import EntryType

from .audit import AuditRecord
from .payloads import call_payload, hold_payload

if TYPE_CHECKING:
    from .switchboard import Switchboard


class CallControls:
    """The in-call verbs that are not media."""

    def __init__(self, board: Switchboard) -> None:
        self._board = board

    async def tag(self, identity: Identity, call_id: str, tags: list[str]) -> list[str]:
        """The agent tags the call; the tags go with its recording (customers never see them)."""
        identity.require(Role.AGENT)
        board = self._board
        call, participant = board.participant_of(identity, call_id)
        if call.state is not CallState.ACTIVE:
            raise CallStateError(f"the call is {call.state.value}; tag it while it is live")
        tagged = await board.change_call(in_call.tag(call_id, tags))
        board.recordings.event(
            call_id, EntryType.CALL_TAGGED, tags=tags, by=participant.participant_id
        )
        return list(tagged.tags)

    async def set_recording(
        self, identity: Identity, call_id: str, *, paused: bool, source: str | None = None
    ) -> Payload:
        """Pause or resume the call's recording (the agent, while a card number is read out)."""
        identity.require(Role.AGENT)
        board = self._board
        call, participant = board.participant_of(identity, call_id)
        if call.state is not CallState.ACTIVE:
            raise CallStateError(
                f"the call is {call.state.value}; only a live call's recording pauses"
            )
        wanted = "paused" if paused else "recording"
        if call.recording_state == wanted or call.recording_state not in ("recording", "paused"):
            raise CallStateError(f"recording is {call.recording_state}; cannot make it {wanted}")
        await board.audit.record(
            AuditRecord(
                actor=identity.subject,
                role=identity.role.value,
                action="pause_recording" if paused else "resume_recording",
                call_id=call_id,
                source=source,
                name=identity.name,
            )
        )
        with call_context(call_id):
            state = board.recordings.set_paused(call_id, paused, by=participant.participant_id)
            board.transcription.pause(call_id, paused)
            board.talk.pause(call_id, paused)
            board.categories.pause(call_id, paused)
            call = await board.recording_is(call_id, state) or call
        await board.notifier.to_call(
            call_id, ServerEvent.CALL_UPDATED, {"call": call_payload(call)}
        )
        return {"recording": call.recording_state}

    async def set_hold(self, identity: Identity, call_id: str, *, held: bool) -> Payload:
        """The agent puts the customer on hold (neither hears nor sees the other; supervisors
        still do, and the recording goes on) or takes them off it."""
        identity.require(Role.AGENT)
        board = self._board
        call, participant = board.participant_of(identity, call_id)
        if call.state is not CallState.ACTIVE:
            raise CallStateError(f"the call is {call.state.value}; only a live call is held")
        with call_context(call_id):
            call = await board.change_call(in_call.hold(call_id, held, time.time()))
            await self.apply_hold(call_id, held, by=participant.participant_id)
        await board.notifier.to_call(
            call_id, ServerEvent.CALL_UPDATED, {"call": call_payload(call)}
        )
        board.floor.changed()
        return {"hold": hold_payload(call)}

    async def apply_hold(self, call_id: str, held: bool, *, by: str) -> None:
        """What a hold (or its end) does on the node with the call's media: the room's
        gates, the recording's timeline, the live categories."""
        board = self._board
        room = board.room_of(call_id)
        if room is not None:
            await room.set_hold(held)
        entry = EntryType.HOLD_STARTED if held else EntryType.HOLD_ENDED
        board.recordings.event(call_id, entry, by=by)
        board.categories.hold(call_id, held)

    async def report_quality(
        self, identity: Identity, call_id: str, report: dict[str, Any]
    ) -> None:
        """A page's own view of its media; shown beside the server's figures."""
        board = self._board
        call, participant = board.participant_of(identity, call_id)
        if board.room_of(call.call_id) is None:
            raise CallStateError("quality reports are for calls in progress")
        board.quality.report(call_id, participant.participant_id, participant.role, report)

    async def hang_up(self, identity: Identity, call_id: str) -> None:
        board = self._board
        call, participant = board.participant_of(identity, call_id)
        if call.state is not CallState.ENDED:
            await board.end_call(call_id, EndReason.HUNG_UP, by=participant.participant_id)
