"""The participant's side of a server peer, for Python clients (tests, benchmarks, bots).

It answers the server's offers the way the browser pages do: each m-line the
server marks ``publish`` gets the local track of that source, each
``subscribe`` m-line yields a remote track labelled with whose source it is.

The local tracks belong to the caller, not to the peer: a client that joins
again (a fresh peer) publishes the same microphone. aiortc stops a sender's
track when the connection closes, so the peer sends each source through a
:class:`BorrowedTrack` of its own, which it may stop without ending the source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.frame import Frame
from av.packet import Packet

from . import aiortc_compat
from .closing import CloseOnce
from .peer import Slot, SlotDirection
from .room import default_configuration
from .source import SourceKey, SourceKind

logger = logging.getLogger(__name__)

EncodedFrameHandler = Callable[[SourceKey, JitterFrame], None]
TrackHandler = Callable[[SourceKey, MediaStreamTrack], None]
SdpFilter = Callable[[str], str]


class BorrowedTrack(MediaStreamTrack):
    """One peer's way of sending a source track it does not own.

    It passes on the source's frames; stopping it (as aiortc does to a
    sender's track when the connection closes) leaves the source live for the
    next peer. One borrowed track at a time should read a source: two would
    share its frames between them.
    """

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source

    async def recv(self) -> Frame | Packet:
        if self.readyState != "live":
            raise MediaStreamError
        return await self.source.recv()


class ClientPeer:
    """One participant's RTCPeerConnection, answering the server's offers.

    Args:
        sources: the local tracks to publish, by source. They stay the
            caller's: closing the peer does not stop them.
        on_track: called with each remote track and whose source it carries.
        on_encoded_frame: when given, received media is not decoded at all;
            each encoded frame goes here (benchmarks, and tests that prove
            the path decodes nothing).
        offer_filter: rewrites each offer's SDP before it is applied.
        answer_filter: rewrites each answer's SDP before :meth:`answer` returns
            it for the server (the local description keeps the original).

    The filters let a test put a network impairment (a UDP relay, see
    ``tests/impairment.py``) between this peer and the server: the server
    sends all its ICE candidates inside the offer SDP and trickles none, and
    this peer sends its own inside the answer, so pointing those candidates
    at the relay routes the whole connection through it.
    """

    def __init__(
        self,
        sources: Mapping[SourceKind, MediaStreamTrack],
        *,
        on_track: TrackHandler | None = None,
        on_encoded_frame: EncodedFrameHandler | None = None,
        configuration: RTCConfiguration | None = None,
        offer_filter: SdpFilter | None = None,
        answer_filter: SdpFilter | None = None,
    ) -> None:
        self.sources: dict[SourceKind, MediaStreamTrack] = dict(sources)
        self.pc = RTCPeerConnection(configuration or default_configuration())
        self.remote_tracks: dict[SourceKey, MediaStreamTrack] = {}
        self._on_track = on_track
        self._on_encoded_frame = on_encoded_frame
        self._offer_filter = offer_filter
        self._answer_filter = answer_filter
        self._slots: dict[str, Slot] = {}
        self._tapped: set[str] = set()
        self._borrowed: list[BorrowedTrack] = []
        self._close_once = CloseOnce(self._close, name="ClientPeer::close")

    async def answer(self, sdp: str, slots: Iterable[Slot]) -> str:
        """Apply the server's offer and return the answer SDP."""
        for slot in slots:
            self._slots[slot.mid] = slot
        if self._offer_filter is not None:
            sdp = self._offer_filter(sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        # No await between here and createAnswer's first suspension that could
        # start a receiver: taps must be in place before aiortc starts them.
        for transceiver in self.pc.getTransceivers():
            self._bind(transceiver)
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        local = self.pc.localDescription.sdp
        return self._answer_filter(local) if self._answer_filter is not None else local

    def set_source(self, kind: SourceKind, track: MediaStreamTrack | None) -> None:
        """Replace the track sent for ``kind`` (screen share on an existing m-line)."""
        if track is None:
            self.sources.pop(kind, None)
        else:
            self.sources[kind] = track
        for transceiver in self.pc.getTransceivers():
            slot = self._slots.get(transceiver.mid or "")
            if slot and slot.direction is SlotDirection.PUBLISH and slot.source == kind:
                replaced = transceiver.sender.track
                transceiver.sender.replaceTrack(None if track is None else self._borrow(track))
                if isinstance(replaced, BorrowedTrack):
                    replaced.stop()
                    self._borrowed.remove(replaced)

    async def close(self) -> None:
        """Close the connection; the source tracks stay live for their owner.

        A caller cut short (a client closed while it replaces this peer) does not cut the
        close short: the next caller waits for the same close, not forever.
        """
        await self._close_once()

    async def _close(self) -> None:
        await self.pc.close()
        for borrowed in self._borrowed:
            borrowed.stop()  # a sender that never started has not stopped its track
        self._borrowed.clear()

    def _borrow(self, track: MediaStreamTrack) -> BorrowedTrack:
        borrowed = BorrowedTrack(track)
        self._borrowed.append(borrowed)
        return borrowed

    def _bind(self, transceiver: RTCRtpTransceiver) -> None:
        slot = self._slots.get(transceiver.mid or "")
        if slot is None:
            return
        key = SourceKey(slot.participant_id, SourceKind(slot.source))
        if slot.direction is SlotDirection.PUBLISH:
            track = self.sources.get(key.source)
            if track is not None and transceiver.sender.track is None:
                transceiver.sender.replaceTrack(self._borrow(track))
            transceiver.direction = "sendonly"
            return
        if transceiver.mid in self._tapped:
            return
        self._tapped.add(transceiver.mid or "")
        receiver = transceiver.receiver
        if self._on_encoded_frame is not None:
            handler = self._on_encoded_frame

            def on_frame(codec: RTCRtpCodecParameters, frame: JitterFrame, ssrc: int) -> None:
                handler(key, frame)

            aiortc_compat.tap_receiver(receiver, on_frame)
        self.remote_tracks[key] = receiver.track
        if self._on_track is not None:
            self._on_track(key, receiver.track)
