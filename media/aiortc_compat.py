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

:func:`check_compatibility` fails loudly when an aiortc upgrade moves any of
these; ``tests/media/test_aiortc_compat.py`` runs it against the installed aiortc.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import aioice.ice
import aiortc
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt

from .errors import AiortcCompatError

logger = logging.getLogger(__name__)

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_KIND = "_RTCRtpReceiver__kind"
_SEND_PLI = "_send_rtcp_pli"
_SEND_KEYFRAME = "_send_keyframe"

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
    no thread is left per track.
    """

    def __init__(self, on_frame: FrameListener, ssrc_of: Callable[[], int]) -> None:
        self._on_frame = on_frame
        self._ssrc_of = ssrc_of

    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        if item is None:
            return
        codec, frame = item
        self._on_frame(codec, frame, self._ssrc_of())

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


class SsrcNotingJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, noting the media SSRC for keyframe requests."""

    media_ssrc = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        self.media_ssrc = packet.ssrc
        return super().add(packet)


def tap_receiver(receiver: RTCRtpReceiver, on_frame: FrameListener) -> None:
    """Route every encoded frame of ``receiver`` to ``on_frame`` instead of a decoder.

    Must be called before the receiver starts (``receive()``), that is before
    the answer that negotiates it is applied.
    """
    _require(receiver, _DECODER_QUEUE, _JITTER_BUFFER, _KIND)
    kind = getattr(receiver, _KIND)
    buffer: PassthroughAudioBuffer | SsrcNotingJitterBuffer
    if kind == "audio":
        buffer = PassthroughAudioBuffer()
    else:
        buffer = SsrcNotingJitterBuffer(capacity=512, is_video=True)
    setattr(receiver, _JITTER_BUFFER, buffer)
    setattr(receiver, _DECODER_QUEUE, EncodedFrameSink(on_frame, lambda: buffer.media_ssrc))


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
    _require(sender, _SEND_KEYFRAME)
    if not hasattr(aioice.ice, "get_host_addresses"):
        raise AiortcCompatError(
            "aioice.ice.get_host_addresses is gone; restrict_ice_addresses() needs a new seam"
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
