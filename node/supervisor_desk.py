"""A supervisor's desk: watching a live call, and listening, whispering or barging in.

Watching is monitoring: it is audited, start and end (refused if the record cannot be
written), and the supervisor publishes nothing by watching. Monitoring joins the call's
media (:mod:`node.monitoring`) and includes watching.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.errors import CallStateError
from callcenter.identity import FLOOR_ROLES
from callcenter.states import CallState
from media.monitor import MonitorMode
from node.notifier import Payload

from .monitoring import Seat
from .payloads import call_payload

if TYPE_CHECKING:
    from .switchboard import Switchboard


class SupervisorDesk:
    """The floor roles' verbs on one call, each through the seat (socket) that asked."""

    def __init__(self, board: Switchboard) -> None:
        self._board = board

    async def watch(self, seat: Seat, call_id: str) -> Payload:
        """Start watching a live call: its transcript and quality from now on."""
        board = self._board
        identity = seat.identity
        identity.require(*FLOOR_ROLES)
        call = board.calls.get(call_id)
        if call is None or call.state is not CallState.ACTIVE:
            raise CallStateError("only a call in progress can be watched")
        await board.watches.start(identity, seat.sid, call_id, seat.source)
        call = board.calls[call_id]
        transcript = board.transcription.transcript(call_id)
        quality = board.quality.quality(call_id)
        return {
            "call": call_payload(call),
            "transcript": transcript.view(board.transcription.pool.lag_s()) if transcript else None,
            "quality": quality.view() if quality else None,
            "quality_history": list(quality.recent) if quality else [],
            "monitors": board.monitoring.monitors_of(call),
        }

    async def unwatch(self, seat: Seat, call_id: str) -> None:
        """Stop watching; a monitoring session on the call ends with it."""
        await self._board.monitoring.stop_if_held(seat, call_id)
        await self._board.watches.stop(seat.sid, call_id)

    async def monitor(self, seat: Seat, call_id: str, mode: str) -> Payload:
        self._board.media_signaling.take_join(f"{seat.identity.subject}@{call_id}")
        return await self._board.monitoring.start(seat, call_id, MonitorMode(mode))

    async def set_mode(self, seat: Seat, call_id: str, mode: str) -> Payload:
        return await self._board.monitoring.set_mode(seat, call_id, MonitorMode(mode))

    async def stop(self, seat: Seat, call_id: str) -> None:
        await self._board.monitoring.stop(seat, call_id)

    async def socket_closed(self, seat: Seat) -> None:
        """The supervisor's socket closed: what it monitored and watched ends with it."""
        await self._board.monitoring.socket_closed(seat.sid)
        await self._board.watches.socket_closed(seat.sid)
