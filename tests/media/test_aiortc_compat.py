"""The reaches into aiortc internals still fit the installed aiortc, or fail loudly.

Guards: every private attribute media/aiortc_compat.py uses exists; a tapped receiver
hands encoded frames over instead of decoding; the audio passthrough releases each
packet at once and drops late ones; an aiortc that moved an internal is reported with
a message naming it.
"""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from media import aiortc_compat
from media.errors import AiortcCompatError
from media.source import SourceKey, SourceKind
from tests.conftest import Server, connect_call
from tests.support import participant_media


class _Transport:
    state = "new"


def _packet(seq: int, timestamp: int, payload: bytes = b"\xfc\x00") -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp, ssrc=1234)
    packet._data = payload  # type: ignore[attr-defined]  # what depayload() sets
    return packet


async def test_installed_aiortc_has_every_internal_we_use() -> None:
    aiortc_compat.check_compatibility()


async def test_tapped_receiver_hands_frames_over_without_a_decoder() -> None:
    receiver = RTCRtpReceiver("audio", _Transport())  # type: ignore[arg-type]
    got: list[tuple[bytes, int, int]] = []
    aiortc_compat.tap_receiver(
        receiver, lambda codec, frame, ssrc: got.append((frame.data, frame.timestamp, ssrc))
    )
    assert aiortc_compat.is_tapped(receiver)
    buffer = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    sink = receiver._RTCRtpReceiver__decoder_queue  # type: ignore[attr-defined]
    # The decoder thread aiortc starts gets nothing to decode and ends at once.
    assert sink.get() is None
    for seq in (10, 11, 13):
        _, frame = buffer.add(_packet(seq, seq * 960))
        assert frame is not None, "audio must not wait in a jitter buffer"
        sink.put((None, frame))
    assert [t for _, t, _ in got] == [9600, 10560, 12480]
    assert {ssrc for _, _, ssrc in got} == {1234}


def test_audio_passthrough_drops_late_and_duplicate_packets_but_follows_a_restart() -> None:
    buffer = aiortc_compat.PassthroughAudioBuffer()
    assert buffer.add(_packet(100, 0))[1] is not None
    assert buffer.add(_packet(101, 960))[1] is not None
    assert buffer.add(_packet(101, 960))[1] is None  # duplicate
    assert buffer.add(_packet(99, 0))[1] is None  # late
    assert buffer.add(_packet(65530, 7))[1] is not None  # far back: a restarted sequence
    assert buffer.add(_packet(2, 9000))[1] is not None  # wraps forward


async def test_keyframe_requests_from_a_receiver_reach_our_callback() -> None:
    from aiortc import RTCRtpSender
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters  # noqa: F401
    from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket

    sender = RTCRtpSender("video", _Transport())  # type: ignore[arg-type]
    requests: list[bool] = []
    aiortc_compat.intercept_keyframe_requests(sender, lambda: requests.append(True))
    await sender._handle_rtcp_packet(
        RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=sender._ssrc)
    )
    assert requests == [True]


def test_a_moved_internal_is_reported_by_name() -> None:
    class OldReceiver:
        """Stands for an aiortc whose receiver no longer has a decoder queue."""

    with pytest.raises(AiortcCompatError, match=r"_RTCRtpReceiver__decoder_queue.*aiortc 1\.16"):
        aiortc_compat.tap_receiver(OldReceiver(), lambda *a: None)  # type: ignore[arg-type]


def test_ice_addresses_can_be_pinned_and_released() -> None:
    import aioice.ice

    try:
        aiortc_compat.restrict_ice_addresses(["127.0.0.1", "::1"])
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
    finally:
        aiortc_compat.restrict_ice_addresses([])
    assert "127.0.0.1" not in aioice.ice.get_host_addresses(True, False)


async def test_inline_run_finishes_at_once_or_when_what_it_waits_for_is_done() -> None:
    steps: list[str] = []

    async def quick() -> None:
        steps.append("quick")

    aiortc_compat.run_inline(quick())
    assert steps == ["quick"]  # no task, no loop turn

    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def waits() -> None:
        steps.append("before")
        steps.append(await gate)
        await asyncio.sleep(0)
        steps.append("after")

    aiortc_compat.run_inline(waits())
    assert steps[-1] == "before"
    gate.set_result("resumed")
    for _ in range(5):
        await asyncio.sleep(0)
    assert steps[-2:] == ["resumed", "after"]


async def test_server_peers_take_media_in_the_socket_callback(server: Server) -> None:
    pair = await connect_call(
        server,
        customer_sources=participant_media(440),
        agent_sources=participant_media(660),
    )
    room = server.switchboard.room(pair.call_id)
    customer_id = (await pair.customer.request("get_state"))["participant_id"]
    source = room.router.source(SourceKey(customer_id, SourceKind.MICROPHONE))
    deadline = asyncio.get_running_loop().time() + 10
    while source.frames_received < 50:
        assert asyncio.get_running_loop().time() < deadline, "no media reached the server"
        await asyncio.sleep(0.05)
    transport = room.peer(customer_id).connection.getTransceivers()[0].receiver.transport
    assert transport.transport._connection._kotha_inline is True
    # The transport's own counters still see every datagram (getStats reads them).
    assert transport._RTCDtlsTransport__rx_packets >= 50
