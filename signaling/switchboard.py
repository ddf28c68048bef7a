"""Call lifecycle: customers wait, agents take calls, both talk, someone hangs up.

The switchboard is the domain layer between the socket.io hub and the media
rooms. It knows nothing of sockets: it tells a :class:`Notifier` what happened
and to whom, and the hub turns that into socket.io messages.

Calls, agents and the queue are the registry's values: every change is a change of
:mod:`callcenter.lifecycle`, :mod:`callcenter.in_call` or :mod:`callcenter.agents` run by
:meth:`Switchboard.commit`, and what it wrote becomes this node's view (``calls``,
``agents``, ``queue``), which the hub, the floor and ``/metrics`` read by id. What is only
this node's stays here: timers, sockets (``presence``) and each call's media.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, TypeVar

from aiortc import RTCConfiguration

from callcenter import agents as agent_changes
from callcenter import in_call, lifecycle, routing
from callcenter.lifecycle import Change, Refused
from callcenter.memory_registry import MemoryRegistry
from callcenter.registry import CallRegistry, Draft, RegistryError
from callcenter.states import AgentState, CallState, EndReason
from callcenter.values import (
    AgentValue,
    CallValue,
    ParticipantValue,
    new_call_id,
    new_participant_id,
)
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
from .payloads import (
    agent_payload,
    call_payload,
    ended_payload,
    offer_payload,
    participant_payload,
    queue_entry_payload,
)
from .quality_monitor import QualityMonitor
from .recordings import CallRecordings
from .requeue import requeue_call, taken_again
from .tasks import TaskSet
from .transcription import Transcription
from .watching import Watches

logger = logging.getLogger(__name__)

T = TypeVar("T")

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
        self.node_id = config.node_id or f"{socket.gethostname()}:{os.getpid()}"
        # The call centre's state, shared by every node: calls, agents and the queue.
        self.registry: CallRegistry = registry or MemoryRegistry(
            ended_retention_s=config.ended_call_retention_s
        )
        # What this node last read or wrote of each call and agent (the hub, the floor and
        # /metrics read them by id; a change always reads the registry afresh).
        self.calls: dict[str, CallValue] = {}
        self.agents: dict[str, AgentValue] = {}
        self.queue = AgentQueue(
            default_handle_time_s=config.default_handle_time_s, max_waiting=config.max_queue
        )
        # Sockets open on this node.
        self.presence = Presence()
        # Refusals while the registry cannot be reached, and the operators told.
        self.outage = RegistryOutage()
        # What moves each call's media: the router; a benchmark passes its baseline.
        self._plane_factory = plane_factory
        self.notifier: Notifier = notifier if notifier is not None else _Unwired()
        self._configuration_factory = configuration_factory
        self._media: dict[str, CallMedia] = {}
        # Quality summaries of the calls this node carried, once ended (GET .../quality).
        self.summaries: dict[str, dict[str, Any]] = {}
        # The address each waiting call was queued from (one address's share of the queue).
        self._queued_from: dict[str, str] = {}
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
            commit=self.commit,
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
        self._address_share = Tally(config.max_queued_per_address)
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
        now = time.time()
        for journaled in await self.journal.restore():
            call = await self.commit(lifecycle.restore(journaled, now))
            if call.end_reason is EndReason.INTERRUPTED and call.agent is not None:
                self._interrupted.setdefault(call.agent.subject, []).append(call.call_id)
        await self._read_queue()

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
        return [ended_payload(call) for call in ended]

    async def drain(self) -> None:
        """Stop taking calls and end the live ones, telling their parties (SIGTERM)."""
        if not self.draining:
            logger.info(
                "draining: new calls are refused, %d live calls end", len(self.live_calls())
            )
        self.draining = True
        for call in self.live_calls():
            await self._end_call(call.call_id, EndReason.SHUTDOWN)

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

    # -- the registry ------------------------------------------------------

    async def commit(self, change: Change[T]) -> T:
        """Run a change of the registry; what it wrote becomes this node's view of those
        calls, agents and the queue. The change's refusal (:class:`Refused`) reaches the
        caller, as does a registry out of reach (:class:`RegistryError`)."""

        def apply(draft: Draft) -> tuple[T, dict[str, CallValue], dict[str, AgentValue], bool]:
            result = change.apply(draft)
            return result, dict(draft.call_writes), dict(draft.agent_writes), draft.writes_queue

        result, calls, agents, queue = await self.registry.change(
            apply, calls=change.calls, agents=change.agents, queue=change.queue
        )
        self.calls.update(calls)
        self.agents.update(agents)
        if queue:
            await self._read_queue()
        return result

    async def _read_queue(self) -> None:
        """The queue as the registry has it, with the waiting calls this node did not know."""
        entries = await self.registry.queue()
        for entry in entries:
            if entry.call_id not in self.calls:
                call = await self.registry.call(entry.call_id)
                if call is not None:
                    self.calls[call.call_id] = call
        self.queue.read(e for e in entries if e.call_id in self.calls)

    async def _fresh(self, call_id: str) -> CallValue | None:
        """The call as the registry has it now (this node's view is brought up to date)."""
        call = await self.registry.call(call_id)
        if call is not None:
            self.calls[call_id] = call
        return call

    async def _in_call(self, change: Change[CallValue]) -> CallValue:
        """A change inside a call; its refusal is a :class:`CallStateError` (in its words)."""
        try:
            return await self.commit(change)
        except Refused as refused:
            if refused.code == "not_found":
                raise NotFoundError(str(refused)) from None
            if refused.code == "forbidden":
                raise ForbiddenError(str(refused)) from None
            raise CallStateError(str(refused)) from None

    # -- calls -----------------------------------------------------------

    async def create_call(
        self,
        *,
        customer_subject: str,
        customer_name: str,
        language: str,
        media: str,
        metadata: dict[str, str] | None = None,
    ) -> CallValue:
        self._refuse_if_draining()
        self.require_language(language)
        customer = ParticipantValue(
            participant_id=new_participant_id(),
            role=Role.CUSTOMER.value,
            subject=customer_subject,
            name=customer_name or DEFAULT_CUSTOMER_NAME,
            connected=False,
            video_enabled=media == "video",
        )
        call = await self.commit(
            lifecycle.create(
                CallValue(
                    call_id=new_call_id(),
                    customer=customer,
                    language=language,
                    media=media,
                    created_at=time.time(),
                    metadata=dict(metadata or {}),
                )
            )
        )
        self.journal.record(call, "created")
        with call_context(call.call_id):
            logger.info("Call(%s) created for customer %s", call.call_id, customer_subject)
        return call

    def visible_call(self, identity: Identity, call_id: str) -> CallValue:
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

    def live_calls(self) -> list[CallValue]:
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
            if not customer.connected and call.state is not CallState.ENDED:
                await self._party_changed(call.call_id, customer.participant_id, connected=True)
        else:
            agent = await self._sign_in(identity)
            self._tasks.cancel_timer(f"grace:agent:{identity.subject}")
            self.presence.agent_connected(identity.subject)
            current = self.calls.get(agent.call_id or "")
            if (
                current is not None
                and current.state is not CallState.ENDED
                and current.agent is not None
                and current.agent.subject == identity.subject
                and not current.agent.connected
            ):
                await self._party_changed(
                    current.call_id, current.agent.participant_id, connected=True
                )
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
                self._left(call, customer)
                await self._party_changed(call.call_id, customer.participant_id, connected=False)
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
        if (
            call is not None
            and call.state is not CallState.ENDED
            and call.agent is not None
            and call.agent.subject == agent.subject
        ):
            self._left(call, call.agent)
            await self._party_changed(call.call_id, call.agent.participant_id, connected=False)
        self._tasks.call_later(f"grace:agent:{subject}", grace, lambda: self._agent_gone(subject))

    async def report_quality(
        self, identity: Identity, call_id: str, report: dict[str, Any]
    ) -> None:
        """A page's own view of its media; shown beside the server's figures."""
        call, participant = self._participant_of(identity, call_id)
        if call.call_id not in self._media:
            raise CallStateError("quality reports are for calls in progress")
        self.quality.report(call_id, participant.participant_id, participant.role, report)

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
        call = self.calls[call_id]
        transcript = self.transcription.transcript(call_id)
        quality = self.quality.quality(call_id)
        return {
            "call": call_payload(call),
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

    def _left(self, call: CallValue, participant: ParticipantValue) -> None:
        """A party's connection dropped mid-call: the recording's timeline shows it."""
        if call.state is CallState.ACTIVE:
            self.recordings.event(
                call.call_id,
                EntryType.PARTICIPANT_LEFT,
                participant_id=participant.participant_id,
                role=participant.role,
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
                "calls": [call_payload(c) for c in self.live_calls()],
                "floor": self.floor.view(),
            }
        if identity.role is Role.CUSTOMER:
            call = self.visible_call(identity, identity.call_id or "")
            state: Payload = {
                "server_time": time.time(),
                "role": identity.role.value,
                "name": identity.name,
                "participant_id": call.customer.participant_id,
                "call": call_payload(call),
            }
            if call.state in (CallState.QUEUED, CallState.OFFERED):
                state["queue"] = self._position_payload(call.call_id)
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
            "call": call_payload(current) if current is not None else None,
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
        call_id = call.call_id
        with call_context(call_id):
            if call.state is CallState.ENDED:
                raise CallStateError("this call has ended; start a new one")
            if call.state is CallState.CREATED:
                self._refuse_if_draining()
                self.require_language(language)
                if self.queue.is_full:
                    raise QueueFullError("too many customers are waiting; please try again soon")
                address = source or "unknown"
                if not self._address_share.acquire(address):
                    raise QueueShareError(
                        "too many calls from your address are already waiting; "
                        "please wait for one of them to be answered"
                    )
                # A name given by the shop is kept; the customer's own replaces the default.
                given = name if name and call.customer.name == DEFAULT_CUSTOMER_NAME else None
                change = lifecycle.request(
                    call_id,
                    time.time(),
                    media=media,
                    language=language,
                    name=given,
                    queued_from=address,
                )
                try:
                    await self._in_call(change)
                except BaseException:
                    self._address_share.release(address)
                    raise
                self._queued_from[call_id] = address
                await self._queue_changed()
                await self._dispatch()
            return await self.state_for(identity)

    async def cancel_call(self, identity: Identity) -> None:
        identity.require(Role.CUSTOMER)
        call = self.visible_call(identity, identity.call_id or "")
        if call.state is CallState.ACTIVE:
            raise CallStateError("the call is connected; hang up instead")
        if call.state is not CallState.ENDED:
            await self._end_call(call.call_id, EndReason.CANCELLED, by=call.customer.participant_id)

    # -- agent -----------------------------------------------------------

    async def set_availability(self, identity: Identity, status: str) -> Payload:
        identity.require(Role.AGENT)
        await self._sign_in(identity)
        wanted = agent_changes.set_availability(
            identity.subject, status == "available", time.time()
        )
        try:  # answering also the notice of a call they lost: told, and decided
            agent = await self.commit(wanted)
        except Refused as refused:
            raise CallStateError(str(refused)) from None
        await self._agent_changed(agent.subject)
        await self._queue_changed()
        await self._dispatch()
        return self.agent_payload(self.agents[agent.subject])

    async def accept_call(self, identity: Identity, call_id: str | None) -> CallValue:
        identity.require(Role.AGENT)
        agent = await self._sign_in(identity)
        if agent.state is AgentState.ON_CALL:
            raise CallStateError("you are already on a call; hang up first")
        if agent.state is AgentState.AWAY:
            # Away is not taking calls: the waiting customers are told no agent is, so an
            # Away agent taking one would make that untrue.
            raise CallStateError("you are Away: set yourself Available to take calls")
        if call_id is None:
            ringing = agent.call_id if agent.state is AgentState.RINGING else None
            call_id = ringing or self._queue_head()
            if call_id is None:
                raise NotFoundError("no customer is waiting")
        call = await self._fresh(call_id)
        if call is None:
            raise NotFoundError(f"no call {call_id}")
        with call_context(call_id):
            if call.state is CallState.OFFERED and call.offered_to != agent.subject:
                raise CallStateError("this call is being offered to another agent")
            if call.state not in (CallState.QUEUED, CallState.OFFERED):
                raise CallStateError(f"the call is {call.state.value}, not waiting")
            self._tasks.cancel_timer(f"offer:{call_id}")
            if agent.state is AgentState.RINGING and agent.call_id != call_id:
                # Took another call than the one ringing: give that one back.
                await self._withdraw_offer(agent.call_id or "", reason="taken_other")
            taken = await self._in_call(
                lifecycle.accept(
                    call_id,
                    agent.subject,
                    new_participant_id(),
                    self.node_id,
                    time.time(),
                    connected=self.presence.agent_online(agent.subject),
                )
            )
            self._release_address(call_id)
            self.journal.record(taken, "answered")
            if call_id in self._media:
                # Back from the queue (its agent was lost): this agent joins the same
                # room, recording, quality timeline and transcript.
                taken_again(self, taken)
            else:
                media = self._media[call_id] = CallMedia(
                    taken,
                    self._new_room(call_id),
                    known=self.calls.get,
                    recordings=self.recordings,
                    quality=self.quality,
                    transcription=self.transcription,
                    tasks=self._tasks,
                )
                if media.recording_state != taken.recording_state:
                    taken = await self._recording_is(call_id, media.recording_state) or taken
            await self.notifier.to_call(
                call_id, ServerEvent.CALL_UPDATED, {"call": call_payload(taken)}
            )
            await self._agent_changed(agent.subject)
            await self._queue_changed()
            return taken

    async def decline_call(self, identity: Identity, call_id: str) -> None:
        identity.require(Role.AGENT)
        self._tasks.cancel_timer(f"offer:{call_id}")
        try:
            await self.commit(lifecycle.decline(call_id, identity.subject, time.time()))
        except Refused:
            raise CallStateError("that call is not being offered to you") from None
        await self._offer_withdrawn(call_id, identity.subject, "declined")

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
        pid = participant.participant_id
        self._take_join(pid)
        sources = [SourceKind.MICROPHONE]
        if call.media == "video":
            sources.append(SourceKind.CAMERA)
        with call_context(call_id):
            # The registry first: the peer's offer, which follows the join at once, must not
            # reach the page before the answer to its join_call does.
            if call.state is CallState.ACTIVE:
                call = await self._in_call(lifecycle.join(call_id, pid, "new"))
            else:  # waiting again for an agent, with media kept
                call = await self._in_call(in_call.update_party(call_id, pid, media_state="new"))
            peer = await room.join(pid, sources)
            self.recordings.event(
                call_id,
                EntryType.PARTICIPANT_REJOINED
                if participant.media_joins
                else EntryType.PARTICIPANT_JOINED,
                participant_id=pid,
                role=participant.role,
                name=participant.name,
            )
        await self._participant_changed(call, pid)
        joined: Payload = {
            "participant_id": pid,
            "peer_id": peer.peer_id,
            "ice_servers": ice_servers_for(self.config, identity.subject),
            "call": call_payload(call),
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
        await self._party_changed(call_id, participant.participant_id, screen_sharing=True)
        return {"renegotiating": renegotiating}

    async def stop_screen_share(self, identity: Identity, call_id: str) -> None:
        _, participant = self._participant_of(identity, call_id)
        if participant.screen_sharing:
            await self._party_changed(call_id, participant.participant_id, screen_sharing=False)

    async def set_track_state(
        self, identity: Identity, call_id: str, kind: str, enabled: bool
    ) -> None:
        call, participant = self._participant_of(identity, call_id)
        if kind == "audio":
            await self._party_changed(call_id, participant.participant_id, audio_enabled=enabled)
            return
        if call.media != "video" and enabled:
            raise CallStateError("this is a voice call; it has no camera")
        await self._party_changed(call_id, participant.participant_id, video_enabled=enabled)

    async def tag_call(self, identity: Identity, call_id: str, tags: list[str]) -> list[str]:
        """The agent tags the call; the tags go with its recording (customers never see them)."""
        identity.require(Role.AGENT)
        call, participant = self._participant_of(identity, call_id)
        if call.state is not CallState.ACTIVE:
            raise CallStateError(f"the call is {call.state.value}; tag it while it is live")
        tagged = await self._in_call(in_call.tag(call_id, tags))
        self.recordings.event(
            call_id, EntryType.CALL_TAGGED, tags=tags, by=participant.participant_id
        )
        return list(tagged.tags)

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
            by = participant.participant_id
            if paused:
                state = self.recordings.pause(call_id, by=by)
            else:
                state = self.recordings.resume(call_id, by=by)
            self.transcription.pause(call_id, paused)
            call = await self._recording_is(call_id, state) or call
        await self.notifier.to_call(call_id, ServerEvent.CALL_UPDATED, {"call": call_payload(call)})
        return {"recording": call.recording_state}

    async def hang_up(self, identity: Identity, call_id: str) -> None:
        call, participant = self._participant_of(identity, call_id)
        if call.state is not CallState.ENDED:
            await self._end_call(call_id, EndReason.HUNG_UP, by=participant.participant_id)

    # -- internals -------------------------------------------------------

    def _participant_of(
        self, identity: Identity, call_id: str
    ) -> tuple[CallValue, ParticipantValue]:
        identity.require(Role.CUSTOMER, Role.AGENT)
        call = self.visible_call(identity, call_id)
        if identity.role is Role.CUSTOMER:
            return call, call.customer
        if call.agent is None or call.agent.subject != identity.subject:
            raise ForbiddenError("you are not the agent of this call")
        return call, call.agent

    def _media_member(self, seat: Seat, call_id: str) -> tuple[CallValue, str]:
        """Whose peer a media message is for: the party's, or this socket's monitoring session."""
        if seat.identity.role is Role.SUPERVISOR:
            call, monitor = self.monitoring.session(seat, call_id)
            return call, monitor.participant_id
        call, participant = self._participant_of(seat.identity, call_id)
        return call, participant.participant_id

    def _live_room(self, call: CallValue) -> Room:
        room = self.room_of(call.call_id)
        if room is None:
            raise CallStateError(f"the call is {call.state.value}; it has no media")
        return room

    def _new_room(self, call_id: str) -> Room:
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
        try:
            if in_call.monitor_of(call, participant_id) is not None:
                call = await self.commit(
                    in_call.update_monitor(
                        call_id, participant_id, media_state=state.value, now=time.time()
                    )
                )
                monitor = in_call.monitor_of(call, participant_id)
                if monitor is not None:
                    await self.monitoring.media_changed(call, monitor)
                again = "monitor_call again"
            elif in_call.party_of(call, participant_id) in call.participants:
                await self._party_changed(call_id, participant_id, media_state=state.value)
                again = "join_call again"
            else:
                return
        except (Refused, CallStateError, NotFoundError):
            return  # the call ended, or the session did, meanwhile
        except RegistryError as exc:  # the media goes on; who sees it hears later
            self.outage.refusal(exc, f"telling call {call_id} of a peer's state")
            return
        if state is PeerState.FAILED:
            await self.notifier.to_participant(
                call_id,
                participant_id,
                ServerEvent.MEDIA_FAILED,
                {"call_id": call_id, "reason": f"the media connection failed; {again}"},
            )

    async def _party_changed(self, call_id: str, participant_id: str, **fields: Any) -> None:
        """A party's presence or media changed: the registry, then whoever sees them."""
        call = await self._in_call(in_call.update_party(call_id, participant_id, **fields))
        await self._participant_changed(call, participant_id)

    async def _participant_changed(self, call: CallValue, participant_id: str) -> None:
        self._floor_changed()
        party = in_call.party_of(call, participant_id)
        if call.state is CallState.ENDED or party is None:
            return
        await self.notifier.to_call(
            call.call_id,
            ServerEvent.PARTICIPANT_UPDATED,
            {"call_id": call.call_id, "participant": participant_payload(party)},
        )

    async def _recording_is(self, call_id: str, state: str) -> CallValue | None:
        """The call's recording is ``state``: the registry says so (None: it could not be
        told; the recording goes on as it is)."""
        try:
            return await self.commit(in_call.set_recording(call_id, state))
        except (Refused, RegistryError) as exc:
            logger.warning(
                "Call(%s) recording %s, not told to the registry: %s", call_id, state, exc
            )
            return None

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

        A record that says they ring for, or are on, a call that is over was left by a run
        that stopped (the registry outlives a node): they are Away.
        """
        agent = await self.commit(
            agent_changes.sign_in(identity.subject, identity.name, time.time())
        )
        if agent.call_id is None:
            return agent
        held = self.calls.get(agent.call_id) or await self._fresh(agent.call_id)
        if held is None or held.state is CallState.ENDED:
            stale, now = agent.call_id, time.time()
            logger.info("agent %s held call %s, which is over: Away", agent.subject, stale)
            freed = await self._put_agent(agent.subject, _freed(stale, AgentState.AWAY, now))
            return freed or agent
        return agent

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

        return await self.commit(Change(apply, agents=(subject,)))

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

    # -- the queue -------------------------------------------------------

    def waiting(self) -> list[CallValue]:
        """The waiting calls, head first (this node's view of the registry's queue)."""
        return [self.calls[call_id] for call_id in self.queue.ids() if call_id in self.calls]

    def _queue_head(self) -> str | None:
        """The first call waiting and not ringing for anyone."""
        return next((c.call_id for c in self.waiting() if c.state is CallState.QUEUED), None)

    def _position_payload(self, call_id: str) -> Payload:
        position = self.queue.position(call_id)
        return {
            "call_id": call_id,
            "position": position,
            "estimated_wait_s": self._wait_estimator()(position) if position else None,
            "agents_online": self._staffed(),
        }

    def queue_view(self) -> Payload:
        """The waiting calls, as agents and supervisors see them (the longest-waiting first)."""
        now = time.time()
        waiting = self.waiting()
        return {
            "calls": [queue_entry_payload(c, now) for c in waiting[:QUEUE_VIEW_LIMIT]],
            "waiting": len(waiting),
            # Re-queued calls come first, so the longest wait is not always the first's.
            "longest_wait_s": round(now - min(c.queued_at or now for c in waiting), 1)
            if waiting
            else 0,
        }

    def _release_address(self, call_id: str) -> None:
        """The call no longer waits: its address may queue another."""
        address = self._queued_from.pop(call_id, None)
        if address is not None:
            self._address_share.release(address)

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
        for position, call in enumerate(self.waiting(), 1):
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
        # Each refusal brings this node's view up to date, so the same pair is not picked
        # again; the bound only guards against a registry that keeps changing under it.
        for _ in range(2 * len(self.queue) + len(self.agents) + 1):
            match = routing.next_match(
                self.waiting(), list(self.agents.values()), self.presence.online_agents()
            )
            if match is None:
                break
            call, agent = match
            call_id = call.call_id
            with call_context(call_id):
                try:
                    offered = await self.commit(
                        lifecycle.offer(call_id, agent.subject, time.time())
                    )
                except Refused:
                    # This node's view was behind the registry: read both afresh, look again.
                    await self._fresh(call_id)
                    fresh = await self.registry.agent(agent.subject)
                    if fresh is None:
                        self.agents.pop(agent.subject, None)
                    else:
                        self.agents[agent.subject] = fresh
                    await self._read_queue()
                    continue
                timeout = self.config.offer_timeout_s
                self._tasks.call_later(f"offer:{call_id}", timeout, self._offer_timeout(call_id))
                await self.notifier.to_agent(
                    agent.subject,
                    ServerEvent.CALL_OFFERED,
                    {"call": queue_entry_payload(offered, time.time()), "timeout_s": timeout},
                )
                await self._agent_changed(agent.subject)
        await self._queue_changed()

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
        if call is None or call.state is not CallState.OFFERED or call.offered_to is None:
            return
        self._tasks.cancel_timer(f"offer:{call_id}")
        subject = call.offered_to
        state = None if reason == "taken_other" else agent_state
        try:
            await self.commit(lifecycle.withdraw(call_id, subject, time.time(), state))
        except Refused:
            return  # taken, or ended, meanwhile
        await self._offer_withdrawn(call_id, subject, reason)

    async def _offer_withdrawn(self, call_id: str, subject: str, reason: str) -> None:
        """The agent hears the call no longer rings for them; it goes to the next."""
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
        await self._end_call(call_id, reason, by=call.customer.participant_id)

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
                await self._agent_changed(subject)
                await self._dispatch()
                await self._queue_changed()
                return
            await self._end_call(call.call_id, EndReason.DISCONNECTED, by=call.agent.participant_id)
        await self._move_agent(subject, AgentState.AWAY)
        await self._queue_changed()

    async def _end_call(self, call_id: str, reason: EndReason, by: str | None = None) -> None:
        call = self.calls.get(call_id)
        if call is None or call.state is CallState.ENDED:
            return
        with call_context(call_id):
            was_active = call.state is CallState.ACTIVE
            self._release_address(call_id)
            self._tasks.cancel_timer(f"offer:{call_id}")
            for participant in call.participants:
                self._tasks.cancel_timer(f"grace:{call_id}:{participant.participant_id}")
            subject = call.agent.subject if call.agent is not None else call.offered_to
            free = AgentState.AWAY
            if subject is not None and self.presence.agent_online(subject):
                free = AgentState.AVAILABLE
            now = time.time()
            try:
                call = await self.commit(
                    lifecycle.end(call_id, reason, by, now, subject, agent_state=free)
                )
            except RegistryError as exc:
                # The call still ends here, everyone is told and the recording finishes; the
                # agent's record is set right when they next sign in (_sign_in).
                self.outage.refusal(exc, f"ending call {call_id}")
                call = replace(call.moved_to(CallState.ENDED, now), end_reason=reason, ended_by=by)
                self.calls[call_id] = call
            self.journal.record(call, "ended")
            media = self._media.get(call_id)
            if media is not None:
                summary = media.stop_sampling()
                if summary is not None:
                    self.summaries[call_id] = summary
            # Supervisors leave first (the room still there): their sessions' ends are
            # audited and on the timeline.
            await self.monitoring.call_ended(call_id)
            await self.watches.call_ended(call_id)
            self._media.pop(call_id, None)
            # The last words are recognised after the hang-up; the recording waits.
            if media is not None and await media.close(reason.value, call.ended_by):
                await self._recording_is(call_id, "stopped")
            if was_active and call.answered_at is not None:
                self.queue.record_handle_time(time.time() - call.answered_at)
            if subject is not None:
                await self._agent_changed(subject)
            logger.info("Call(%s) ended: %s", call_id, reason.value)
            await self.notifier.to_call(
                call_id, ServerEvent.CALL_ENDED, ended_payload(self.calls.get(call_id, call))
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
                self.summaries.pop(call.call_id, None)
                self.presence.forget_party(call.customer.participant_id)
            elif (
                call.state is CallState.CREATED
                and now - call.created_at > self.config.customer_token_ttl_s
            ):
                await self._end_call(call.call_id, EndReason.EXPIRED)
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


def _freed(
    call_id: str, state: AgentState, now: float
) -> Callable[[AgentValue], AgentValue | None]:
    """The agent of (or ringing for) ``call_id``, which ended, is ``state`` again."""

    def free(agent: AgentValue) -> AgentValue | None:
        return agent.moved_to(state, now) if agent.call_id == call_id else None

    return free
