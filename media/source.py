"""What a participant publishes: microphone, camera or screen, and its frames."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from enum import StrEnum, unique


@unique
class SourceKind(StrEnum):
    """The kind of media a participant publishes, as a contact-centre user names it."""

    MICROPHONE = "microphone"
    CAMERA = "camera"
    SCREEN = "screen"

    @property
    def media_kind(self) -> str:
        """The WebRTC track kind that carries this source."""
        return "audio" if self is SourceKind.MICROPHONE else "video"


@dataclass(frozen=True, slots=True)
class SourceKey:
    """One published stream: whose it is and what it carries."""

    participant_id: str
    source: SourceKind

    def __str__(self) -> str:
        return f"{self.participant_id}/{self.source}"


@dataclass(slots=True)
class EncodedFrame:
    """One encoded Opus or VP8 frame as it left the publisher's jitter buffer.

    ``timestamp`` is on the RTP clock of the source, starting at 0 for each
    ``epoch`` (a fresh peer after a reconnect starts a new epoch).
    """

    data: bytes
    timestamp: int
    keyframe: bool
    epoch: int
    arrival: float

    @classmethod
    def now(cls, data: bytes, timestamp: int, keyframe: bool, epoch: int) -> EncodedFrame:
        return cls(data, timestamp, keyframe, epoch, time.perf_counter())


def is_vp8_keyframe(data: bytes) -> bool:
    """RFC 6386 section 9.1: bit 0 of the frame tag is 0 for a key frame."""
    return bool(data) and not data[0] & 0x01


def vp8_size(keyframe: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 key frame header (RFC 6386 section 9.1)."""
    if len(keyframe) < 10 or keyframe[3:6] != b"\x9d\x01\x2a":
        return None
    width, height = struct.unpack_from("<HH", keyframe, 6)
    return width & 0x3FFF, height & 0x3FFF
