"""Call lifecycle: customers wait, agents take calls, both talk, someone hangs up.

The switchboard is the domain layer between the socket.io hub and the media
rooms. It knows nothing of sockets: it tells a :class:`Notifier` what happened
and to whom, and the hub turns that into socket.io messages.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from aiortc import RTCConfiguration

from callcenter import agents as agent_changes
from callcenter import routing
from callcenter.lifecycle import Change, Refused
from callcenter.memory_registry import MemoryRegistry
from callcenter.registry import CallRegistry, Draft, RegistryError
from callcenter.states import AgentState
from callcenter.values import AgentValue
from media import aiortc_compat
from media.errors import MediaError, PeerClosedError, UnknownParticipantError
from media.ice_policy import CandidatePolicy
from media.monitor import MonitorMode
from media.peer import Offer, PeerState
from media.room import MediaPlane, Room, default_configuration
from media.router import Router
from media.source import SourceKind
from node.presence import Presence
from recording.timeline import EntryType

from .agent_queue import AgentQueue
from .audit import AuditLog, AuditRecord
from .auth import FLOOR_ROLES, Identity, Role
from .call_journal import CallJournal
from .call_media import CallMedia
from .calls import Call, CallState, EndReason, Participant
from .config import Config
from .errors import (
    CallStateError,
    ForbiddenError,
    InvalidMessageError,
    MediaRequestError,
    NotFoundError,
    QueueFullError,
    QueueShareError,
    RateLimitedError,
    ServerBusyError,
)
from .events import ServerEvent
from .floor import Floor
from .ice import ice_servers_for
from .limits import RateLimiter, Tally
from .logs import call_context
from .monitoring import Monitoring, Seat
from .notifier import Notifier, Payload
from .outage import RegistryOutage
from .payloads import agent_payload, ended_payload, offer_payload
from .quality_monitor import QualityMonitor
from .recordings import CallRecordings
from .requeue import requeue_call, taken_again
from .tasks import TaskSet
from .transcription import Transcription
from .watching import Watches

logger = logging.getLogger(__name__)

# Ended calls stay visible (GET /api/calls/{id}, a late reload) this long.
SWEEP_INTERVAL_S = 60.0
DEFAULT_CUSTOMER_NAME = "Customer"  # a customer who gave no name
# The call journal is rewritten with only the calls still known after this many lines.
JOURNAL_REWRITE_LINES = 10_000
# Waiting customers and agents hear of queue changes at most this often: a burst
# of changes costs one round of news, not one per change per waiting customer.
QUEUE_NEWS_INTERVAL_S = 0.25
# Agents see the longest-waiting calls, this many, and how many wait in all.
QUEUE_VIEW_LIMIT = 50

__all__ = ["Notifier", "Payload", "Switchboard"]


class Switchboard:
    """All calls of this node, the agent queue, and the media room of each live call."""

    def __init__(
        self,
        config: Config,
        notifier: Notifier | None = None,
        *,
        configuration_factory: Callable[[], RTCConfiguration] = default_configuration,
        plane_factory: Callable[[], MediaPlane] = Router,
        registry: CallRegistry | None = None,
    ) -> None:
        self.config = config
        # The call centre's state, shared by every node: agents live there (calls, next).
        self.registry: CallRegistry = registry or MemoryRegistry(
            ended_retention_s=config.ended_call_retention_s
        )
        # What this node last read or wrote of each agent (the floor and /metrics read it;
        # a change always reads the registry afresh).
        self.agents: dict[str, AgentValue] = {}
        # Sockets open on this node.
        self.presence = Presence()
        # Refusals while the registry cannot be reached, and the operators told.
        self.outage = RegistryOutage()
        # What moves each call's media: the router; a benchmark passes its baseline.
        self._plane_factory = plane_factory
        self.calls: dict[str, Call] = {}
        self.queue = AgentQueue(
            default_handle_time_s=config.default_handle_time_s, max_waiting=config.max_queue
        )
        self.notifier: Notifier = notifier if notifier is not None else _Unwired()
        self._configuration_factory = configuration_factory
        self._media: dict[str, CallMedia] = {}
        self.recordings = CallRecordings(config.recordings_path, enabled=config.recording_enabled)
        self.audit = AuditLog(config.audit_path)
        self.watches = Watches(self.audit)
        self.journal = CallJournal(
            config.data_dir / "calls.jsonl", retention_s=config.ended_call_retention_s
        )
        # Agents of calls a crash interrupted, told when they are back: subject -> call ids.
        self._interrupted: dict[str, list[str]] = {}
        self._sweep_every = min(SWEEP_INTERVAL_S, config.ended_call_retention_s / 2)
        self.quality = QualityMonitor(
            config, self.recordings, self._send_quality, watchers=self._send_watchers
        )
        self.transcription = Transcription(
            config,
            self.recordings,
            self.quality,
            self._send_quality,
            watchers=self._send_watchers,
        )
        self.monitoring = Monitoring(
            config,
            self.calls,
            room_of=self.room_of,
            audit=self.audit,
            recordings=self.recordings,
            notifier=lambda: self.notifier,
            changed=self._floor_changed,
        )
        self.floor = Floor(self)
        networks = config.candidate_networks
        # Which addresses a client's ICE candidates may make this server contact.
        self._candidate_policy = CandidatePolicy(
            networks=None if networks is None else tuple(networks)
        )
        self._queued_from = Tally(config.max_queued_per_address)
        self._joins = RateLimiter(config.joins_per_min / 60, max(3.0, config.joins_per_min / 4))
        self._queue_news_at = 0.0
        self._queue_news_due = False
        self._queue_told: dict[str, tuple[object, ...]] = {}
        self.draining = False
        """Set on SIGTERM: no new calls; the live ones are ending."""
        self._tasks = TaskSet("Switchboard")

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        aiortc_compat.check_compatibility()
        aiortc_compat.restrict_ice_addresses(self.config.ice_addresses)
        self._tasks.spawn(self.recordings.open(), "open_recordings")
        self._tasks.call_later("sweep", self._sweep_every, self._sweep)
        self._tasks.spawn(self.quality.run(), "quality")
        self._tasks.spawn(self.transcription.run(), "transcription")
        self._tasks.spawn(self.transcription.preload(), "speech_models")
        self._tasks.spawn(self.floor.run(), "floor")

    async def restore(self) -> None:
        """Know the calls of the last run (before any socket comes in): a crash ended some."""
        for call in await self.journal.restore():
            self.calls[call.call_id] = call
            if call.end_reason is EndReason.INTERRUPTED and call.agent is not None:
                self._interrupted.setdefault(call.agent.subject, []).append(call.call_id)

    def endings_for(self, identity: Identity) -> list[Payload]:
        """``call_ended`` news a socket that just connected missed (its call ended meanwhile)."""
        if identity.role is Role.CUSTOMER:
            call = self.calls.get(identity.call_id or "")
            ended = [call] if call is not None and call.state is CallState.ENDED else []
        elif identity.role is Role.AGENT:
            ids = self._interrupted.pop(identity.subject, [])
            ended = [c for c in map(self.calls.get, ids) if c is not None]
        else:
            ended = []
        return [ended_payload(call.to_value()) for call in ended]

    async def drain(self) -> None:
        """Stop taking calls and end the live ones, telling their parties (SIGTERM)."""
        if not self.draining:
            logger.info(
                "draining: new calls are refused, %d live calls end", len(self.live_calls())
            )
        self.draining = True
        for call in list(self.calls.values()):
            if call.state is not CallState.ENDED:
                await self._end_call(call, EndReason.SHUTDOWN)

    def _refuse_if_draining(self) -> None:
        if self.draining:
            raise ServerBusyError("this server is shutting down; try again in a moment")

    async def close(self) -> None:
        await self.drain()
        await self.journal.close()
        await self.recordings.close()
        await self.transcription.close()
        await self._tasks.close()
        self.audit.close()

    # -- calls -----------------------------------------------------------

    def create_call(
        self,
        *,
        customer_subject: str,
        customer_name: str,
        language: str,
        media: str,
        metadata: dict[str, str] | None = None,
    ) -> Call:
        self._refuse_if_draining()
        self.require_language(language)
        customer = Participant(
            participant_id=_participant_id(),
            role=Role.CUSTOMER,
            subject=customer_subject,
            name=customer_name or DEFAULT_CUSTOMER_NAME,
            connected=False,
            video_enabled=media == "video",
        )
        call = Call(
            call_id=Call.new_id(),
            customer=customer,
            language=language,
            media=media,
            metadata=dict(metadata or {}),
        )
        self.calls[call.call_id] = call
        self.journal.record(call, "created")
        with call_context(call.call_id):
            logger.info("Call(%s) created for customer %s", call.call_id, customer_subject)
        return call

    def visible_call(self, identity: Identity, call_id: str) -> Call:
        """The call, if this identity may see it; a customer sees only their own."""
        call = self.calls.get(call_id)
        if identity.role is Role.CUSTOMER and identity.call_id != call_id:
            call = None
        if call is None:
            raise NotFoundError(f"no call {call_id} that this token may see")
        if identity.role is Role.REVIEWER:
            raise ForbiddenError("a reviewer cannot see live calls; use recordings")
        return call

    def room(self, call_id: str) -> Room:
        """The media room of a live call (operators' tools and tests look inside it)."""
        room = self.room_of(call_id)
        if room is None:
            raise NotFoundError(f"call {call_id} has no media room; it is not active")
        return room

    def room_of(self, call_id: str) -> Room | None:
        media = self._media.get(call_id)
        return media.room if media is not None else None

    def media_of(self, call_id: str) -> CallMedia:
        """The call's media on this node (a call taken by an agent that has not ended)."""
        media = self._media.get(call_id)
        if media is None:
            raise NotFoundError(f"call {call_id} has no media here; it is not active")
        return media

    def live_calls(self) -> list[Call]:
        return [c for c in self.calls.values() if c.state is not CallState.ENDED]

    # -- connections -----------------------------------------------------

    async def connected(self, identity: Identity) -> Payload:
        """A socket of this identity connected; returns what the client should show."""
        if identity.role in FLOOR_ROLES:
            return await self.state_for(identity)
        if identity.role is Role.CUSTOMER:
            call = self.visible_call(identity, identity.call_id or "")
            customer = call.customer
            if customer.subject != identity.subject:
                raise ForbiddenError("this token is not the customer of that call")
            self._tasks.cancel_timer(f"grace:{call.call_id}:{customer.participant_id}")
            self.presence.party_connected(customer.participant_id)
            if not customer.connected:
                customer.connected = True
                await self._participant_changed(call, customer)
        else:
            agent = await self._sign_in(identity)
            self._tasks.cancel_timer(f"grace:agent:{identity.subject}")
            self.presence.agent_connected(identity.subject)
            current = self.calls.get(agent.call_id or "")
            if current is not None and current.agent is not None and not current.agent.connected:
                current.agent.connected = True
                await self._participant_changed(current, current.agent)
        return await self.state_for(identity)

    async def disconnected(self, identity: Identity) -> None:
        """A socket closed. The party may come back within ``rejoin_grace_s``."""
        grace = self.config.rejoin_grace_s
        if identity.role in FLOOR_ROLES:
            return
        if identity.role is Role.CUSTOMER:
            call = self.calls.get(identity.call_id or "")
            if call is None or call.state is CallState.ENDED:
                return
            customer = call.customer
            if not self.presence.party_disconnected(customer.participant_id):
                customer.connected = False
                self._left(call, customer)
                await self._participant_changed(call, customer)
                call_id = call.call_id
                self._tasks.call_later(
                    f"grace:{call_id}:{customer.participant_id}",
                    grace,
                    lambda: self._customer_gone(call_id),
                )
            return
        subject = identity.subject
        if self.presence.agent_disconnected(subject):
            return  # another socket of theirs is still open
        agent = await self.registry.agent(subject)
        if agent is None:
            return
        call = self.calls.get(agent.call_id or "")
        if call is not None and call.agent is not None and call.agent.subject == agent.subject:
            call.agent.connected = False
            self._left(call, call.agent)
            await self._participant_changed(call, call.agent)
        self._tasks.call_later(f"grace:agent:{subject}", grace, lambda: self._agent_gone(subject))

    async def report_quality(
        self, identity: Identity, call_id: str, report: dict[str, Any]
    ) -> None:
        """A page's own view of its media; shown beside the server's figures."""
        call, participant = self._participant_of(identity, call_id)
        if call.call_id not in self._media:
            raise CallStateError("quality reports are for calls in progress")
        self.quality.report(call_id, participant.participant_id, participant.role.value, report)

    async def watch_call(self, seat: Seat, call_id: str) -> Payload:
        """A supervisor starts watching a live call: its transcript and quality from now on.

        Watching is monitoring: it is audited, start and end (refused if the record cannot
        be written). The supervisor publishes nothing by watching.
        """
        identity = seat.identity
        identity.require(*FLOOR_ROLES)
        call = self.calls.get(call_id)
        if call is None or call.state is not CallState.ACTIVE:
            raise CallStateError("only a call in progress can be watched")
        await self.watches.start(identity, seat.sid, call_id, seat.source)
        transcript = self.transcription.transcript(call_id)
        quality = self.quality.quality(call_id)
        return {
            "call": call.to_wire(),
            "transcript": transcript.view(self.transcription.pool.lag_s()) if transcript else None,
            "quality": quality.view() if quality else None,
            "quality_history": list(quality.recent) if quality else [],
            "monitors": self.monitoring.monitors_of(call),
        }

    # -- monitoring (supervisors) ------------------------------------------

    async def monitor_call(self, seat: Seat, call_id: str, mode: str) -> Payload:
        self._take_join(f"{seat.identity.subject}@{call_id}")
        return await self.monitoring.start(seat, call_id, MonitorMode(mode))

    def _take_join(self, key: str) -> None:
        """A fresh peer costs ports, DTLS and ICE checks: a page failing in a loop is refused."""
        if not self._joins.take(key):
            wait = self._joins.retry_after_s(key)
            raise RateLimitedError(
                f"too many reconnects in a short time; try again in {max(1, round(wait))} s",
                retry_after_s=wait,
            )

    async def set_monitor_mode(self, seat: Seat, call_id: str, mode: str) -> Payload:
        return await self.monitoring.set_mode(seat, call_id, MonitorMode(mode))

    async def stop_monitoring(self, seat: Seat, call_id: str) -> None:
        await self.monitoring.stop(seat, call_id)

    async def unwatch_call(self, seat: Seat, call_id: str) -> None:
        """Stop watching; a monitoring session on the call ends with it."""
        await self.monitoring.stop_if_held(seat, call_id)
        await self.watches.stop(seat.sid, call_id)

    async def socket_closed(self, seat: Seat) -> None:
        """A socket closed: a supervisor's monitoring ends with it, a party may come back."""
        if seat.identity.role in FLOOR_ROLES:
            await self.monitoring.socket_closed(seat.sid)
            await self.watches.socket_closed(seat.sid)
        await self.disconnected(seat.identity)

    async def _send_watchers(self, call_id: str, event: ServerEvent, payload: Payload) -> None:
        await self.notifier.to_watchers(call_id, event, payload)

    async def _send_quality(
        self, call_id: str, participant_id: str, event: ServerEvent, payload: Payload
    ) -> None:
        await self.notifier.to_participant(call_id, participant_id, event, payload)

    def _left(self, call: Call, participant: Participant) -> None:
        """A party's connection dropped mid-call: the recording's timeline shows it."""
        if call.state is CallState.ACTIVE:
            self.recordings.event(
                call.call_id,
                EntryType.PARTICIPANT_LEFT,
                participant_id=participant.participant_id,
                role=participant.role.value,
                name=participant.name,
                reason="connection_lost",
            )

    async def state_for(self, identity: Identity) -> Payload:
        if identity.role in FLOOR_ROLES:
            return {
                "server_time": time.time(),
                "role": identity.role.value,
                "name": identity.name,
                "subject": identity.subject,
                "calls": [c.to_wire() for c in self.live_calls()],
                "floor": self.floor.view(),
            }
        if identity.role is Role.CUSTOMER:
            call = self.visible_call(identity, identity.call_id or "")
            state: Payload = {
                "server_time": time.time(),
                "role": identity.role.value,
                "name": identity.name,
                "participant_id": call.customer.participant_id,
                "call": call.to_wire(),
            }
            if call.state in (CallState.QUEUED, CallState.OFFERED):
                state["queue"] = self._position_payload(call)
            return state
        agent = await self.registry.agent(identity.subject) or await self._sign_in(identity)
        self.agents[agent.subject] = agent
        current = self.calls.get(agent.call_id or "")
        return {
            "server_time": time.time(),
            "role": identity.role.value,
            "name": identity.name,
            "agent": self.agent_payload(agent),
            "auto_offer": self.config.auto_offer,
            "queue": self.queue_view(),
            "call": current.to_wire() if current is not None else None,
            "participant_id": current.agent.participant_id if current and current.agent else None,
            "monitors": self.monitoring.monitors_of(current) if current is not None else [],
            "lost_call": self._lost_call(agent),
        }

    def _lost_call(self, agent: AgentValue) -> Payload | None:
        """The call this agent lost with their connection (it went back to the queue)."""
        call = self.calls.get(agent.lost_call or "")
        if call is None:
            return None
        return {"call_id": call.call_id, "customer_name": call.customer.name}

    # -- customer --------------------------------------------------------

    def require_language(self, language: str) -> None:
        """Calls are in the languages config offers (``call_languages``), no other."""
        offered = self.config.call_languages
        if language not in offered:
            raise InvalidMessageError(
                f"calls here are in {', '.join(offered)}; {language!r} is not one of them",
                field="language",
            )

    async def request_call(
        self,
        identity: Identity,
        media: str,
        language: str,
        source: str | None = None,
        *,
        name: str = "",
    ) -> Payload:
        """The customer asks for an agent: the call joins the queue.

        One address may have only ``max_queued_per_address`` customers waiting.
        """
        identity.require(Role.CUSTOMER)
        call = self.visible_call(identity, identity.call_id or "")
        with call_context(call.call_id):
            if call.state is CallState.ENDED:
                raise CallStateError("this call has ended; start a new one")
            if call.state is CallState.CREATED:
                self._refuse_if_draining()
                self.require_language(language)
                if self.queue.is_full:
                    raise QueueFullError("too many customers are waiting; please try again soon")
                address = source or "unknown"
                if not self._queued_from.acquire(address):
                    raise QueueShareError(
                        "too many calls from your address are already waiting; "
                        "please wait for one of them to be answered"
                    )
                call.queued_from = address
                call.media = media
                call.language = language
                if name and call.customer.name == DEFAULT_CUSTOMER_NAME:
                    call.customer.name = name  # a name given by the shop is kept
                call.customer.video_enabled = media == "video"
                call.set_state(CallState.QUEUED)
                self.queue.enqueue(call)
                await self._queue_changed()
                await self._dispatch()
            return await self.state_for(identity)

    async def cancel_call(self, identity: Identity) -> None:
        identity.require(Role.CUSTOMER)
        call = self.visible_call(identity, identity.call_id or "")
        if call.state is CallState.ACTIVE:
            raise CallStateError("the call is connected; hang up instead")
        if call.state is not CallState.ENDED:
            await self._end_call(call, EndReason.CANCELLED, by=call.customer.participant_id)

    # -- agent -----------------------------------------------------------

    async def set_availability(self, identity: Identity, status: str) -> Payload:
        identity.require(Role.AGENT)
        await self._sign_in(identity)
        wanted = agent_changes.set_availability(
            identity.subject, status == "available", time.time()
        )
        try:  # answering also the notice of a call they lost: told, and decided
            agent = await self._agent_run(wanted)
        except Refused as refused:
            raise CallStateError(str(refused)) from None
        await self._agent_changed(agent.subject)
        await self._queue_changed()
        await self._dispatch()
        return self.agent_payload(self.agents[agent.subject])

    async def accept_call(self, identity: Identity, call_id: str | None) -> Call:
        identity.require(Role.AGENT)
        agent = await self._sign_in(identity)
        if agent.state is AgentState.ON_CALL:
            raise CallStateError("you are already on a call; hang up first")
        if agent.state is AgentState.AWAY:
            # Away is not taking calls: the waiting customers are told no agent is, so an
            # Away agent taking one would make that untrue.
            raise CallStateError("you are Away: set yourself Available to take calls")
        if call_id is None:
            offered = (
                self.calls.get(agent.call_id or "") if agent.state is AgentState.RINGING else None
            )
            call = offered or self.queue.head()
            if call is None:
                raise NotFoundError("no customer is waiting")
        else:
            call = self.calls.get(call_id)
            if call is None:
                raise NotFoundError(f"no call {call_id}")
        with call_context(call.call_id):
            if call.state is CallState.OFFERED and call.offered_to != agent.subject:
                raise CallStateError("this call is being offered to another agent")
            if call.state not in (CallState.QUEUED, CallState.OFFERED):
                raise CallStateError(f"the call is {call.state.value}, not waiting")
            self._tasks.cancel_timer(f"offer:{call.call_id}")
            if agent.state is AgentState.RINGING and agent.call_id != call.call_id:
                # Took another call than the one ringing: give that one back.
                await self._withdraw_offer(agent.call_id or "", reason="taken_other")
            call.agent = Participant(
                participant_id=_participant_id(),
                role=Role.AGENT,
                subject=agent.subject,
                name=agent.name,
                connected=self.presence.agent_online(agent.subject),
                video_enabled=call.media == "video",
            )
            call.offered_to = None
            call.set_state(CallState.ACTIVE)
            self.journal.record(call, "answered")
            self._dequeue(call)
            if call.call_id in self._media:
                # Back from the queue (its agent was lost): this agent joins the same
                # room, recording, quality timeline and transcript.
                taken_again(self, call)
            else:
                self._media[call.call_id] = CallMedia(
                    call,
                    self._new_room(call),
                    recordings=self.recordings,
                    quality=self.quality,
                    transcription=self.transcription,
                    tasks=self._tasks,
                )
            # After the call and its media are set (no await between their checks and
            # changes): the call cannot be seen taken and without its room.
            await self._move_agent(agent.subject, AgentState.ON_CALL, call.call_id)
            await self.notifier.to_call(
                call.call_id, ServerEvent.CALL_UPDATED, {"call": call.to_wire()}
            )
            await self._agent_changed(agent.subject)
            await self._queue_changed()
            return call

    async def decline_call(self, identity: Identity, call_id: str) -> None:
        identity.require(Role.AGENT)
        call = self.calls.get(call_id)
        if (
            call is None
            or call.state is not CallState.OFFERED
            or call.offered_to != identity.subject
        ):
            raise CallStateError("that call is not being offered to you")
        call.declined_by.add(identity.subject)
        await self._withdraw_offer(call_id, reason="declined", agent_state=AgentState.AVAILABLE)

    # -- in the call -----------------------------------------------------

    async def join_call(self, identity: Identity, call_id: str) -> Payload:
        """Start (or restart, with a fresh peer) the participant's media."""
        if identity.role in FLOOR_ROLES:
            raise ForbiddenError(
                "a supervisor takes no part in calls; monitor_call listens without being seen"
            )
        call, participant = self._participant_of(identity, call_id)
        # A customer whose agent was lost keeps their media while the call waits again.
        room = self.room_of(call_id)
        if room is None:
            raise CallStateError(
                f"the call is {call.state.value}; media starts when an agent takes it"
            )
        self._take_join(participant.participant_id)
        sources = [SourceKind.MICROPHONE]
        if call.media == "video":
            sources.append(SourceKind.CAMERA)
        with call_context(call_id):
            peer = await room.join(participant.participant_id, sources)
            participant.media_state = peer.state.value
            self.recordings.event(
                call_id,
                EntryType.PARTICIPANT_REJOINED
                if participant.media_joins
                else EntryType.PARTICIPANT_JOINED,
                participant_id=participant.participant_id,
                role=participant.role.value,
                name=participant.name,
            )
            participant.media_joins += 1
        await self._participant_changed(call, participant)
        joined: Payload = {
            "participant_id": participant.participant_id,
            "peer_id": peer.peer_id,
            "ice_servers": ice_servers_for(self.config, identity.subject),
            "call": call.to_wire(),
            "server_time": time.time(),
        }
        if identity.role is Role.AGENT:
            joined["monitors"] = self.monitoring.monitors_of(call)
        return joined

    async def send_answer(
        self, seat: Seat, call_id: str, peer_id: str, offer_id: int, sdp: str
    ) -> None:
        call, participant_id = self._media_member(seat, call_id)
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
        call, participant_id = self._media_member(seat, call_id)
        room = self._live_room(call)
        with call_context(call_id):
            try:
                await room.add_ice_candidate(participant_id, peer_id, candidate, sdp_mid, index)
            except (MediaError, UnknownParticipantError) as exc:
                raise MediaRequestError(str(exc), field="candidate") from exc

    async def start_screen_share(self, identity: Identity, call_id: str) -> Payload:
        call, participant = self._participant_of(identity, call_id)
        room = self._live_room(call)
        with call_context(call_id):
            try:
                renegotiating = await room.start_source(
                    participant.participant_id, SourceKind.SCREEN
                )
            except (PeerClosedError, UnknownParticipantError) as exc:
                raise CallStateError(f"join the call's media before sharing: {exc}") from exc
        participant.screen_sharing = True
        await self._participant_changed(call, participant)
        return {"renegotiating": renegotiating}

    async def stop_screen_share(self, identity: Identity, call_id: str) -> None:
        call, participant = self._participant_of(identity, call_id)
        if participant.screen_sharing:
            participant.screen_sharing = False
            await self._participant_changed(call, participant)

    async def set_track_state(
        self, identity: Identity, call_id: str, kind: str, enabled: bool
    ) -> None:
        call, participant = self._participant_of(identity, call_id)
        if kind == "audio":
            participant.audio_enabled = enabled
        else:
            if call.media != "video" and enabled:
                raise CallStateError("this is a voice call; it has no camera")
            participant.video_enabled = enabled
        await self._participant_changed(call, participant)

    async def tag_call(self, identity: Identity, call_id: str, tags: list[str]) -> list[str]:
        """The agent tags the call; the tags go with its recording (customers never see them)."""
        identity.require(Role.AGENT)
        call, participant = self._participant_of(identity, call_id)
        if call.state is not CallState.ACTIVE:
            raise CallStateError(f"the call is {call.state.value}; tag it while it is live")
        call.tags = sorted(set(call.tags) | set(tags))
        self.recordings.event(
            call_id, EntryType.CALL_TAGGED, tags=tags, by=participant.participant_id
        )
        return call.tags

    async def set_recording(
        self, identity: Identity, call_id: str, *, paused: bool, source: str | None = None
    ) -> Payload:
        """Pause or resume the call's recording (the agent, while a card number is read out)."""
        identity.require(Role.AGENT)
        call, participant = self._participant_of(identity, call_id)
        if call.state is not CallState.ACTIVE:
            raise CallStateError(
                f"the call is {call.state.value}; only a live call's recording pauses"
            )
        wanted = "paused" if paused else "recording"
        if call.recording_state == wanted or call.recording_state not in ("recording", "paused"):
            raise CallStateError(f"recording is {call.recording_state}; cannot make it {wanted}")
        await self.audit.record(
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
            if paused:
                self.recordings.pause(call, by=participant.participant_id)
            else:
                self.recordings.resume(call, by=participant.participant_id)
            self.transcription.pause(call_id, paused)
        await self.notifier.to_call(call_id, ServerEvent.CALL_UPDATED, {"call": call.to_wire()})
        return {"recording": call.recording_state}

    async def hang_up(self, identity: Identity, call_id: str) -> None:
        call, participant = self._participant_of(identity, call_id)
        if call.state is not CallState.ENDED:
            await self._end_call(call, EndReason.HUNG_UP, by=participant.participant_id)

    # -- internals -------------------------------------------------------

    def _participant_of(self, identity: Identity, call_id: str) -> tuple[Call, Participant]:
        identity.require(Role.CUSTOMER, Role.AGENT)
        call = self.visible_call(identity, call_id)
        if identity.role is Role.CUSTOMER:
            return call, call.customer
        if call.agent is None or call.agent.subject != identity.subject:
            raise ForbiddenError("you are not the agent of this call")
        return call, call.agent

    def _media_member(self, seat: Seat, call_id: str) -> tuple[Call, str]:
        """Whose peer a media message is for: the party's, or this socket's monitoring session."""
        if seat.identity.role is Role.SUPERVISOR:
            call, monitor = self.monitoring.session(seat, call_id)
            return call, monitor.participant_id
        call, participant = self._participant_of(seat.identity, call_id)
        return call, participant.participant_id

    def _live_room(self, call: Call) -> Room:
        room = self.room_of(call.call_id)
        if room is None:
            raise CallStateError(f"the call is {call.state.value}; it has no media")
        return room

    def _new_room(self, call: Call) -> Room:
        call_id = call.call_id

        async def on_offer(participant_id: str, offer: Offer) -> None:
            await self.notifier.to_participant(
                call_id, participant_id, ServerEvent.MEDIA_OFFER, offer_payload(call_id, offer)
            )

        def on_state(participant_id: str, state: PeerState) -> None:
            self._tasks.spawn(
                self._media_state_changed(call_id, participant_id, state), "media_state"
            )

        return Room(
            call_id,
            on_offer=on_offer,
            on_state=on_state,
            configuration_factory=self._configuration_factory,
            plane=self._plane_factory(),
            answer_timeout=self.config.answer_timeout_s,
            candidate_policy=self._candidate_policy,
        )

    async def _media_state_changed(
        self, call_id: str, participant_id: str, state: PeerState
    ) -> None:
        call = self.calls.get(call_id)
        if call is None or call.state is CallState.ENDED:
            return
        monitor = call.monitors.get(participant_id)
        participant = call.participant(participant_id)
        if monitor is not None:
            monitor.media_state = state.value
            await self.monitoring.media_changed(call, monitor)
            again = "monitor_call again"
        elif participant is not None:
            participant.media_state = state.value
            await self._participant_changed(call, participant)
            again = "join_call again"
        else:
            return
        if state is PeerState.FAILED:
            await self.notifier.to_participant(
                call_id,
                participant_id,
                ServerEvent.MEDIA_FAILED,
                {"call_id": call_id, "reason": f"the media connection failed; {again}"},
            )

    async def _participant_changed(self, call: Call, participant: Participant) -> None:
        self._floor_changed()
        if call.state is CallState.ENDED:
            return
        await self.notifier.to_call(
            call.call_id,
            ServerEvent.PARTICIPANT_UPDATED,
            {"call_id": call.call_id, "participant": participant.to_wire()},
        )

    def _floor_changed(self) -> None:
        self.floor.changed()

    async def _agent_changed(self, subject: str) -> None:
        self._floor_changed()
        agent = self.agents.get(subject)
        if agent is not None:
            await self.notifier.to_agent(
                subject, ServerEvent.AGENT_UPDATED, {"agent": self.agent_payload(agent)}
            )

    def agent_payload(self, agent: AgentValue) -> Payload:
        """An agent as their console and the floor see them (connected: on this node)."""
        return agent_payload(agent, connected=self.presence.agent_online(agent.subject))

    # -- agents in the registry --------------------------------------------

    async def _sign_in(self, identity: Identity) -> AgentValue:
        """The agent's record in the registry (made Away on their first sign-in).

        A record that says they ring for, or are on, a call this node has no live call for
        was left by a run that stopped (the registry outlives a node): they are Away.
        """
        agent = await self._agent_run(
            agent_changes.sign_in(identity.subject, identity.name, time.time())
        )
        held = self.calls.get(agent.call_id) if agent.call_id is not None else None
        if agent.call_id is not None and (held is None or held.state is CallState.ENDED):
            stale, now = agent.call_id, time.time()
            logger.info("agent %s held call %s, which is over: Away", agent.subject, stale)
            freed = await self._put_agent(agent.subject, _freed(stale, AgentState.AWAY, now))
            return freed or agent
        return agent

    async def _agent_run(self, change: Change[AgentValue]) -> AgentValue:
        stored = await self.registry.change(
            change.apply, calls=change.calls, agents=change.agents, queue=change.queue
        )
        self.agents[stored.subject] = stored
        return stored

    async def _put_agent(
        self, subject: str, new: Callable[[AgentValue], AgentValue | None]
    ) -> AgentValue | None:
        """Change one agent: ``new`` gives the value to write from the one stored (None:
        leave it). Returns the value written, or None when nothing was."""

        def apply(draft: Draft) -> AgentValue | None:
            agent = draft.agent(subject)
            changed = new(agent) if agent is not None else None
            if agent is None or changed is None or changed == agent:
                return None
            return draft.put_agent(changed)

        stored = await self.registry.change(apply, agents=[subject])
        if stored is not None:
            self.agents[subject] = stored
        return stored

    async def _move_agent(
        self, subject: str, state: AgentState, call_id: str | None = None
    ) -> AgentValue | None:
        now = time.time()
        return await self._put_agent(subject, lambda agent: agent.moved_to(state, now, call_id))

    def _staffed(self) -> int:
        return routing.staffed(self.agents.values(), self.presence.online_agents())

    def _wait_estimator(self) -> Callable[[int], float | None]:
        return routing.wait_estimate(
            list(self.agents.values()), self.presence.online_agents(), self.queue.handle_time_s
        )

    def _position_payload(self, call: Call) -> Payload:
        position = self.queue.position(call)
        return {
            "call_id": call.call_id,
            "position": position,
            "estimated_wait_s": self._wait_estimator()(position) if position else None,
            "agents_online": self._staffed(),
        }

    def queue_view(self) -> Payload:
        """The waiting calls, as agents and supervisors see them (the longest-waiting first)."""
        now = time.time()
        waiting = self.queue.waiting()
        return {
            "calls": [c.to_queue_entry(now) for c in waiting[:QUEUE_VIEW_LIMIT]],
            "waiting": len(waiting),
            # Re-queued calls come first, so the longest wait is not always the first's.
            "longest_wait_s": round(now - min(c.queued_at or now for c in waiting), 1)
            if waiting
            else 0,
        }

    def _dequeue(self, call: Call) -> None:
        self.queue.remove(call)
        if call.queued_from is not None:
            self._queued_from.release(call.queued_from)
            call.queued_from = None

    async def _queue_changed(self) -> None:
        """Agents and waiting customers hear of it: at once, or with the next round of news."""
        self._floor_changed()
        if self._queue_news_due:
            return  # a round is already due; it will say this too
        wait = self._queue_news_at + QUEUE_NEWS_INTERVAL_S - time.monotonic()
        if wait <= 0:
            await self._send_queue_news()
        else:
            self._queue_news_due = True
            self._tasks.call_later("queue_news", wait, self._send_queue_news)

    async def _send_queue_news(self) -> None:
        """One round: the queue to agents, and each waiting customer whose place changed."""
        self._queue_news_due = False
        self._queue_news_at = time.monotonic()
        await self.notifier.to_agents(ServerEvent.QUEUE_UPDATED, self.queue_view())
        estimate, online = self._wait_estimator(), self._staffed()
        told: dict[str, tuple[object, ...]] = {}
        for position, call in enumerate(self.queue.waiting(), 1):
            wait_s = estimate(position)
            told[call.call_id] = news = (position, wait_s, online)
            if self._queue_told.get(call.call_id) == news:
                continue
            await self.notifier.to_participant(
                call.call_id,
                call.customer.participant_id,
                ServerEvent.QUEUE_POSITION,
                {
                    "call_id": call.call_id,
                    "position": position,
                    "estimated_wait_s": wait_s,
                    "agents_online": online,
                },
            )
        self._queue_told = told

    async def _dispatch(self) -> None:
        """Offer waiting calls to idle agents, when calls are offered automatically."""
        if not self.config.auto_offer:
            return
        while (match := self._next_match()) is not None:
            call, agent = match
            with call_context(call.call_id):
                call.set_state(CallState.OFFERED)
                call.offered_to = agent.subject
                rung = await self._put_agent(agent.subject, _ring(call.call_id, time.time()))
                if rung is None or call.offered_to != agent.subject:
                    await self._not_rung(call, agent.subject, rung)
                    continue
                timeout = self.config.offer_timeout_s
                self._tasks.call_later(
                    f"offer:{call.call_id}", timeout, self._offer_timeout(call.call_id)
                )
                await self.notifier.to_agent(
                    agent.subject,
                    ServerEvent.CALL_OFFERED,
                    {"call": call.to_queue_entry(time.time()), "timeout_s": timeout},
                )
                await self._agent_changed(agent.subject)
        await self._queue_changed()

    def _next_match(self) -> tuple[Call, AgentValue] | None:
        online = self.presence.online_agents()
        return routing.next_match(self.queue.waiting(), list(self.agents.values()), online)

    async def _not_rung(self, call: Call, subject: str, rung: AgentValue | None) -> None:
        """The agent this node picked was no longer free (its view was behind the registry),
        or the call changed while they were being rung: undo what was done, look again."""
        if call.state is CallState.OFFERED and call.offered_to == subject:
            call.offered_to = None
            call.set_state(CallState.QUEUED)
        if rung is not None:  # rung for a call that has moved on: free again
            await self._put_agent(subject, _unring(call.call_id, time.time()))
        fresh = await self.registry.agent(subject)
        if fresh is None:
            self.agents.pop(subject, None)
        else:
            self.agents[subject] = fresh

    def _offer_timeout(self, call_id: str) -> Callable[[], Coroutine[Any, Any, None]]:
        return lambda: self._withdraw_offer(call_id, reason="timeout")

    async def _withdraw_offer(
        self, call_id: str, *, reason: str, agent_state: AgentState = AgentState.AWAY
    ) -> None:
        """Put an offered call back in its place in the queue.

        An agent who let the offer time out is set away, so the next call
        does not ring a desk nobody sits at.
        """
        call = self.calls.get(call_id)
        if call is None or call.state is not CallState.OFFERED:
            return
        self._tasks.cancel_timer(f"offer:{call_id}")
        subject = call.offered_to
        call.offered_to = None
        with call_context(call_id):
            call.set_state(CallState.QUEUED)
        now = time.time()

        def back(agent: AgentValue) -> AgentValue | None:
            if agent.call_id != call_id:
                return None
            return agent.moved_to(agent_state if reason != "taken_other" else agent.state, now)

        if subject is not None and await self._put_agent(subject, back) is not None:
            await self.notifier.to_agent(
                subject, ServerEvent.CALL_OFFER_WITHDRAWN, {"call_id": call_id, "reason": reason}
            )
            await self._agent_changed(subject)
        await self._dispatch()
        await self._queue_changed()

    async def _customer_gone(self, call_id: str) -> None:
        call = self.calls.get(call_id)
        if call is None or call.customer.connected or call.state is CallState.ENDED:
            return
        if call.state is CallState.CREATED:
            return  # the link is still valid until the sweep expires it
        reason = EndReason.DISCONNECTED if call.state is CallState.ACTIVE else EndReason.ABANDONED
        await self._end_call(call, reason, by=call.customer.participant_id)

    async def _agent_gone(self, subject: str) -> None:
        agent = await self.registry.agent(subject)
        if agent is None or self.presence.agent_online(subject):
            return
        call = self.calls.get(agent.call_id or "")
        if agent.state is AgentState.RINGING and call is not None:
            await self._withdraw_offer(call.call_id, reason="agent_disconnected")
        elif agent.state is AgentState.ON_CALL and call is not None and call.agent is not None:
            if call.state is CallState.ACTIVE and not self.draining:
                # The customer is still there (had their own grace run out, the call
                # would have ended): the call goes back to the queue, first in line.
                left = await requeue_call(self, call)
                self._tasks.spawn(
                    self.transcription.speaker_left(call.call_id, left),
                    f"transcription:{call.call_id}:{left}",
                )
                lost, now = call.call_id, time.time()
                await self._put_agent(
                    subject,
                    lambda held: replace(held.moved_to(AgentState.AWAY, now), lost_call=lost),
                )
                await self._agent_changed(subject)
                await self._dispatch()
                await self._queue_changed()
                return
            await self._end_call(call, EndReason.DISCONNECTED, by=call.agent.participant_id)
        await self._move_agent(subject, AgentState.AWAY)
        await self._queue_changed()

    async def _end_call(self, call: Call, reason: EndReason, by: str | None = None) -> None:
        with call_context(call.call_id):
            was_active = call.state is CallState.ACTIVE
            was_offered_to = call.offered_to
            call.end_reason = reason
            call.ended_by = by
            call.set_state(CallState.ENDED)
            self.journal.record(call, "ended")
            self._dequeue(call)
            self._tasks.cancel_timer(f"offer:{call.call_id}")
            for participant in call.participants:
                self._tasks.cancel_timer(f"grace:{call.call_id}:{participant.participant_id}")
            media = self._media.get(call.call_id)
            call.quality = media.stop_sampling() if media is not None else None
            # Supervisors leave first (the room still there): their sessions' ends are
            # audited and on the timeline.
            await self.monitoring.call_ended(call)
            await self.watches.call_ended(call.call_id)
            self._media.pop(call.call_id, None)
            if media is not None:
                # The last words are recognised after the hang-up; the recording waits.
                await media.close(call, reason.value)
            if was_active and call.answered_at is not None:
                self.queue.record_handle_time(time.time() - call.answered_at)
            for subject in filter(
                None, [call.agent.subject if call.agent else None, was_offered_to]
            ):
                free = (
                    AgentState.AVAILABLE if self.presence.agent_online(subject) else AgentState.AWAY
                )
                try:
                    freed = await self._put_agent(subject, _freed(call.call_id, free, time.time()))
                except RegistryError as exc:
                    # The call still ends, everyone is told and the recording finishes; the
                    # agent's record is set right when they next sign in (_sign_in).
                    self.outage.refusal(exc, f"freeing agent {subject} from an ended call")
                    continue
                if freed is not None:
                    await self._agent_changed(subject)
            logger.info("Call(%s) ended: %s", call.call_id, reason.value)
            await self.notifier.to_call(
                call.call_id, ServerEvent.CALL_ENDED, ended_payload(call.to_value())
            )
        self._floor_changed()
        if reason is not EndReason.SHUTDOWN:
            await self._queue_changed()
            await self._dispatch()

    async def _sweep(self) -> None:
        """Forget long-ended calls and expire join links that were never used."""
        now = time.time()
        for call in list(self.calls.values()):
            if (
                call.state is CallState.ENDED
                and now - (call.ended_at or now) > self.config.ended_call_retention_s
            ):
                del self.calls[call.call_id]
                self.presence.forget_party(call.customer.participant_id)
            elif (
                call.state is CallState.CREATED
                and now - call.created_at > self.config.customer_token_ttl_s
            ):
                await self._end_call(call, EndReason.EXPIRED)
        if self.journal.lines_since_rewrite > JOURNAL_REWRITE_LINES:
            self.journal.rewrite(list(self.calls.values()))
        self._tasks.call_later("sweep", self._sweep_every, self._sweep)


class _Unwired:
    """The notifier until the app wires the hub in: news with nowhere to go is a bug."""

    async def _fail(self, *args: object) -> None:
        raise RuntimeError("Switchboard.notifier was never set")

    to_call = to_participant = to_agents = to_agent = to_watchers = to_staff = to_socket = _fail

    def staff_online(self) -> bool:
        return False


def _participant_id() -> str:
    return "p_" + secrets.token_hex(5)


def _ring(call_id: str, now: float) -> Callable[[AgentValue], AgentValue | None]:
    """An available agent starts ringing for ``call_id`` (None: they are not available)."""

    def ring(agent: AgentValue) -> AgentValue | None:
        if agent.state is not AgentState.AVAILABLE:
            return None
        return agent.moved_to(AgentState.RINGING, now, call_id)

    return ring


def _unring(call_id: str, now: float) -> Callable[[AgentValue], AgentValue | None]:
    """An agent ringing for ``call_id`` is available again."""

    def unring(agent: AgentValue) -> AgentValue | None:
        if agent.state is not AgentState.RINGING or agent.call_id != call_id:
            return None
        return agent.moved_to(AgentState.AVAILABLE, now)

    return unring


def _freed(
    call_id: str, state: AgentState, now: float
) -> Callable[[AgentValue], AgentValue | None]:
    """The agent of (or ringing for) ``call_id``, which ended, is ``state`` again."""

    def free(agent: AgentValue) -> AgentValue | None:
        return agent.moved_to(state, now) if agent.call_id == call_id else None

    return free
