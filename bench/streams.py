"""A client's streams: the paced pre-encoded sender and the receivers' matching tally."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError

from media.source import SourceKey

from .opus_loop import FRAME_S, FRAME_SAMPLES, TIME_BASE


@dataclass
class Window:
    """The measurement window on the machine-wide monotonic clock (closed until set)."""

    t0: float = math.inf
    t1: float = -math.inf


class LoopTrack(MediaStreamTrack):
    """A microphone that sends the pre-encoded loop as ``av.Packet`` every 20 ms.

    aiortc's sender packs the packet as it is, so a client stream costs no
    encoding. The send time of each packet's bytes is kept for matching.
    """

    kind = "audio"

    def __init__(self, packets: Sequence[bytes], offset: int, window: Window) -> None:
        super().__init__()
        self._packets = packets
        self._offset = offset
        self._window = window
        self._count = 0
        self._start: float | None = None
        self.sent_at: dict[bytes, float] = {}
        self.sent_in_window = 0

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._count * FRAME_S - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        data = self._packets[(self._offset + self._count) % len(self._packets)]
        packet = av.Packet(data)
        packet.pts = self._count * FRAME_SAMPLES
        packet.time_base = TIME_BASE
        self._count += 1
        now = time.monotonic()
        self.sent_at[data] = now
        if self._window.t0 <= now <= self._window.t1:
            self.sent_in_window += 1
        return packet


class Tally:
    """What one set of receivers of a client process saw (the parties', or the supervisors').

    Args:
        senders: the streams these receivers should get, by participant id.
        refused: streams the server must drop (a listening supervisor's microphone):
            every frame of them that arrives at all is counted, not only the window's.
    """

    def __init__(
        self,
        window: Window,
        senders: dict[str, LoopTrack] | None = None,
        refused: dict[str, LoopTrack] | None = None,
    ) -> None:
        self.window = window
        self.senders: dict[str, LoopTrack] = {} if senders is None else senders
        self.refused: dict[str, LoopTrack] = {} if refused is None else refused
        self.receiving: set[str] = set()
        self.matched = 0
        self.arrived = 0
        self.unmatched = 0
        self.refused_arrived = 0
        self.latencies_us: list[int] = []

    def alongside(self) -> Tally:
        """Another set of receivers of the same streams (supervisors hearing both parties)."""
        return Tally(self.window, self.senders, self.refused)

    def on_frame(self, key: SourceKey, frame: JitterFrame) -> None:
        """Called by the client peer for every received encoded frame (keep it cheap)."""
        now = time.monotonic()
        sender = self.senders.get(key.participant_id)
        if sender is None:
            if key.participant_id in self.refused:
                self.refused_arrived += 1
            return
        self.receiving.add(key.participant_id)
        window = self.window
        if window.t0 <= now <= window.t1:
            self.arrived += 1
        sent = sender.sent_at.get(frame.data)
        if sent is None:
            if window.t0 <= now <= window.t1:
                self.unmatched += 1
            return
        if window.t0 <= sent <= window.t1:
            self.matched += 1
            self.latencies_us.append(int((now - sent) * 1e6))

    def report(self) -> dict[str, Any]:
        return {
            "sent": sum(s.sent_in_window for s in self.senders.values()),
            "matched": self.matched,
            "arrived": self.arrived,
            "unmatched": self.unmatched,
            "latencies_us": self.latencies_us,
            "refused_sent": sum(s.sent_in_window for s in self.refused.values()),
            "refused_arrived": self.refused_arrived,
        }
