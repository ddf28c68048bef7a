"""Video frames out of RTP packets, released the moment their last packet arrives.

aiortc's video jitter buffer releases a frame only when the first packet of
the *next* frame arrives, so each frame left the server one frame interval
late, and as unevenly as the camera's frame intervals vary: a browser
receiving the forwarded video measured 33 ms of jitter on a line where the
server measured 3 ms. An SFU must add no timing of its own, so a frame here is
complete, and released, when it holds every packet from the one that starts
it (VP8 payload descriptor: S bit set, partition 0; RFC 7741 section 4.2) to
the one with the RTP marker bit (the last of the frame, RFC 7741 section 4.1).

Frames leave in order. A frame whose packets do not all come (lost, and not
retransmitted in time) is given up once a later frame is complete and the gap
is older than ``GIVE_UP_TICKS`` on the RTP clock: the frames after it wait
for the next frame start, and the caller is told to ask for a keyframe.
"""

from __future__ import annotations

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt

VIDEO_CLOCK_RATE = 90000
GIVE_UP_TICKS = VIDEO_CLOCK_RATE // 5  # 200 ms: a NACK round trip on any usable line
MAX_PACKETS = 512  # held at most (aiortc's video jitter buffer holds as many)
_MAX_MISORDER = 100


def starts_frame(payload: bytes) -> bool:
    """VP8 payload descriptor: start of a partition (S) and partition index 0."""
    return bool(payload) and payload[0] & 0x10 != 0 and payload[0] & 0x07 == 0


class VideoFrameAssembler:
    """Collects one stream's VP8 packets; ``add`` returns a frame as soon as one is complete.

    Same interface as aiortc's ``JitterBuffer.add``: ``(pli_flag, frame)``,
    where ``pli_flag`` asks the sender for a keyframe (a frame was given up).
    When several frames complete at once (a retransmission filled a gap),
    the first is returned and the others wait in :attr:`ready`.
    """

    capacity = MAX_PACKETS

    def __init__(self) -> None:
        self._packets: dict[int, RtpPacket] = {}
        self._next: int | None = None  # sequence number the next frame starts at
        self.ready: list[JitterFrame] = []
        self.media_ssrc = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        self.media_ssrc = packet.ssrc
        seq = packet.sequence_number
        if self._next is not None and self._is_past(seq):
            return False, None  # a duplicate, or a retransmission that came too late
        self._packets[seq] = packet
        pli = False
        if self._next is None:
            pli = self._find_start(seq)
        while self._next is not None:
            frame = self._take_frame(self._next)
            if frame is None:
                break
            self.ready.append(frame)
        if not self.ready and self._should_give_up(packet):
            self._skip_gap()
            pli = True
            while self._next is not None and (frame := self._take_frame(self._next)):
                self.ready.append(frame)
        if len(self._packets) > MAX_PACKETS:
            self._packets.clear()
            self._next = None
            pli = True
        return pli, self.ready.pop(0) if self.ready else None

    def _is_past(self, seq: int) -> bool:
        assert self._next is not None
        behind = uint16_add(self._next, -seq)
        return 0 < behind < _MAX_MISORDER

    def _find_start(self, seq: int) -> bool:
        """Before the first frame: start at the first packet that starts a frame."""
        packet = self._packets[seq]
        if starts_frame(packet.payload):
            self._next = seq
            for old in [s for s in self._packets if uint16_gt(seq, s)]:
                del self._packets[old]
        return False

    def _take_frame(self, start: int) -> JitterFrame | None:
        """The frame starting at ``start`` if all its packets are here (removed), else None."""
        first = self._packets.get(start)
        if first is None:
            return None
        seq, packet = start, first
        count = 1
        while not packet.marker:
            seq = uint16_add(seq, 1)
            following = self._packets.get(seq)
            if following is None or following.timestamp != first.timestamp:
                return None
            packet = following
            count += 1
            if count > MAX_PACKETS:
                return None
        parts = [self._packets.pop(uint16_add(start, i))._data for i in range(count)]  # type: ignore[attr-defined]
        self._next = uint16_add(seq, 1)
        return JitterFrame(data=b"".join(parts), timestamp=first.timestamp)

    def _should_give_up(self, newest: RtpPacket) -> bool:
        """A frame is missing packets, and later ones have waited longer than a retransmission."""
        if self._next is None or not newest.marker:
            return False
        waiting = self._packets.get(self._next)
        oldest = waiting.timestamp if waiting is not None else self._oldest_timestamp()
        if oldest is None:
            return False
        return (newest.timestamp - oldest) % (1 << 32) > GIVE_UP_TICKS

    def _oldest_timestamp(self) -> int | None:
        assert self._next is not None
        start = self._next
        after = [s for s in self._packets if not uint16_gt(start, s)]
        if not after:
            return None
        first = min(after, key=lambda s: uint16_add(s, -start))
        return self._packets[first].timestamp

    def _skip_gap(self) -> None:
        """Drop what the missing packets belonged to; go on at the next frame start."""
        assert self._next is not None
        start = self._next
        ahead = sorted(self._packets, key=lambda s: uint16_add(s, -start))
        waiting = self._packets.get(start)
        skipped = waiting.timestamp if waiting is not None else None
        resume = next(
            (
                seq
                for seq in ahead
                if seq != start
                and self._packets[seq].timestamp != skipped
                and starts_frame(self._packets[seq].payload)
            ),
            None,
        )
        if resume is None:
            self._packets.clear()
            self._next = None
            return
        for seq in ahead:
            if seq == resume:
                break
            del self._packets[seq]
        self._next = resume

    def take_ready(self) -> list[JitterFrame]:
        """Frames completed together with the one ``add`` returned (oldest first)."""
        ready, self.ready = self.ready, []
        return ready
