"""What a subscriber's sender gets from a forwarded track.

Guards: video starts at a keyframe and asks for one; timestamps keep moving forward when
the publisher's peer is replaced (new epoch); a slow subscriber's backlog is dropped
instead of growing, and for video it waits for the next keyframe; a stopped track ends
the sender's loop.
"""

from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import MediaStreamError

from media.source import EncodedFrame, SourceKey, SourceKind, is_vp8_keyframe
from media.track import ForwardedTrack

KEY = b"\x10\x02\x00\x9d\x01\x2a"  # VP8 frame tag with the key-frame bit clear
DELTA = b"\x11\x02\x00"


def _frame(data: bytes, timestamp: int, epoch: int = 1) -> EncodedFrame:
    return EncodedFrame.now(data, timestamp, is_vp8_keyframe(data), epoch)


def _track(kind: str, requests: list[int]) -> ForwardedTrack:
    source = SourceKind.CAMERA if kind == "video" else SourceKind.MICROPHONE
    return ForwardedTrack(SourceKey("p_1", source), kind, lambda: requests.append(1))


async def test_video_starts_at_a_keyframe_and_asks_for_one() -> None:
    requests: list[int] = []
    track = _track("video", requests)
    track.push(_frame(DELTA, 0))
    track.push(_frame(DELTA, 3000))
    assert len(requests) == 2 and track.frames_dropped == 2
    track.push(_frame(KEY, 6000))
    track.push(_frame(DELTA, 9000))
    first, second = await track.recv(), await track.recv()
    assert bytes(first) == KEY and bytes(second) == DELTA
    assert (first.pts, second.pts) == (0, 3000)  # the first frame sent starts the clock


async def test_timestamps_continue_across_a_new_epoch() -> None:
    track = _track("audio", [])
    for ts in (0, 960, 1920):
        track.push(_frame(b"a", ts, epoch=1))
    track.push(_frame(b"b", 0, epoch=2))  # the publisher rejoined: its clock starts again
    track.push(_frame(b"b", 960, epoch=2))
    pts = [(await track.recv()).pts for _ in range(5)]
    assert pts == [0, 960, 1920, 2880, 3840]


async def test_slow_audio_subscriber_drops_its_backlog() -> None:
    track = _track("audio", [])
    for n in range(60):
        track.push(_frame(bytes([n]), n * 960))
    packet = await track.recv()
    assert track.frames_dropped == 50
    assert bytes(packet) == bytes([50])


async def test_slow_video_subscriber_waits_for_the_next_keyframe() -> None:
    requests: list[int] = []
    track = _track("video", requests)
    track.push(_frame(KEY, 0))
    for n in range(1, 130):
        track.push(_frame(DELTA, n * 3000))
    assert requests, "a keyframe must be requested after dropping"
    track.push(_frame(KEY, 130 * 3000))
    packet = await track.recv()
    assert bytes(packet) == KEY


async def test_stopping_the_track_ends_a_waiting_sender() -> None:
    track = _track("audio", [])
    waiting = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    track.stop()
    with pytest.raises(MediaStreamError):
        await waiting


async def test_packets_keep_the_frame_bytes_unchanged() -> None:
    track = _track("audio", [])
    payload = bytes(range(256)) * 3
    track.push(_frame(payload, 960))
    packet = await track.recv()
    assert bytes(packet) == payload
    assert packet.time_base.denominator == 48000
