"""Every reach into aiortc's private parts, in one place.

aiortc decodes everything it receives and encodes everything it sends. A
forwarding server wants neither, and aiortc has no public seam for it, so this
module adapts three internals that were read in the aiortc 1.16.0 source:

* ``RTCRtpReceiver.__decoder_queue``: the receiver hands each complete encoded
  frame from its jitter buffer to a decoder thread through this
  ``queue.Queue``. We replace it with :class:`EncodedFrameSink`, which hands
  the frame to the router instead, so nothing is decoded.
* ``RTCRtpReceiver.__jitter_buffer``: for audio it holds four frames (~80 ms)
  before releasing one. Every Opus packet is a whole frame, so the audio
  buffer is replaced by :class:`PassthroughAudioBuffer`, which releases each
  packet as it arrives; the receiving browser has a jitter buffer of its own.
* ``RTCRtpSender._send_keyframe``: a PLI or FIR from a receiving browser only
  sets a flag that aiortc's encoder reads. On the packet path there is no
  encoder, so the request is handed to a callback that asks the original
  sender for a keyframe (``RTCRtpReceiver._send_rtcp_pli``).
* ``aioice.Connection.data_received`` and ``RTCDtlsTransport._recv_next``:
  every datagram is queued for the DTLS transport's task, which wakes up
  and walks five awaits down to the receiver. :func:`deliver_rtp_inline`
  handles SRTP media in the socket callback itself, the same steps in the
  same order (counters, unprotect, parse, route, ``_handle_rtp_packet``);
  DTLS records and RTCP still take the queue.
* ``RTCRtpSender._run_rtp``: the sender's own task pulls one frame at a time
  from its track, a task wake-up and a chain of awaits per packet. The
  :class:`FrameSender` does the same work for one frame (the sender's own
  ``pack()``, RTP header, SRTP, the ICE pair's socket) straight from the
  receive callback, and keeps the sender's counters, history and SR clock
  up to date, so RTCP, NACK retransmission and getStats() work unchanged.

:func:`check_compatibility` fails loudly when an aiortc upgrade moves any of
these; ``tests/media/test_aiortc_compat.py`` runs it against the installed aiortc.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

import aioice.ice
import aiortc
import pylibsrtp
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import get_encoder
from aiortc.codecs.base import Encoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.rtcrtpsender import random_sequence_number
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensionsMap, RtpPacket, is_rtcp
from aiortc.utils import random32, uint16_add, uint16_gt, uint32_add

from .errors import AiortcCompatError
from .frame_assembly import VideoFrameAssembler

logger = logging.getLogger(__name__)

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_KIND = "_RTCRtpReceiver__kind"
_SEND_PLI = "_send_rtcp_pli"
_SEND_KEYFRAME = "_send_keyframe"
_SENDER_STARTED = "_RTCRtpSender__started"
_SENDER_MID = "_RTCRtpSender__mid"
_SENDER_EXTENSIONS = "_RTCRtpSender__rtp_header_extensions_map"
_SENDER_HISTORY = "_RTCRtpSender__rtp_history"
_SENDER_NTP = "_RTCRtpSender__ntp_timestamp"
_SENDER_RTP_TS = "_RTCRtpSender__rtp_timestamp"
_SENDER_OCTETS = "_RTCRtpSender__octet_count"
_SENDER_PACKETS = "_RTCRtpSender__packet_count"
_TRANSCEIVER_CODECS = "_codecs"
_DTLS_SRTP = "_tx_srtp"
_DTLS_TX_BYTES = "_RTCDtlsTransport__tx_bytes"
_DTLS_TX_PACKETS = "_RTCDtlsTransport__tx_packets"
_ICE_NOMINATED = "_nominated"
_ICE_QUEUE = "_queue"
_DTLS_RX_SRTP = "_rx_srtp"
_DTLS_RX_BYTES = "_RTCDtlsTransport__rx_bytes"
_DTLS_RX_PACKETS = "_RTCDtlsTransport__rx_packets"
_DTLS_HANDLE_RTP = "_handle_rtp_data"
# Seconds from the NTP epoch (1900) to the Unix epoch (1970).
_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
_TIMESTAMP_MAPPER = "_RTCRtpReceiver__timestamp_mapper"
_SENDER_STATS = "_RTCRtpSender__stats"
_NTP_UNIX_OFFSET = 2208988800

# A jump backwards larger than this is a restarted sequence, not a late packet
# (the same bound aiortc's own jitter buffer uses).
_MAX_MISORDER = 100

# Only codecs whose encoded frames can be forwarded as they are: both legs of
# a call must agree, so the server offers nothing else.
FORWARDABLE_MIME_TYPES = {"audio": ("audio/opus",), "video": ("video/VP8", "video/rtx")}


class FrameListener(Protocol):
    def __call__(self, codec: RTCRtpCodecParameters, frame: JitterFrame, ssrc: int) -> None: ...


class EncodedFrameSink:
    """Stands in for the receiver's decoder queue and takes the encoded frames.

    aiortc's decoder thread calls ``get()``; returning ``None`` at once makes
    that thread exit before it creates a decoder, so nothing is decoded and
    no thread is left per track. Frames the video assembler completed
    together with the one aiortc hands over follow it at once, their
    timestamps mapped as aiortc maps that one's.
    """

    def __init__(
        self,
        on_frame: FrameListener,
        ssrc_of: Callable[[], int],
        take_ready: Callable[[], list[JitterFrame]] = list,
        map_timestamp: Callable[[int], int] | None = None,
    ) -> None:
        self._on_frame = on_frame
        self._ssrc_of = ssrc_of
        self._take_ready = take_ready
        self._map_timestamp = map_timestamp

    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        if item is None:
            return
        codec, frame = item
        ssrc = self._ssrc_of()
        self._on_frame(codec, frame, ssrc)
        for extra in self._take_ready():
            if self._map_timestamp is not None:
                extra.timestamp = self._map_timestamp(extra.timestamp)
            self._on_frame(codec, extra, ssrc)

    def get(self) -> None:
        return None


class PassthroughAudioBuffer:
    """Releases each audio packet as one frame, at once.

    A late or duplicated packet is dropped (the receiving side's own jitter
    buffer conceals it); a large jump backwards is a restarted stream.
    """

    capacity = 16

    def __init__(self) -> None:
        self._last_seq: int | None = None
        self.media_ssrc = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        seq = packet.sequence_number
        last = self._last_seq
        if last is not None and not uint16_gt(seq, last) and uint16_add(last, -seq) < _MAX_MISORDER:
            return False, None
        self._last_seq = seq
        self.media_ssrc = packet.ssrc
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]


def tap_receiver(receiver: RTCRtpReceiver, on_frame: FrameListener) -> None:
    """Route every encoded frame of ``receiver`` to ``on_frame`` instead of a decoder.

    Must be called before the receiver starts (``receive()``), that is before
    the answer that negotiates it is applied.
    """
    _require(receiver, _DECODER_QUEUE, _JITTER_BUFFER, _KIND, _TIMESTAMP_MAPPER)
    kind = getattr(receiver, _KIND)
    if kind == "audio":
        audio = PassthroughAudioBuffer()
        setattr(receiver, _JITTER_BUFFER, audio)
        setattr(receiver, _DECODER_QUEUE, EncodedFrameSink(on_frame, lambda: audio.media_ssrc))
        return
    video = VideoFrameAssembler()
    mapper = getattr(receiver, _TIMESTAMP_MAPPER)
    setattr(receiver, _JITTER_BUFFER, video)
    setattr(
        receiver,
        _DECODER_QUEUE,
        EncodedFrameSink(on_frame, lambda: video.media_ssrc, video.take_ready, mapper.map),
    )


def is_tapped(receiver: RTCRtpReceiver) -> bool:
    return isinstance(getattr(receiver, _DECODER_QUEUE, None), EncodedFrameSink)


async def request_keyframe(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send a PLI (RFC 4585 section 6.3.1) to the peer that sends ``media_ssrc``."""
    send_pli = getattr(receiver, _SEND_PLI)
    try:
        await send_pli(media_ssrc)
    except ConnectionError:
        logger.debug("PLI for ssrc %d not sent: transport closed", media_ssrc)


