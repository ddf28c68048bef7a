"""The server's RTCPeerConnection for one participant, and its negotiation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum, StrEnum, unique

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.sdp import SessionDescription, candidate_from_sdp

from . import aiortc_compat
from .closing import CloseOnce
from .errors import NegotiationError, PeerClosedError, StaleAnswerError
from .ice_policy import CandidateGate, CandidatePolicy
from .source import SourceKey

logger = logging.getLogger(__name__)


@unique
class SlotDirection(StrEnum):
    """Which way media flows on an m-line, from the participant's side."""

    PUBLISH = "publish"  # the participant sends, the server receives
    SUBSCRIBE = "subscribe"  # the server sends another participant's media


@dataclass(frozen=True, slots=True)
class Slot:
    """What one m-line of the offer carries, so the client knows where to attach tracks."""

    mid: str
    kind: str
    direction: SlotDirection
    participant_id: str
    source: str


@dataclass(frozen=True, slots=True)
class Offer:
    """An SDP offer for the participant, numbered so a late answer is recognised."""

    peer_id: str
    offer_id: int
    sdp: str
    slots: tuple[Slot, ...]


@dataclass(frozen=True, slots=True)
class SlotCounters:
    """One m-line's RTP totals: ``received`` per SSRC on a publish slot, ``sent`` on a subscribe."""

    direction: SlotDirection
    key: SourceKey
    kind: str
    received: list[aiortc_compat.ReceiveCounters] | None = None
    sent: aiortc_compat.SendCounters | None = None


class PeerState(Enum):
    NEW = "new"  # created, nothing negotiated yet
    CONNECTING = "connecting"  # ICE and DTLS under way
    CONNECTED = "connected"  # media can flow
    FAILED = "failed"  # ICE failed or the client never answered: restart it
    CLOSED = "closed"  # closed by us; terminal


OfferHandler = Callable[[Offer], Awaitable[None]]
StateHandler = Callable[["Peer", PeerState], None]


