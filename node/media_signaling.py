"""A party's media in a call: joining the room (a fresh peer each time), the SDP answer and
ICE candidates, screen sharing, muting, and the peer's state told to those who see it.

Only a call's media node has its room; these verbs run there.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from callcenter import in_call, lifecycle
from callcenter.errors import (
    CallStateError,
    ForbiddenError,
    MediaRequestError,
    NotFoundError,
    RateLimitedError,
)
from callcenter.identity import FLOOR_ROLES, Identity, Role
from callcenter.lifecycle import Refused
from callcenter.registry import RegistryError
from callcenter.states import CallState
from callcenter.values import CallValue
from media.errors import MediaError, PeerClosedError, UnknownParticipantError
from media.peer import Offer, PeerState
from media.room import Room
from media.source import SourceKind
from node.events import ServerEvent
from node.logs import call_context
from node.notifier import Payload
from recording.timeline import EntryType

from .ice import ice_servers_for
from .limits import RateLimiter
from .monitoring import Seat
from .payloads import call_payload, offer_payload

if TYPE_CHECKING:
    from .switchboard import Switchboard


class MediaSignaling:
    """The media verbs of the parties (and, for answers and candidates, of supervisors)."""

    def __init__(self, board: Switchboard) -> None:
        self._board = board
        per_min = board.config.joins_per_min
        self._joins = RateLimiter(per_min / 60, max(3.0, per_min / 4))

    def take_join(self, key: str) -> None:
        """A fresh peer costs ports, DTLS and ICE checks: a page failing in a loop is refused."""
        if not self._joins.take(key):
            wait = self._joins.retry_after_s(key)
            raise RateLimitedError(
                f"too many reconnects in a short time; try again in {max(1, round(wait))} s",
                retry_after_s=wait,
            )

    async def join(self, identity: Identity, call_id: str) -> Payload:
        """Start (or restart, with a fresh peer) the participant's media."""
        board = self._board
        if identity.role in FLOOR_ROLES:
            raise ForbiddenError(
                "a supervisor takes no part in calls; monitor_call listens without being seen"
            )
        call, participant = board.participant_of(identity, call_id)
        # A customer whose agent was lost keeps their media while the call waits again.
        room = board.room_of(call_id)
        if room is None:
            raise CallStateError(
                f"the call is {call.state.value}; media starts when an agent takes it"
            )
        pid = participant.participant_id
        self.take_join(pid)
        sources = [SourceKind.MICROPHONE]
        if call.media == "video":
            sources.append(SourceKind.CAMERA)
        with call_context(call_id):
            # The registry first: the peer's offer, which follows the join at once, must not
            # reach the page before the answer to its join_call does.
            if call.state is CallState.ACTIVE:
                call = await board.change_call(lifecycle.join(call_id, pid, "new"))
            else:  # waiting again for an agent, with media kept
                call = await board.change_call(
                    in_call.update_party(call_id, pid, media_state="new")
                )
            peer = await room.join(pid, sources)
            board.recordings.event(
                call_id,
                EntryType.PARTICIPANT_REJOINED
                if participant.media_joins
                else EntryType.PARTICIPANT_JOINED,
                participant_id=pid,
                role=participant.role,
                name=participant.name,
            )
        await board.participant_changed(call, pid)
        joined: Payload = {
            "participant_id": pid,
            "peer_id": peer.peer_id,
            "ice_servers": ice_servers_for(board.config, identity.subject),
            "call": call_payload(call),
            "server_time": time.time(),
        }
        if identity.role is Role.AGENT:
            joined["monitors"] = board.monitoring.monitors_of(call)
        return joined

    async def answer(self, seat: Seat, call_id: str, peer_id: str, offer_id: int, sdp: str) -> None:
        call, participant_id = self._member(seat, call_id)
        room = self._live_room(call)
        with call_context(call_id):
            try:
                await room.answer(participant_id, peer_id, offer_id, sdp)
            except (MediaError, UnknownParticipantError) as exc:
                raise MediaRequestError(str(exc), field="description") from exc

    async def add_ice_candidate(
        self,
        seat: Seat,
        call_id: str,
        *,
        peer_id: str,
        candidate: str | None,
        sdp_mid: str | None,
        index: int | None,
    ) -> None:
        call, participant_id = self._member(seat, call_id)
        room = self._live_room(call)
        with call_context(call_id):
            try:
                await room.add_ice_candidate(participant_id, peer_id, candidate, sdp_mid, index)
            except (MediaError, UnknownParticipantError) as exc:
                raise MediaRequestError(str(exc), field="candidate") from exc

    async def start_screen_share(self, identity: Identity, call_id: str) -> Payload:
        call, participant = self._board.participant_of(identity, call_id)
        room = self._live_room(call)
        with call_context(call_id):
            try:
                renegotiating = await room.start_source(
                    participant.participant_id, SourceKind.SCREEN
                )
            except (PeerClosedError, UnknownParticipantError) as exc:
                raise CallStateError(f"join the call's media before sharing: {exc}") from exc
        await self._board.party_changed(call_id, participant.participant_id, screen_sharing=True)
        return {"renegotiating": renegotiating}

    async def stop_screen_share(self, identity: Identity, call_id: str) -> None:
        _, participant = self._board.participant_of(identity, call_id)
        if participant.screen_sharing:
            await self._board.party_changed(
                call_id, participant.participant_id, screen_sharing=False
            )

    async def set_track_state(
        self, identity: Identity, call_id: str, kind: str, enabled: bool
    ) -> None:
        board = self._board
        call, participant = board.participant_of(identity, call_id)
        pid = participant.participant_id
        if kind == "audio":
            await board.party_changed(call_id, pid, audio_enabled=enabled)
            return
        if call.media != "video" and enabled:
            raise CallStateError("this is a voice call; it has no camera")
        await board.party_changed(call_id, pid, video_enabled=enabled)

    # -- the room ------------------------------------------------------------

    def new_room(self, call_id: str) -> Room:
        """The call's room on this node: its offers go to their party, its peers' states
        to whoever sees them."""
        board = self._board

        async def on_offer(participant_id: str, offer: Offer) -> None:
            await board.notifier.to_participant(
                call_id, participant_id, ServerEvent.MEDIA_OFFER, offer_payload(call_id, offer)
            )

        def on_state(participant_id: str, state: PeerState) -> None:
            board.tasks.spawn(self._peer_state(call_id, participant_id, state), "media_state")

        return board.media.open_room(call_id, on_offer=on_offer, on_state=on_state)

    async def _peer_state(self, call_id: str, participant_id: str, state: PeerState) -> None:
        board = self._board
        call = board.calls.get(call_id)
        if call is None or call.state is CallState.ENDED:
            return
        try:
            if in_call.monitor_of(call, participant_id) is not None:
                call = await board.commit(
                    in_call.update_monitor(
                        call_id, participant_id, media_state=state.value, now=time.time()
                    )
                )
                monitor = in_call.monitor_of(call, participant_id)
                if monitor is not None:
                    await board.monitoring.media_changed(call, monitor)
                again = "monitor_call again"
            elif in_call.party_of(call, participant_id) in call.participants:
                await board.party_changed(call_id, participant_id, media_state=state.value)
                again = "join_call again"
            else:
                return
        except (Refused, CallStateError, NotFoundError):
            return  # the call ended, or the session did, meanwhile
        except RegistryError as exc:  # the media goes on; who sees it hears later
            board.outage.refusal(exc, f"telling call {call_id} of a peer's state")
            return
        if state is PeerState.FAILED:
            await board.notifier.to_participant(
                call_id,
                participant_id,
                ServerEvent.MEDIA_FAILED,
                {"call_id": call_id, "reason": f"the media connection failed; {again}"},
            )

    def _member(self, seat: Seat, call_id: str) -> tuple[CallValue, str]:
        """Whose peer a media message is for: the party's, or this socket's monitoring session."""
        if seat.identity.role is Role.SUPERVISOR:
            call, monitor = self._board.monitoring.session(seat, call_id)
            return call, monitor.participant_id
        call, participant = self._board.participant_of(seat.identity, call_id)
        return call, participant.participant_id

    def _live_room(self, call: CallValue) -> Room:
        room = self._board.room_of(call.call_id)
        if room is None:
            raise CallStateError(f"the call is {call.state.value}; it has no media")
        return room


__all__ = ["MediaSignaling"]