def intercept_keyframe_requests(sender: RTCRtpSender, on_request: Callable[[], None]) -> None:
    """Hand PLI/FIR that reach ``sender`` to ``on_request`` (there is no encoder to force)."""
    _require(sender, _SEND_KEYFRAME)
    setattr(sender, _SEND_KEYFRAME, on_request)


def ntp_now() -> int:
    """The 64-bit NTP time aiortc's clock.current_ntp_time() gives, without datetime objects."""
    now = time.time() + _NTP_UNIX_OFFSET
    seconds = int(now)
    return (seconds << 32) | int((now - seconds) * 4294967296)


class _Payload:
    """What an encoder's ``pack()`` reads of an ``av.Packet``: bytes, pts and time base.

    Building a real ``av.Packet`` per frame copies the bytes into FFmpeg's
    buffer only for ``pack()`` to copy them out again.
    """

    __slots__ = ("data", "pts", "time_base")

    def __init__(self, data: bytes, pts: int, time_base: Fraction) -> None:
        self.data = data
        self.pts = pts
        self.time_base = time_base

    def __bytes__(self) -> bytes:
        return self.data


class FrameSender:
    """Sends forwarded frames on an aiortc sender's RTP stream, at once, from the caller.

    It does for one frame what ``RTCRtpSender._run_rtp`` does in its loop,
    with the sender's codec packer, SSRC, header extensions, NACK history and
    sender-report counters, so the sender's RTCP task and retransmissions go
    on working. Frames that arrive before the sender has started (DTLS not
    done yet) are refused, not queued: late audio is worse than lost audio.
    """

    def __init__(self, transceiver: RTCRtpTransceiver) -> None:
        sender = transceiver.sender
        _require(sender, _SENDER_STARTED, _SENDER_MID, _SENDER_EXTENSIONS, _SENDER_HISTORY)
        _require(sender, _SENDER_NTP, _SENDER_RTP_TS, _SENDER_OCTETS, _SENDER_PACKETS)
        _require(transceiver, _TRANSCEIVER_CODECS)
        self._transceiver = transceiver
        self._sender = sender
        self._sequence = random_sequence_number()
        self._origin = random32()
        self._encoder: Encoder | None = None
        self._payload_type = 0
        self._mid: str | None = None
        self._extensions: HeaderExtensionsMap | None = None
        self._history: dict[int, RtpPacket] = getattr(sender, _SENDER_HISTORY)
        self._is_video = transceiver.kind == "video"
        self._tasks: set[asyncio.Task[None]] = set()
        self.packets_sent = 0

    def ready(self) -> bool:
        """True once the sender has started on a connected transport."""
        sender = self._sender
        if sender.transport.state != "connected" or not getattr(sender, _SENDER_STARTED):
            return False
        if self._encoder is None:
            _require(sender.transport, _DTLS_SRTP, _DTLS_TX_BYTES, _DTLS_TX_PACKETS)
            _require(sender.transport.transport._connection, _ICE_NOMINATED)
            codec: RTCRtpCodecParameters = getattr(self._transceiver, _TRANSCEIVER_CODECS)[0]
            self._encoder = get_encoder(codec)
            self._payload_type = codec.payloadType or 0
            self._mid = getattr(sender, _SENDER_MID)
            self._extensions = getattr(sender, _SENDER_EXTENSIONS)
        return True

    def send(self, data: bytes, pts: int, time_base: Fraction) -> bool:
        """Packetise and send one frame; False when the transport cannot take it now."""
        encoder, extensions = self._encoder, self._extensions
        if encoder is None or extensions is None:
            return False
        dtls = self._sender.transport
        pair = getattr(dtls.transport._connection, _ICE_NOMINATED).get(1)
        if pair is None:
            return False
        payloads, timestamp = encoder.pack(_Payload(data, pts, time_base))  # type: ignore[arg-type]
        timestamp = uint32_add(self._origin, timestamp)
        ntp = ntp_now()
        protect = getattr(dtls, _DTLS_SRTP).protect
        sender, history, last = self._sender, self._history, len(payloads) - 1
        octets = sent_bytes = 0
        for i, payload in enumerate(payloads):
            packet = RtpPacket(
                payload_type=self._payload_type,
                sequence_number=self._sequence,
                timestamp=timestamp,
                ssrc=sender._ssrc,
                payload=payload,
            )
            packet.marker = 1 if i == last else 0
            packet.extensions.mid = self._mid
            if self._is_video:
                packet.extensions.abs_send_time = (ntp >> 14) & 0x00FFFFFF
            history[self._sequence % RTP_HISTORY_SIZE] = packet
            datagram = protect(packet.serialize(extensions))
            self._transmit(pair, datagram)
            octets += len(payload)
            sent_bytes += len(datagram)
            self._sequence = uint16_add(self._sequence, 1)
        count = len(payloads)
        setattr(sender, _SENDER_NTP, ntp)
        setattr(sender, _SENDER_RTP_TS, timestamp)
        setattr(sender, _SENDER_OCTETS, getattr(sender, _SENDER_OCTETS) + octets)
        setattr(sender, _SENDER_PACKETS, getattr(sender, _SENDER_PACKETS) + count)
        setattr(dtls, _DTLS_TX_BYTES, getattr(dtls, _DTLS_TX_BYTES) + sent_bytes)
        setattr(dtls, _DTLS_TX_PACKETS, getattr(dtls, _DTLS_TX_PACKETS) + count)
        self.packets_sent += count
        return True

    def _transmit(self, pair: Any, datagram: bytes) -> None:
        protocol = pair.protocol
        if type(protocol) is aioice.ice.StunProtocol:
            transport = protocol.transport
            if not transport.is_closing():
                transport.sendto(datagram, pair.remote_addr)
            return
        # A relayed (TURN) pair wraps the datagram itself: use its own coroutine.
        task = asyncio.get_running_loop().create_task(
            protocol.send_data(datagram, pair.remote_addr)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def deliver_rtp_inline(dtls: Any) -> None:
    """Handle SRTP media of ``dtls`` (an RTCDtlsTransport) in the socket callback.

    Call once the transport is connected. A datagram takes the inline path
    only when nothing is queued before it, so order is kept; everything
    else (DTLS records, RTCP, a transport that is closing) goes through
    aiortc's own queue and task as before.
    """
    connection = dtls.transport._connection
    if getattr(connection, "_kotha_inline", False):
        return
    _require(dtls, _DTLS_RX_SRTP, _DTLS_RX_BYTES, _DTLS_RX_PACKETS, _DTLS_HANDLE_RTP)
    _require(connection, _ICE_QUEUE, "data_received")
    queue: asyncio.Queue[Any] = getattr(connection, _ICE_QUEUE)
    enqueue = connection.data_received
    handle_rtp = getattr(dtls, _DTLS_HANDLE_RTP)

    def data_received(data: bytes, component: int) -> None:
        srtp = dtls._rx_srtp
        if (
            srtp is None
            or not 127 < data[0] < 192
            or is_rtcp(data)
            or not queue.empty()
            or dtls.state != "connected"
        ):
            enqueue(data, component)
            return
        setattr(dtls, _DTLS_RX_BYTES, getattr(dtls, _DTLS_RX_BYTES) + len(data))
        setattr(dtls, _DTLS_RX_PACKETS, getattr(dtls, _DTLS_RX_PACKETS) + 1)
        arrival_ms = int((time.time() + _NTP_UNIX_OFFSET) * 1000)
        try:
            plain = srtp.unprotect(data)
        except pylibsrtp.Error:
            return
        run_inline(handle_rtp(plain, arrival_time_ms=arrival_ms))

    connection.data_received = data_received
    connection._kotha_inline = True


def run_inline(coro: Coroutine[Any, Any, Any]) -> None:
    """Run ``coro`` now, in the caller; if it has to wait, finish it when it can.

    The RTP path only awaits coroutines that never suspend (sending RTCP on
    a UDP socket), so it almost always finishes at once, without the cost
    of a task. Should it suspend, it is resumed the way asyncio's Task
    resumes a coroutine: when the future it waits on is done.
    """
    _step(coro)


def _step(coro: Coroutine[Any, Any, Any]) -> None:
    try:
        waiting = coro.send(None)
    except StopIteration:
        return
    except Exception:
        logger.exception("inline RTP handling failed")
        return
    if waiting is None:  # a bare yield (asyncio.sleep(0)): go on next turn
        asyncio.get_running_loop().call_soon(_step, coro)
        return
    waiting._asyncio_future_blocking = False
    waiting.add_done_callback(lambda _: _step(coro))


def prefer_forwardable_codecs(transceiver: RTCRtpTransceiver) -> None:
    """Offer only the codecs whose frames the router forwards untouched."""
    wanted = FORWARDABLE_MIME_TYPES[transceiver.kind]
    capabilities = RTCRtpSender.getCapabilities(transceiver.kind)
    codecs: list[RTCRtpCodecCapability] = [
        codec
        for codec in capabilities.codecs
        if codec.mimeType.lower() in {m.lower() for m in wanted}
    ]
    transceiver.setCodecPreferences(codecs)


def restrict_ice_addresses(addresses: Sequence[str]) -> None:
    """Gather ICE host candidates only on ``addresses`` (all interfaces when empty).

    aioice reads the host's interfaces through one module-level function and
    leaves 127.0.0.1 out; a server pinned to an address (or a test on
    loopback) replaces it. The setting is per process, like the interfaces.
    """
    original = getattr(aioice.ice, "_kotha_original_get_host_addresses", None)
    if original is None:
        original = aioice.ice.get_host_addresses
        aioice.ice._kotha_original_get_host_addresses = original  # type: ignore[attr-defined]
    if not addresses:
        aioice.ice.get_host_addresses = original
        return
    pinned = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in pinned if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses


def check_compatibility() -> None:
    """Raise :class:`AiortcCompatError` when the installed aiortc lacks what we reach for.

    Call it from a running event loop (aiortc's constructors read it); the
    server does at start-up, so a moved internal stops it before any call.
    """
    transport: Any = _UnstartedTransport()
    receiver = RTCRtpReceiver("audio", transport)
    sender = RTCRtpSender("audio", transport)
    _require(receiver, _DECODER_QUEUE, _JITTER_BUFFER, _KIND, _SEND_PLI)
    _require(sender, _SEND_KEYFRAME, _SENDER_STARTED, _SENDER_MID, _SENDER_EXTENSIONS)
    _require(sender, _SENDER_HISTORY, _SENDER_NTP, _SENDER_RTP_TS, _SENDER_OCTETS)
    _require(sender, _SENDER_PACKETS, _SENDER_STATS)
    _require(receiver, _REMOTE_STREAMS)
    if not hasattr(aioice.ice, "StunProtocol"):
        raise AiortcCompatError("aioice.ice.StunProtocol is gone; FrameSender needs a new seam")
    if not hasattr(aioice.ice, "get_host_addresses"):
        raise AiortcCompatError(
            "aioice.ice.get_host_addresses is gone; restrict_ice_addresses() needs a new seam"
        )


@dataclass(frozen=True, slots=True)
class ReceiveCounters:
    """Running totals of what a receiver got from the participant (RFC 3550 section 6.4.1).

    Read straight from aiortc's per-SSRC statistics: ``getStats()`` would build
    report objects for every stream every second, and the ``fraction_lost``
    property resets the interval aiortc's own receiver reports rely on.
    """

    ssrc: int
    clock_rate: int
    packets_received: int
    packets_expected: int
    jitter: int  # in RTP clock units


@dataclass(frozen=True, slots=True)
class SendCounters:
    """What a sender sent, and the participant's latest receiver report about it."""

    packets_sent: int
    bytes_sent: int
    reported_loss_fraction: float | None  # 0-1, over the report's interval
    reported_jitter: int | None  # RTP clock units
    round_trip_s: float | None


def receive_counters(receiver: RTCRtpReceiver) -> list[ReceiveCounters]:
    """The media streams' totals; retransmission (RTX) streams are left out.

    aiortc keeps statistics for every SSRC that arrives, RTX included. An RTX
    stream carries old packets resent late and padding the sender uses to
    probe bandwidth, so its "jitter" is meaningless (2,339,339 ms was seen on
    a clean loopback call) and its sequence numbers are not the media's.
    """
    streams: dict[int, Any] = getattr(receiver, _REMOTE_STREAMS)
    rtx: dict[int, int] = getattr(receiver, _RTX_SSRC)
    return [
        ReceiveCounters(
            ssrc,
            stream._clockrate,
            stream.packets_received,
            stream.packets_expected,
            stream.jitter,
        )
        for ssrc, stream in list(streams.items())
        if stream.max_seq is not None and ssrc not in rtx
    ]


def send_counters(sender: RTCRtpSender) -> SendCounters:
    report = getattr(sender, _SENDER_STATS).get(f"remote-inbound-rtp_{id(sender)}")
    return SendCounters(
        packets_sent=getattr(sender, _SENDER_PACKETS),
        bytes_sent=getattr(sender, _SENDER_OCTETS),
        reported_loss_fraction=None if report is None else report.fractionLost / 256,
        reported_jitter=None if report is None else report.jitter,
        round_trip_s=None if report is None else report.roundTripTime,
    )


class _UnstartedTransport:
    """Enough of an RTCDtlsTransport for the constructors to accept it."""

    state = "new"


def _require(obj: object, *names: str) -> None:
    missing = [name for name in names if not hasattr(obj, name)]
    if missing:
        raise AiortcCompatError(
            f"aiortc {aiortc.__version__} has no {', '.join(missing)} on "
            f"{type(obj).__name__}; media/aiortc_compat.py was written against aiortc 1.16 "
            "and must be updated before this aiortc is used"
        )
