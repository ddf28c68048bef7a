"""The media side of one call: a peer per participant and the routing between them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from aiortc import MediaStreamTrack, RTCBundlePolicy, RTCConfiguration, RTCRtpReceiver

from . import aiortc_compat
from .errors import MonitoringError, StaleAnswerError, UnknownParticipantError
from .ice_policy import CandidatePolicy
from .monitor import MonitorMode, hears, prepared
from .peer import Offer, Peer, PeerState, SlotDirection
from .router import Router
from .source import SourceKey, SourceKind
from .track import ForwardedTrack

logger = logging.getLogger(__name__)


class MediaPlane(Protocol):
    """Moves media from publishers to subscribers (the router, or the transcoding baseline)."""

    def attach(self, key: SourceKey, receiver: RTCRtpReceiver) -> None: ...
    def subscribe(self, key: SourceKey) -> MediaStreamTrack: ...
    def request_keyframe(self, key: SourceKey) -> None: ...
    def remove_participant(self, participant_id: str) -> None: ...
    def close(self) -> None: ...


@dataclass(slots=True)
class Member:
    """A participant in the room and what they publish."""

    participant_id: str
    publishes: set[SourceKind] = field(default_factory=set)
    monitor: MonitorMode | None = None
    """Set for a monitoring supervisor: a hidden member heard as the mode says."""
    coached: str | None = None
    """Whom a monitoring supervisor's whisper is for (the call's agent)."""


RoomOfferHandler = Callable[[str, Offer], Awaitable[None]]
RoomStateHandler = Callable[[str, PeerState], None]


class Room:
    """One call's media: who publishes what, and a server peer per participant.

    Everyone who receives gets every other member's sources, except that a
    monitoring supervisor is heard only as ``media.monitor`` says. A member
    keeps their sources across a fresh peer (reconnect), so the others keep
    their tracks and only see a new epoch start. ``candidate_policy`` says
    which of the members' ICE candidates the server contacts (default: any
    address, at most 100 per peer; see ``media.ice_policy``).
    """

    def __init__(
        self,
        room_id: str,
        *,
        on_offer: RoomOfferHandler,
        on_state: RoomStateHandler,
        configuration_factory: Callable[[], RTCConfiguration] | None = None,
        plane: MediaPlane | None = None,
        answer_timeout: float = 20.0,
        candidate_policy: CandidatePolicy | None = None,
    ) -> None:
        self.room_id = room_id
        self.plane: MediaPlane = plane if plane is not None else Router()
        self._on_offer = on_offer
        self._on_state = on_state
        self._configuration_factory = configuration_factory or default_configuration
        self._answer_timeout = answer_timeout
        self._candidate_policy = (
            candidate_policy if candidate_policy is not None else CandidatePolicy()
        )
        self._members: dict[str, Member] = {}
        self._peers: dict[str, Peer] = {}
        # What each peer receives of each source: (subscriber, source) -> track.
        self._tracks: dict[tuple[str, SourceKey], MediaStreamTrack] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        self.held = False
        """The customer is on hold: the call's parties get nothing of each other (monitoring
        supervisors still get both; the recording still has both)."""

    @property
    def router(self) -> Router:
        assert isinstance(self.plane, Router)
        return self.plane

    def members(self) -> Iterable[Member]:
        return self._members.values()

    def peers(self) -> dict[str, Peer]:
        """Each participant's current peer (a snapshot)."""
        return dict(self._peers)

    def peer(self, participant_id: str, peer_id: str | None = None) -> Peer:
        """The participant's current peer; with ``peer_id``, only if it is that one."""
        peer = self._peers.get(participant_id)
        if peer is None:
            raise UnknownParticipantError(
                f"participant {participant_id} has no media in call {self.room_id}; join first"
            )
        if peer_id is not None and peer.peer_id != peer_id:
            raise StaleAnswerError(
                f"peer {peer_id} was replaced by peer {peer.peer_id}; answer the newest offer"
            )
        return peer

    async def join(self, participant_id: str, sources: Iterable[SourceKind]) -> Peer:
        """Give the participant a fresh peer that publishes ``sources``.

        Joining again (a reload, a dropped network) replaces the old peer:
        aiortc has no ICE restart, and a new browser page has a new
        connection anyway.
        """
        async with self._lock:
            member = self._members.get(participant_id)
            if member is None:
                member = self._members[participant_id] = Member(participant_id)
            if member.monitor is not None:
                raise MonitoringError(f"{participant_id} monitors this call; it cannot join it")
            member.publishes.update(sources)
            return await self._connect(member)

    async def monitor(self, participant_id: str, mode: MonitorMode, *, coached: str) -> Peer:
        """Give a monitoring supervisor a fresh, hidden peer (again: it replaces the old one).

        They receive every other member's sources and publish a microphone
        that is heard only as ``mode`` says (see ``media.monitor``).
        """
        if not isinstance(self.plane, Router):
            raise MonitoringError("monitoring needs the forwarding media plane")
        async with self._lock:
            member = self._members.get(participant_id)
            if member is None:
                member = self._members[participant_id] = Member(participant_id)
            elif member.monitor is None:
                raise MonitoringError(f"{participant_id} is a party of this call, not a monitor")
            member.publishes = {SourceKind.MICROPHONE}
            member.monitor = mode
            member.coached = coached
            return await self._connect(member)

    async def set_monitor_mode(self, participant_id: str, mode: MonitorMode) -> bool:
        """Change who hears a monitoring supervisor; True when a peer renegotiates for it.

        Opening or closing a gate takes effect with the next packet; only a
        listener who never had the supervisor's m-line (a customer, at the
        first barge) needs a new offer.
        """
        async with self._lock:
            member = self._members.get(participant_id)
            if member is None or member.monitor is None:
                raise UnknownParticipantError(
                    f"participant {participant_id} does not monitor call {self.room_id}"
                )
            member.monitor = mode
            renegotiating = False
            for other in self._members.values():
                other_peer = self._peers.get(other.participant_id)
                if other is member or other_peer is None:
                    continue
                if self._add_subscriptions(other_peer, member):
                    other_peer.renegotiate()
                    renegotiating = True
            self._apply_gates()
            return renegotiating

    async def _connect(self, member: Member) -> Peer:
        """A fresh peer for ``member``: its sources out, everyone else's it may receive in."""
        participant_id = member.participant_id
        old = self._peers.pop(participant_id, None)
        if old is not None:
            await old.close()
        peer = self._new_peer(participant_id)
        self._peers[participant_id] = peer
        for kind in sorted(member.publishes):
            self._publish(peer, SourceKey(participant_id, kind))
        for other in self._members.values():
            if other is member:
                continue
            self._add_subscriptions(peer, other, listener=member)
            other_peer = self._peers.get(other.participant_id)
            if other_peer is not None and self._add_subscriptions(other_peer, member):
                other_peer.renegotiate()
        self._apply_gates()
        peer.renegotiate()
        return peer

    async def start_source(self, participant_id: str, kind: SourceKind) -> bool:
        """Start publishing ``kind`` (screen share); True when a new offer is on its way."""
        async with self._lock:
            member = self._member(participant_id)
            peer = self.peer(participant_id)
            member.publishes.add(kind)
            key = SourceKey(participant_id, kind)
            if peer.has_slot(SlotDirection.PUBLISH, key):
                # The m-line from an earlier share is still there: the client
                # puts the new track on it without a new offer.
                self.plane.request_keyframe(key)
                return False
            self._publish(peer, key)
            peer.renegotiate()
            for other in self._members.values():
                other_peer = self._peers.get(other.participant_id)
                if other is member or other_peer is None:
                    continue
                self._subscribe(other_peer, key)
                other_peer.renegotiate()
            self._apply_gates()
            return True

    async def set_hold(self, held: bool) -> None:
        """Put the parties on hold (neither gets the other's media) or take them off it.

        Like a whisper, a flag on the server: it takes effect with the next frame.
        """
        async with self._lock:
            self.held = held
            self._apply_gates()

    async def answer(self, participant_id: str, peer_id: str, offer_id: int, sdp: str) -> None:
        await self.peer(participant_id, peer_id).apply_answer(offer_id, sdp)

    async def add_ice_candidate(
        self,
        participant_id: str,
        peer_id: str,
        candidate: str | None,
        sdp_mid: str | None,
        index: int | None,
    ) -> None:
        await self.peer(participant_id, peer_id).add_ice_candidate(candidate, sdp_mid, index)

    async def leave(self, participant_id: str) -> None:
        """Remove the participant; the others' tracks of their media end."""
        async with self._lock:
            self._members.pop(participant_id, None)
            peer = self._peers.pop(participant_id, None)
            if peer is not None:
                await peer.close()
            self.plane.remove_participant(participant_id)
            for pair in [p for p in self._tracks if participant_id in (p[0], p[1].participant_id)]:
                del self._tracks[pair]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            peers = list(self._peers.values())
            self._peers.clear()
            await asyncio.gather(*(peer.close() for peer in peers), return_exceptions=True)
            self.plane.close()

    def _member(self, participant_id: str) -> Member:
        member = self._members.get(participant_id)
        if member is None:
            raise UnknownParticipantError(
                f"participant {participant_id} is not in call {self.room_id}"
            )
        return member

    def _new_peer(self, participant_id: str) -> Peer:
        async def on_offer(offer: Offer) -> None:
            await self._on_offer(participant_id, offer)

        def on_state(peer: Peer, state: PeerState) -> None:
            if self._peers.get(participant_id) is peer:
                self._on_state(participant_id, state)

        return Peer(
            participant_id,
            configuration=self._configuration_factory(),
            on_offer=on_offer,
            on_state=on_state,
            answer_timeout=self._answer_timeout,
            label=f"{self.room_id}/{participant_id}",
            candidate_policy=self._candidate_policy,
        )

    def _publish(self, peer: Peer, key: SourceKey) -> None:
        self.plane.attach(key, peer.publish(key))

    def _subscribe(self, peer: Peer, key: SourceKey) -> None:
        track = self.plane.subscribe(key)
        transceiver = peer.subscribe(key, track, lambda: self.plane.request_keyframe(key))
        if isinstance(track, ForwardedTrack):
            track.send_through(aiortc_compat.FrameSender(transceiver))
        self._tracks[peer.participant_id, key] = track

    def _add_subscriptions(
        self, peer: Peer, publisher: Member, *, listener: Member | None = None
    ) -> bool:
        """Subscribe ``peer`` to the publisher's sources it lacks and may get; True if any."""
        listener = listener or self._members.get(peer.participant_id)
        if listener is None or not _prepared(publisher, listener):
            return False
        added = False
        for kind in sorted(publisher.publishes):
            key = SourceKey(publisher.participant_id, kind)
            if not peer.has_slot(SlotDirection.SUBSCRIBE, key):
                self._subscribe(peer, key)
                added = True
        return added

    def _apply_gates(self) -> None:
        """Open or close what each listener gets: a supervisor's microphone as the modes say,
        and nothing between the parties while on hold."""
        if not isinstance(self.plane, Router):
            return
        for member in self._members.values():
            if member.monitor is not None:
                key = SourceKey(member.participant_id, SourceKind.MICROPHONE)
                self.plane.source(key).admitted = member.monitor.speaks
        for (subscriber, heard), track in self._tracks.items():
            speaker = self._members.get(heard.participant_id)
            listener = self._members.get(subscriber)
            if speaker is None or listener is None or not isinstance(track, ForwardedTrack):
                continue
            parties = speaker.monitor is None and listener.monitor is None
            gated = not _hears(speaker, listener) or (self.held and parties)
            if track.gated and not gated and track.kind == "video":
                track.wait_for_keyframe()
                self.plane.request_keyframe(heard)
            track.gated = gated


def _hears(speaker: Member, listener: Member) -> bool:
    return hears(speaker.monitor, **_relation(speaker, listener))


def _prepared(speaker: Member, listener: Member) -> bool:
    return prepared(speaker.monitor, **_relation(speaker, listener))


def _relation(speaker: Member, listener: Member) -> dict[str, bool]:
    """How a listener stands to a speaker, as media.monitor's rules ask it."""
    return {
        "coached": speaker.coached == listener.participant_id,
        "listener_monitors": listener.monitor is not None,
    }


def default_configuration() -> RTCConfiguration:
    # iceServers=[] matters: None makes aiortc use a public Google STUN server.
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
