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
from collections.abc import Callable
from typing import Any, TypeVar

from aiortc import RTCConfiguration

from callcenter import access, in_call, lifecycle
from callcenter.errors import CallStateError, ForbiddenError, NotFoundError, ServerBusyError
from callcenter.identity import Identity, Role
from callcenter.lifecycle import Change, Refused
from callcenter.memory_registry import MemoryRegistry
from callcenter.registry import CallRegistry, RegistryError
from callcenter.states import CallState, EndReason
from callcenter.values import AgentValue, CallValue, ParticipantValue
from media import aiortc_compat
from media.room import MediaPlane, Room, default_configuration
from media.router import Router
from node.agent_queue import AgentQueue
from node.call_journal import CallJournal
from node.call_media import CallMedia
from node.config import Config
from node.events import ServerEvent
from node.notifier import Notifier, Payload, Unwired
from node.presence import Presence, agent_key
from node.quality_monitor import QualityMonitor
from node.recordings import CallRecordings
from node.talk_monitor import TalkMonitor
from node.tasks import TaskSet
from node.transcription import Transcription

from . import call_end
from .agent_desk import AgentDesk
from .audit import AuditLog
from .call_controls import CallControls
from .cluster import Cluster
from .connections import Connections
from .contacts import Contacts, open_contact_store, with_writes
from .customer_desk import CustomerDesk
from .dispatcher import Dispatcher
from .floor import Floor
from .heartbeat import Heartbeat
from .live_categories import LiveCategories
from .media_host import MediaHost
from .media_signaling import MediaSignaling
from .monitoring import Monitoring
from .outage import RegistryOutage
from .payloads import agent_payload, participant_payload
from .requeue import taken_again
from .shop_webhooks import ShopWebhooks
from .supervisor_desk import SupervisorDesk
from .watching import Watches

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Ended calls stay visible (GET /api/calls/{id}, a late reload) this long.
SWEEP_INTERVAL_S = 60.0

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
        self.notifier: Notifier = notifier if notifier is not None else Unwired()
        # The media of this node's calls, made with its settings.
        self.media = MediaHost(
            config, configuration_factory=configuration_factory, plane_factory=plane_factory
        )
        # Quality summaries of the calls this node carried, once ended (GET .../quality).
        self.summaries: dict[str, dict[str, Any]] = {}
        self.recordings = CallRecordings(
            config.recordings_path, enabled=config.recording_enabled, node_id=self.node_id
        )
        self.audit = AuditLog(config.audit_path)
        self.watches = Watches(self.audit)
        self.journal = CallJournal(config.journal_path, retention_s=config.ended_call_retention_s)
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
        self.talk = TalkMonitor(self.recordings, enabled=config.conversation_analytics)
        self.categories = LiveCategories.of(
            config,
            self.recordings,
            talk=self.talk,
            transcription=self.transcription,
            quality=self.quality,
        )
        # Every call's story for the floor's numbers, and the shop's backend told of it.
        self.webhooks = ShopWebhooks(config, node_id=self.node_id if config.redis_url else None)
        self.contacts = Contacts(
            open_contact_store(config),
            zone=config.zone,
            target_s=config.service_level_target_s,
            retention_s=config.contacts_retention_days * 86400.0,
            agents=lambda: self.agents,
            webhooks=self.webhooks,
        )
        self.recordings.finished.append(self.contacts.recording_finished)
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
        self.categories.listeners.append(self.floor.category_matched)
        self.dispatcher = Dispatcher(self)
        self.media_signaling = MediaSignaling(self)
        self.connections = Connections(self)
        self.agent_desk = AgentDesk(self)
        self.customer_desk = CustomerDesk(self)
        self.call_controls = CallControls(self)
        self.supervisor_desk = SupervisorDesk(self)
        self.draining = False
        """Set on SIGTERM: no new calls; the live ones are ending."""
        self.tasks = TaskSet("Switchboard")
        # This node in the call centre's directory: what it carries, beat every 2 s.
        # The other nodes of this call centre: news to them, requests for their calls.
        self.cluster = Cluster(self, config.redis_url, prefix=config.redis_prefix)
        self.heartbeat = Heartbeat(
            self.registry,
            node_id=self.node_id,
            url=config.base_url,
            capacity=config.max_calls,
            calls=self.media.count,
            draining=lambda: self.draining,
            outage=self.outage,
            on_gone=lambda gone: self.tasks.spawn(self.cluster.nodes_gone(gone), "nodes_gone"),
            present=self.presence.keys,
            on_read=self.cluster.check_presence,
        )

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        aiortc_compat.check_compatibility()
        aiortc_compat.restrict_ice_addresses(self.config.ice_addresses)
        opening = self.recordings.open(self.cluster.other_nodes, rules=self.categories.rules)
        self.tasks.spawn(opening, "open_recordings")
        self.tasks.call_later("sweep", self._sweep_every, self._sweep)
        self.tasks.spawn(self.quality.run(), "quality")
        self.tasks.spawn(self.transcription.run(), "transcription")
        self.tasks.spawn(self.transcription.preload(), "speech_models")
        self.tasks.spawn(self.talk.run(), "talk")
        self.contacts.start()
        self.tasks.spawn(self.categories.run(), "categories")
        self.tasks.spawn(self.floor.run(), "floor")
        self.tasks.spawn(self.heartbeat.run(), "heartbeat")
        self.cluster.start()

    async def restore(self) -> None:
        """Know the calls of the last run (before any socket comes in): a crash ended some."""
        await self.webhooks.start()  # what the last run had not delivered goes out again
        now = time.time()
        for left, journaled in await self.journal.restore():
            node = self.node_id if self.cluster.many else None
            call = await self.commit(lifecycle.restore(journaled, now, node), restored=left)
            if call.end_reason is EndReason.INTERRUPTED and call.agent is not None:
                interrupted = self.connections.interrupted
                interrupted.setdefault(call.agent.subject, []).append(call.call_id)
        await self.read_queue()

    async def drain(self) -> None:
        """Stop taking calls; the live ones go on at other nodes with room, or end, their
        parties told (SIGTERM)."""
        await call_end.drain(self)

    def refuse_if_draining(self) -> None:
        if self.draining:
            raise ServerBusyError("this server is shutting down; try again in a moment")

    async def close(self) -> None:
        await self.drain()
        await self.journal.close()
        await self.recordings.close()
        await self.transcription.close()
        await self.contacts.stop()
        await self.tasks.close()
        await self.contacts.store.close()
        await self.webhooks.close()
        await self.talk.close()
        await self.cluster.close()
        await self.heartbeat.withdraw()
        self.audit.close()

    # -- the registry ------------------------------------------------------

    async def commit(self, change: Change[T], *, restored: CallValue | None = None) -> T:
        """Run a change of the registry; what it wrote becomes this node's view of those
        calls, agents and the queue. The change's refusal (:class:`Refused`) reaches the
        caller, as does a registry out of reach (:class:`RegistryError`). ``restored``: the
        call as the last run left it (its moments are counted from it where the registry
        no longer knows the call: a call ended by the restart is told as ended, once)."""
        result, written, queue = await self.registry.change(
            with_writes(change), calls=change.calls, agents=change.agents, queue=change.queue
        )
        calls, agents = written.calls, written.agents
        self.calls.update(calls)
        self.agents.update(agents)
        read = dict(written.calls_read)
        if restored is not None and read.get(restored.call_id) is None:
            read[restored.call_id] = restored
        self.contacts.observe(read, calls, written.agents_read, agents)
        if queue:
            await self.read_queue()
        await self.cluster.changed(calls, agents, queue)
        return result

    async def read_queue(self) -> None:
        """The queue as the registry has it, with the waiting calls this node did not know."""
        entries = await self.registry.queue()
        for entry in entries:
            if entry.call_id not in self.calls:
                call = await self.registry.call(entry.call_id)
                if call is not None:
                    self.calls[call.call_id] = call
        self.queue.read(e for e in entries if e.call_id in self.calls)

    async def fresh(self, call_id: str) -> CallValue | None:
        """The call as the registry has it now (this node's view is brought up to date)."""
        call = await self.registry.call(call_id)
        if call is not None:
            self.calls[call_id] = call
        return call

    async def refresh(self, call_id: str, subject: str) -> None:
        """This node's view of a call, an agent and the queue was behind: read them afresh."""
        await self.fresh(call_id)
        agent = await self.registry.agent(subject)
        if agent is None:
            self.agents.pop(subject, None)
        else:
            self.agents[subject] = agent
        await self.read_queue()

    async def change_call(self, change: Change[CallValue]) -> CallValue:
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

    def visible_call(self, identity: Identity, call_id: str) -> CallValue:
        """The call, if this identity may see it; a customer sees only their own."""
        return access.visible(identity, call_id, self.calls.get(call_id))

    def room(self, call_id: str) -> Room:
        """The media room of a live call (operators' tools and tests look inside it)."""
        room = self.room_of(call_id)
        if room is None:
            raise NotFoundError(f"call {call_id} has no media room; it is not active")
        return room

    def room_of(self, call_id: str) -> Room | None:
        return self.media.room_of(call_id)

    def live_calls(self) -> list[CallValue]:
        return [c for c in self.calls.values() if c.state is not CallState.ENDED]

    # -- internals -------------------------------------------------------

    async def _send_watchers(self, call_id: str, event: ServerEvent, payload: Payload) -> None:
        await self.notifier.to_watchers(call_id, event, payload)

    async def _send_quality(
        self, call_id: str, participant_id: str, event: ServerEvent, payload: Payload
    ) -> None:
        await self.notifier.to_participant(call_id, participant_id, event, payload)

    def participant_of(
        self, identity: Identity, call_id: str
    ) -> tuple[CallValue, ParticipantValue]:
        """The call and the identity's own party in it (its customer, or its agent)."""
        identity.require(Role.CUSTOMER, Role.AGENT)
        call = self.visible_call(identity, call_id)
        return call, access.party_of(identity, call)

    async def party_changed(self, call_id: str, participant_id: str, **fields: Any) -> None:
        """A party's presence or media changed: the registry, then whoever sees them."""
        call = await self.change_call(in_call.update_party(call_id, participant_id, **fields))
        await self.participant_changed(call, participant_id)

    async def participant_changed(self, call: CallValue, participant_id: str) -> None:
        self._floor_changed()
        party = in_call.party_of(call, participant_id)
        if call.state is CallState.ENDED or party is None:
            return
        await self.notifier.to_call(
            call.call_id,
            ServerEvent.PARTICIPANT_UPDATED,
            {"call_id": call.call_id, "participant": participant_payload(party)},
        )

    async def recording_is(self, call_id: str, state: str) -> CallValue | None:
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

    async def agent_changed(self, subject: str) -> None:
        self._floor_changed()
        agent = self.agents.get(subject)
        if agent is not None:
            await self.notifier.to_agent(
                subject, ServerEvent.AGENT_UPDATED, {"agent": self.agent_payload(agent)}
            )

    def agent_payload(self, agent: AgentValue) -> Payload:
        """An agent as their console and the floor see them (connected: to this node, or to
        another that says so in its beat)."""
        here = self.presence.agent_online(agent.subject)
        elsewhere = self.cluster.present_elsewhere(agent_key(agent.subject))
        return agent_payload(agent, connected=here or elsewhere)

    # -- endings -----------------------------------------------------------

    async def end_call(self, call_id: str, reason: EndReason, by: str | None = None) -> None:
        await call_end.end_call(self, call_id, reason, by)

    async def media_taken(self, call: CallValue) -> CallValue:
        """An agent took the call and its media is on this node: a call back from the queue
        keeps its room (the new agent joins the same recording and transcript)."""
        if self.room_of(call.call_id) is not None:
            taken_again(self, call)
            return call
        return await self.open_media(call)

    async def open_media(self, call: CallValue) -> CallValue:
        """The call's media opens on this node: its room, with the recording, quality and
        transcription wired in (its first agent has just taken it)."""
        segment = await self.recordings.next_segment(call)  # its media moved here
        media = CallMedia(
            call,
            self.media_signaling.new_room(call.call_id),
            known=self.calls.get,
            recordings=self.recordings,
            quality=self.quality,
            transcription=self.transcription,
            talk=self.talk,
            categories=self.categories,
            tasks=self.tasks,
            segment=segment,
        )
        self.media.add(media)
        self.heartbeat.nudge()  # node selection counts it within a quarter second
        if media.recording_state != call.recording_state:
            return await self.recording_is(call.call_id, media.recording_state) or call
        return call

    async def _sweep(self) -> None:
        await call_end.sweep(self)
        self.tasks.call_later("sweep", self._sweep_every, self._sweep)
