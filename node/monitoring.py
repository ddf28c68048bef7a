"""Supervisors listening to, whispering into and barging into live calls.

A monitoring session belongs to one supervisor's socket and one call. Each
start, mode change and end is written to the audit log before it takes
effect (an action that cannot be audited is refused) and onto the call's
recording timeline. Who is told what: :mod:`node.monitoring_news`.

Ending a session is the one audited action that is not refused when the
audit log fails: refusing it would keep a supervisor listening. The failure
is logged as an error instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from callcenter import in_call
from callcenter.errors import CallStateError, MediaRequestError
from callcenter.identity import Identity, Role
from callcenter.lifecycle import Change, Refused
from callcenter.registry import RegistryError
from callcenter.states import CallState
from callcenter.values import CallValue, MonitorValue, new_participant_id
from media.errors import MediaError
from media.monitor import MonitorMode
from media.room import Room
from node.config import Config
from node.events import ServerEvent
from node.logs import call_context
from node.notifier import Notifier, Payload
from node.recordings import CallRecordings
from recording.timeline import EntryType

from .audit import AuditError, AuditLog, AuditRecord
from .ice import ice_servers_for
from .monitoring_change import MonitoringChange
from .monitoring_news import MonitoringNews, monitors_of
from .payloads import barging_payload, call_payload

logger = logging.getLogger(__name__)

# Supervisors on one call at once: enough for a team lead, a trainer and QA,
# few enough that the agent's peer does not grow without bound.
MAX_MONITORS_PER_CALL = 5

# Runs a change of the registry; what it wrote becomes the node's view (the switchboard's).
Commit = Callable[[Change[CallValue]], Awaitable[CallValue]]


@dataclass(frozen=True, slots=True)
class Seat:
    """Where a monitoring request comes from: the supervisor, their socket and address."""

    identity: Identity
    sid: str
    source: str | None


class Monitoring:
    """Every monitoring session of this node's calls."""

    def __init__(
        self,
        config: Config,
        calls: Mapping[str, CallValue],
        *,
        commit: Commit,
        room_of: Callable[[str], Room | None],
        audit: AuditLog,
        recordings: CallRecordings,
        notifier: Callable[[], Notifier],
        changed: Callable[[], None],
    ) -> None:
        self._config = config
        self._calls = calls
        self._commit = commit
        self._room_of = room_of
        self._audit = audit
        self._recordings = recordings
        self._notifier = notifier
        self._news = MonitoringNews(notifier, changed)
        # Sessions being audited, supervisor -> call: a second start racing one is refused,
        # and they count towards the call's limit.
        self._starting: dict[str, str] = {}

    # -- verbs -------------------------------------------------------------

    async def start(self, seat: Seat, call_id: str, mode: MonitorMode) -> Payload:
        """Begin monitoring ``call_id`` in ``mode``; the media offer follows.

        Asked again from the socket that monitors the call, it gives the session a
        fresh peer (its media failed, as a party's ``join_call`` again does): the
        session, its participant id and its audit trail go on.
        """
        identity = seat.identity
        identity.require(Role.SUPERVISOR)
        call, room = self._live(call_id)
        if identity.subject in self._starting:
            raise CallStateError("your monitoring is already starting; wait for it")
        for other in list(self._calls.values()):
            for monitor in other.monitors:
                if monitor.subject != identity.subject or other.state is CallState.ENDED:
                    continue
                same = other.call_id == call_id
                if same and monitor.sid == seat.sid:
                    return await self._reconnect(seat, call, room, monitor, mode)
                where = "this call" if same else f"call {other.call_id}"
                raise CallStateError(f"you are already monitoring {where}; stop that first")
        starting = sum(1 for pending in self._starting.values() if pending == call_id)
        if len(call.monitors) + starting >= MAX_MONITORS_PER_CALL:
            raise CallStateError(
                f"{MAX_MONITORS_PER_CALL} supervisors are already monitoring this call"
            )
        now = time.time()
        monitor = MonitorValue(
            participant_id=new_participant_id(),
            subject=identity.subject,
            name=identity.name,
            mode=mode,
            sid=seat.sid,
            source=seat.source,
            started_at=now,
            mode_since=now,
        )
        self._starting[identity.subject] = call_id
        started = MonitoringChange.of(EntryType.MONITOR_STARTED, call_id, monitor)
        try:
            await self._audit_record(seat, started)
        finally:
            self._starting.pop(identity.subject, None)
        try:
            call = await self._commit(in_call.add_monitor(call_id, monitor))
        except Refused as refused:  # it ended (or the agent left) while audited
            await self._end_record(call_id, monitor, "call_ended")
            raise CallStateError("the call ended; there is nothing to monitor") from refused
        room = self._room_of(call_id) or room
        assert call.agent is not None  # an active call has its agent
        with call_context(call_id):
            try:
                peer = await room.monitor(
                    monitor.participant_id, mode, coached=call.agent.participant_id
                )
            except MediaError as exc:
                await self._forget(call_id, monitor)
                await self._end_record(call_id, monitor, "failed")
                raise MediaRequestError(f"monitoring could not start: {exc}") from exc
            logger.info("Call(%s) %s monitors (%s)", call_id, identity.subject, mode.value)
            self._on_timeline(started)
        await self._news.announce(call, monitor, was=None)
        return self._joined(call, monitor, peer.peer_id)

    async def _reconnect(
        self, seat: Seat, call: CallValue, room: Room, monitor: MonitorValue, mode: MonitorMode
    ) -> Payload:
        await self.set_mode(seat, call.call_id, mode)  # audited, if it changes
        call, monitor = self.session(seat, call.call_id)
        assert call.agent is not None
        with call_context(call.call_id):
            peer = await room.monitor(
                monitor.participant_id, monitor.mode, coached=call.agent.participant_id
            )
            logger.info("Call(%s) %s monitors on a fresh peer", call.call_id, monitor.subject)
        return self._joined(call, monitor, peer.peer_id)

    def _joined(self, call: CallValue, monitor: MonitorValue, peer_id: str) -> Payload:
        return {
            "participant_id": monitor.participant_id,
            "peer_id": peer_id,
            "ice_servers": ice_servers_for(self._config, monitor.subject),
            "call": call_payload(call),
            "mode": monitor.mode.value,
            "monitors": self.monitors_of(call),
            "server_time": time.time(),
        }

    async def set_mode(self, seat: Seat, call_id: str, mode: MonitorMode) -> Payload:
        """Switch between listen, whisper and barge; in effect with the next packet."""
        call, monitor = self.session(seat, call_id)
        was = monitor.mode
        if mode is not was:
            room = self._room_of(call_id)
            if room is None:
                raise CallStateError("the call has no media any more")
            changed = MonitoringChange.of(
                EntryType.MONITOR_MODE_CHANGED, call_id, monitor, mode=mode, previous=was
            )
            await self._audit_record(seat, changed)
            try:
                call = await self._commit(
                    in_call.update_monitor(
                        call_id, monitor.participant_id, mode=mode, now=time.time()
                    )
                )
            except Refused as refused:
                raise CallStateError(f"monitoring is over: {refused}") from None
            monitor = in_call.monitor_of(call, monitor.participant_id) or monitor
            with call_context(call_id):
                await room.set_monitor_mode(monitor.participant_id, mode)
                logger.info(
                    "Call(%s) %s monitor %s -> %s",
                    call_id,
                    monitor.subject,
                    was.value,
                    mode.value,
                )
                self._on_timeline(changed)
            await self._news.announce(call, monitor, was=was)
        return {"mode": monitor.mode.value, "changed_at": monitor.mode_since}

    async def stop(self, seat: Seat, call_id: str) -> None:
        """The supervisor stops monitoring (the dashboard's "leave")."""
        _, monitor = self.session(seat, call_id)
        await self._end(call_id, monitor, "stopped")

    async def socket_closed(self, sid: str) -> None:
        """A supervisor's socket closed: the sessions it owned end."""
        for call in list(self._calls.values()):
            for monitor in call.monitors:
                if monitor.sid == sid:
                    await self._end(call.call_id, monitor, "disconnected")

    async def call_ended(self, call_id: str) -> None:
        """The call is over: every session on it ends (before its room closes)."""
        await self._end_all(call_id, "call_ended")

    async def agent_lost(self, call_id: str) -> None:
        """The agent's connection was lost and the call went back to the queue: sessions end.

        Whom a whisper coaches is the agent who left; a supervisor monitors the call
        again once the next agent has taken it.
        """
        await self._end_all(call_id, "agent_lost")

    async def _end_all(self, call_id: str, reason: str) -> None:
        call = self._calls.get(call_id)
        for monitor in call.monitors if call is not None else ():
            await self._end(call_id, monitor, reason)

    async def media_changed(self, call: CallValue, monitor: MonitorValue) -> None:
        """The supervisor's connection changed state: those who see them see it too."""
        notifier = self._notifier()
        if monitor.mode is MonitorMode.BARGE:
            await notifier.to_call(
                call.call_id,
                ServerEvent.PARTICIPANT_UPDATED,
                {"call_id": call.call_id, "participant": barging_payload(monitor)},
            )
        await self._news.tell_staff(call)

    # -- lookups -----------------------------------------------------------

    def session(self, seat: Seat, call_id: str) -> tuple[CallValue, MonitorValue]:
        """The session this socket holds on ``call_id``."""
        seat.identity.require(Role.SUPERVISOR)
        held = self._held(seat, call_id)
        if held is None:
            raise CallStateError(f"you are not monitoring call {call_id}; monitor_call first")
        return held

    async def stop_if_held(self, seat: Seat, call_id: str) -> None:
        """End this socket's session on ``call_id``, if it holds one (it stops watching)."""
        held = self._held(seat, call_id)
        if held is not None:
            await self._end(call_id, held[1], "stopped")

    def _held(self, seat: Seat, call_id: str) -> tuple[CallValue, MonitorValue] | None:
        call = self._calls.get(call_id)
        if call is None:
            return None
        monitor = next((m for m in call.monitors if m.sid == seat.sid), None)
        return (call, monitor) if monitor is not None else None

    @staticmethod
    def monitors_of(call: CallValue) -> list[dict[str, object]]:
        return monitors_of(call)

    # -- internals ---------------------------------------------------------

    def _live(self, call_id: str) -> tuple[CallValue, Room]:
        call = self._calls.get(call_id)
        room = self._room_of(call_id)
        if call is None or call.state is not CallState.ACTIVE or room is None:
            raise CallStateError("only a call in progress can be monitored")
        return call, room

    async def _audit_record(self, seat: Seat, change: MonitoringChange) -> None:
        """The supervisor's own step (start, mode) in the audit log; refused if unwritable."""
        await self._audit.record(
            AuditRecord(
                actor=seat.identity.subject,
                role=seat.identity.role.value,
                action=change.step.value,
                call_id=change.call_id,
                source=seat.source,
                details=change.audit_details(),
                name=seat.identity.name,
            )
        )

    def _on_timeline(self, change: MonitoringChange) -> None:
        """A session's start, switch or end on the recording's timeline, with who and how."""
        self._recordings.event(change.call_id, change.step, **change.timeline_fields())

    async def _forget(self, call_id: str, monitor: MonitorValue) -> CallValue | None:
        """Take the session off the call; None when it was off already (a socket closing
        while the call ends). With the registry out of reach the session still ends here."""
        try:
            return await self._commit(in_call.remove_monitor(call_id, monitor.participant_id))
        except Refused:
            return None
        except RegistryError:
            logger.warning(
                "Call(%s) %s's monitoring ends here; the registry could not be told",
                call_id,
                monitor.subject,
            )
            return self._calls.get(call_id)

    async def _end(self, call_id: str, monitor: MonitorValue, reason: str) -> None:
        call = await self._forget(call_id, monitor)
        if call is None:
            return
        await self._end_record(call_id, monitor, reason)
        with call_context(call_id):
            room = self._room_of(call_id)
            if room is not None:
                await room.leave(monitor.participant_id)
            logger.info("Call(%s) %s stopped monitoring: %s", call_id, monitor.subject, reason)
            self._on_timeline(
                MonitoringChange.of(EntryType.MONITOR_ENDED, call_id, monitor, reason=reason)
            )
        notifier = self._notifier()
        await notifier.to_socket(
            monitor.sid,
            ServerEvent.MONITOR_ENDED,
            {"call_id": call_id, "participant_id": monitor.participant_id, "reason": reason},
        )
        await self._news.announce(call, monitor, was=monitor.mode, ended=True)

    async def _end_record(self, call_id: str, monitor: MonitorValue, reason: str) -> None:
        try:
            ended = MonitoringChange.of(
                EntryType.MONITOR_ENDED,
                call_id,
                monitor,
                reason=reason,
                duration_s=time.time() - monitor.started_at,
            )
            await self._audit.record(
                AuditRecord(
                    actor=monitor.subject,
                    role=Role.SUPERVISOR.value,
                    action=ended.step.value,
                    call_id=call_id,
                    source=monitor.source,
                    name=monitor.name,
                    details=ended.audit_details(),
                )
            )
        except AuditError:
            logger.error(
                "Call(%s) the end of %s's monitoring could not be audited; it ends anyway",
                call_id,
                monitor.subject,
            )
