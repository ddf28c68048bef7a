"""What a subscriber gets from a forwarded track.

Guards: video starts at a keyframe and asks for one; timestamps keep moving forward when
the publisher's peer is replaced (new epoch); frames before the sender is ready are dropped,
not queued; a lost frame makes video wait for the next keyframe; bytes pass unchanged; a
stopped track ends the sender's loop.
"""

from __future__ import annotations

import asyncio
import fractions

import pytest
from aiortc.mediastreams import MediaStreamError

from media.source import EncodedFrame, SourceKey, SourceKind, is_vp8_keyframe
from media.track import ForwardedTrack

KEY = b"\x10\x02\x00\x9d\x01\x2a"  # VP8 frame tag with the key-frame bit clear
DELTA = b"\x11\x02\x00"


class RecordingOutput:
    """A sender's RTP stream that records what it was given (the FrameOutput interface)."""

    def __init__(self, *, ready: bool = True) -> None:
        self.is_ready = ready
        self.accepts = True
        self.sent: list[tuple[bytes, int, fractions.Fraction]] = []

    def ready(self) -> bool:
        return self.is_ready

    def send(self, data: bytes, pts: int, time_base: fractions.Fraction) -> bool:
        if self.accepts:
            self.sent.append((data, pts, time_base))
        return self.accepts


def _frame(data: bytes, timestamp: int, epoch: int = 1) -> EncodedFrame:
    return EncodedFrame.now(data, timestamp, is_vp8_keyframe(data), epoch)


def _track(kind: str, requests: list[int], output: RecordingOutput) -> ForwardedTrack:
    source = SourceKind.CAMERA if kind == "video" else SourceKind.MICROPHONE
    track = ForwardedTrack(SourceKey("p_1", source), kind, lambda: requests.append(1))
    track.send_through(output)
    return track


def test_video_starts_at_a_keyframe_and_asks_for_one() -> None:
    requests: list[int] = []
    output = RecordingOutput()
    track = _track("video", requests, output)
    track.push(_frame(DELTA, 0))
    track.push(_frame(DELTA, 3000))
    assert len(requests) == 2 and output.sent == []
    track.push(_frame(KEY, 6000))
    track.push(_frame(DELTA, 9000))
    assert [(data, pts) for data, pts, _ in output.sent] == [(KEY, 0), (DELTA, 3000)]


def test_timestamps_continue_across_a_new_epoch() -> None:
    output = RecordingOutput()
    track = _track("audio", [], output)
    for ts in (0, 960, 1920):
        track.push(_frame(b"a", ts, epoch=1))
    track.push(_frame(b"b", 0, epoch=2))  # the publisher rejoined: its clock starts again
    track.push(_frame(b"b", 960, epoch=2))
    assert [pts for _, pts, _ in output.sent] == [0, 960, 1920, 2880, 3840]


def test_frames_before_the_sender_is_ready_are_dropped_not_queued() -> None:
    output = RecordingOutput(ready=False)
    track = _track("audio", [], output)
    for n in range(5):
        track.push(_frame(bytes([n]), n * 960))
    output.is_ready = True
    track.push(_frame(b"now", 5 * 960))
    assert [data for data, _, _ in output.sent] == [b"now"]
    assert track.frames_dropped == 5


def test_video_that_lost_a_frame_waits_for_the_next_keyframe() -> None:
    requests: list[int] = []
    output = RecordingOutput()
    track = _track("video", requests, output)
    track.push(_frame(KEY, 0))
    output.accepts = False  # the transport could not take this one
    track.push(_frame(DELTA, 3000))
    output.accepts = True
    track.push(_frame(DELTA, 6000))  # undecodable without the lost one
    track.push(_frame(KEY, 9000))
    assert [data for data, _, _ in output.sent] == [KEY, KEY]
    assert requests, "a keyframe must be requested after a loss"


def test_frame_bytes_pass_unchanged_on_the_codec_clock() -> None:
    output = RecordingOutput()
    track = _track("audio", [], output)
    payload = bytes(range(256)) * 3
    track.push(_frame(payload, 960))
    data, _, time_base = output.sent[0]
    assert data == payload
    assert time_base == fractions.Fraction(1, 48000)


async def test_stopping_the_track_ends_the_senders_loop() -> None:
    track = _track("audio", [], RecordingOutput())
    waiting = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    assert not waiting.done()
    track.stop()
    with pytest.raises(MediaStreamError):
        await waiting
    track.push(_frame(b"late", 0))
    assert track.frames_forwarded == 0