class Peer:
    """One participant's peer connection on the server.

    The server is always the offerer: it knows which tracks each participant
    must send and receive, so it adds the m-lines and the client only answers.
    That leaves no glare to resolve. Offers are serialised: a change while an
    offer is out is folded into the next offer, made when the answer arrives.

    The client's ICE candidates, in an answer's SDP or trickled, pass
    ``candidate_policy`` (default: any address, at most 100 per peer) before
    aiortc sees them, since each one makes the server send STUN checks to it.
    """

    def __init__(
        self,
        participant_id: str,
        *,
        configuration: RTCConfiguration,
        on_offer: OfferHandler,
        on_state: StateHandler,
        answer_timeout: float = 20.0,
        label: str = "",
        candidate_policy: CandidatePolicy | None = None,
    ) -> None:
        self.participant_id = participant_id
        # Names this connection: an answer or candidate meant for an earlier
        # peer of the same participant must not be applied to this one.
        self.peer_id = secrets.token_hex(6)
        self.state = PeerState.NEW
        self._label = label or participant_id
        self._pc = RTCPeerConnection(configuration)
        self._on_offer = on_offer
        self._on_state = on_state
        self._answer_timeout = answer_timeout
        self._slots: dict[RTCRtpTransceiver, tuple[SlotDirection, SourceKey]] = {}
        self._offer_id = 0
        self._pending_offer: int | None = None
        self._answered = asyncio.Event()
        self._needed = asyncio.Event()
        # Candidates from the answers' SDP and trickled ones pass one gate, one limit.
        self._candidates = CandidateGate(
            candidate_policy if candidate_policy is not None else CandidatePolicy()
        )
        self._early_candidates: list[RTCIceCandidate | None] = []
        self._close_once = CloseOnce(self._close, name=f"Peer({self._label})::close")
        self._task = asyncio.get_running_loop().create_task(
            self._run_negotiation(), name=f"Peer({self._label})::negotiation"
        )
        self._pc.on("connectionstatechange", self._on_connection_state)

    @property
    def connection(self) -> RTCPeerConnection:
        return self._pc

    def publish(self, key: SourceKey) -> RTCRtpReceiver:
        """Add an m-line on which the participant sends ``key``; return its receiver."""
        self._check_open()
        transceiver = self._pc.addTransceiver(key.source.media_kind, direction="recvonly")
        aiortc_compat.prefer_forwardable_codecs(transceiver)
        self._slots[transceiver] = (SlotDirection.PUBLISH, key)
        return transceiver.receiver

    def subscribe(
        self, key: SourceKey, track: MediaStreamTrack, on_keyframe_request: Callable[[], None]
    ) -> RTCRtpTransceiver:
        """Add an m-line on which the server sends ``track`` (another participant's ``key``)."""
        self._check_open()
        transceiver = self._pc.addTransceiver(track, direction="sendonly")
        aiortc_compat.prefer_forwardable_codecs(transceiver)
        aiortc_compat.intercept_keyframe_requests(transceiver.sender, on_keyframe_request)
        self._slots[transceiver] = (SlotDirection.SUBSCRIBE, key)
        return transceiver

    def has_slot(self, direction: SlotDirection, key: SourceKey) -> bool:
        return (direction, key) in self._slots.values()

    def renegotiate(self) -> None:
        """Ask for a new offer; several requests before it is made give one offer."""
        if not self._closed:
            self._needed.set()

    async def apply_answer(self, offer_id: int, sdp: str) -> None:
        """Apply the participant's answer to offer ``offer_id``."""
        self._check_open()
        if self._pending_offer is None or offer_id != self._pending_offer:
            raise StaleAnswerError(
                f"answer is for offer {offer_id}, but the offer awaiting an answer is "
                f"{self._pending_offer if self._pending_offer is not None else 'none'}"
            )
        screened = self._candidates.screen(sdp)
        if screened.dropped:
            logger.info(
                "Peer(%s) answer %d: dropped %d of %d ICE candidates "
                "(%d refused by policy, %d over the limit of %d, %d unreadable)%s",
                self._label,
                offer_id,
                screened.dropped,
                screened.dropped + screened.kept,
                screened.refused,
                screened.over_limit,
                self._candidates.policy.max_candidates,
                screened.unreadable,
                f"; e.g. {screened.example}" if screened.example else "",
            )
        # Read it first, apart from applying it, so that the client learns which
        # of the two went wrong: aiortc's parser asserts and raises whatever
        # int(), split() and dict lookups raise, and setRemoteDescription raises
        # ValueError or its own errors. Their text means nothing to a client
        # (and names our internals), so the client gets words, the log the text.
        try:
            SessionDescription.parse(screened.sdp)
        except Exception as exc:
            logger.debug("Peer(%s) answer %d unreadable: %r", self._label, offer_id, exc)
            raise NegotiationError(
                "the answer's SDP cannot be read: it is not well-formed SDP"
            ) from exc
        try:
            await self._pc.setRemoteDescription(
                RTCSessionDescription(sdp=screened.sdp, type="answer")
            )
        except Exception as exc:
            logger.debug("Peer(%s) answer %d refused: %r", self._label, offer_id, exc)
            raise NegotiationError(
                "the answer does not fit the offer: it must answer every m-line in order, "
                "each with ICE credentials, a=setup:active or passive, a=rtcp-mux and a "
                "codec the offer lists"
            ) from exc
        self._pending_offer = None
        early, self._early_candidates = self._early_candidates, []
        for candidate in early:
            await self._pc.addIceCandidate(candidate)
        self._answered.set()
        if self.state is PeerState.NEW:
            self._set_state(PeerState.CONNECTING)

    async def add_ice_candidate(
        self, candidate: str | None, sdp_mid: str | None, index: int | None
    ) -> None:
        """Add one trickled remote candidate (``candidate:...`` as the browser sends it).

        ``None`` (or an empty string) means the client has no more candidates.
        Candidates that overtake the answer are held until it is applied.
        """
        self._check_open()
        parsed: RTCIceCandidate | None = None
        if candidate:
            if sdp_mid is None and index is None:
                raise NegotiationError("the ICE candidate needs sdpMid or sdpMLineIndex")
            try:
                parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
            # aiortc's parser asserts on short input and raises whatever int()
            # or split() raise on the rest: anything it throws means "bad candidate".
            except Exception as exc:
                logger.debug("Peer(%s) unreadable ICE candidate: %r", self._label, exc)
                raise NegotiationError(
                    "the ICE candidate cannot be read: expected 'candidate:<foundation> "
                    "<component> <protocol> <priority> <address> <port> typ <type>'"
                ) from exc
            refusal = self._candidates.admit(parsed)
            if refusal is not None:
                raise NegotiationError(refusal)
            parsed.sdpMid = sdp_mid
            parsed.sdpMLineIndex = index
        if self._pc.remoteDescription is None:
            self._early_candidates.append(parsed)
            return
        await self._pc.addIceCandidate(parsed)

    @property
    def _closed(self) -> bool:
        return self._close_once.started

    async def close(self) -> None:
        """Close the connection; callers cut short or coming later wait for the same close."""
        await self._close_once()

    async def _close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._pc.close()
        # A sender that never started (DTLS never connected) does not stop its
        # track on close; stop them all so the router forgets this peer.
        for transceiver, (direction, _) in self._slots.items():
            track = transceiver.sender.track
            if direction is SlotDirection.SUBSCRIBE and track is not None:
                track.stop()
        self._set_state(PeerState.CLOSED)

    def slots(self) -> tuple[Slot, ...]:
        return tuple(
            Slot(
                mid=transceiver.mid or "",
                kind=transceiver.kind,
                direction=direction,
                participant_id=key.participant_id,
                source=str(key.source),
            )
            for transceiver, (direction, key) in self._slots.items()
            if transceiver.mid is not None
        )

    def rtp_counters(self) -> list[SlotCounters]:
        """The running RTP totals of every m-line: what the participant sends and receives."""
        counters: list[SlotCounters] = []
        for transceiver, (direction, key) in list(self._slots.items()):
            if transceiver.mid is None:
                continue  # not negotiated yet
            if direction is SlotDirection.PUBLISH:
                received = aiortc_compat.receive_counters(transceiver.receiver)
                counters.append(SlotCounters(direction, key, transceiver.kind, received=received))
            else:
                sent = aiortc_compat.send_counters(transceiver.sender)
                counters.append(SlotCounters(direction, key, transceiver.kind, sent=sent))
        return counters

    async def _run_negotiation(self) -> None:
        while True:
            await self._needed.wait()
            self._needed.clear()
            offer = await self._make_offer()
            try:
                await self._on_offer(offer)
            except Exception:
                # The answer timeout below decides whether the peer failed.
                logger.exception("Peer(%s) could not deliver offer %d", self._label, offer.offer_id)
            try:
                await asyncio.wait_for(self._answered.wait(), self._answer_timeout)
            except TimeoutError:
                logger.warning(
                    "Peer(%s) no answer to offer %d within %.0f s",
                    self._label,
                    offer.offer_id,
                    self._answer_timeout,
                )
                self._set_state(PeerState.FAILED)
                return

    async def _make_offer(self) -> Offer:
        self._answered.clear()
        description = await self._pc.createOffer()
        await self._pc.setLocalDescription(description)
        self._offer_id += 1
        self._pending_offer = self._offer_id
        local = self._pc.localDescription
        return Offer(
            peer_id=self.peer_id, offer_id=self._offer_id, sdp=local.sdp, slots=self.slots()
        )

    def _on_connection_state(self) -> None:
        state = self._pc.connectionState
        if state == "connected":
            for transceiver in self._pc.getTransceivers():
                aiortc_compat.deliver_rtp_inline(transceiver.receiver.transport)
            self._set_state(PeerState.CONNECTED)
        elif state == "failed":
            self._set_state(PeerState.FAILED)
        elif state == "connecting" and self.state is PeerState.NEW:
            self._set_state(PeerState.CONNECTING)

    def _set_state(self, state: PeerState) -> None:
        if state is self.state or self.state is PeerState.CLOSED:
            return
        logger.info("Peer(%s) %s -> %s", self._label, self.state.value, state.value)
        self.state = state
        self._on_state(self, state)

    def _check_open(self) -> None:
        if self._closed:
            raise PeerClosedError(f"the peer of participant {self.participant_id} is closed")
