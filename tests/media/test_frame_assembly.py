"""Video frames leave the server the moment their last packet arrives, in order.

Guards (media.frame_assembly):
- a frame is released on its marker packet, not when the next frame begins (aiortc's
  jitter buffer held each frame one frame interval, which a receiving browser measured as
  33 ms of jitter on a clean line);
- packets arriving out of order, or a retransmission filling a gap, still give every frame
  once, whole and in order;
- a frame whose packet never comes is given up once later frames waited 200 ms, with a
  keyframe request, and forwarding goes on at the next frame start;
- duplicates and late retransmissions of frames already sent are ignored.
"""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from media.frame_assembly import GIVE_UP_TICKS, VideoFrameAssembler

FRAME_TICKS = 3000  # 30 frames a second on the 90 kHz clock


def packets(frame: int, count: int, first_seq: int) -> list[RtpPacket]:
    """One VP8 frame in ``count`` packets: the first starts the frame, the last has the marker."""
    made = []
    for i in range(count):
        descriptor = 0x10 if i == 0 else 0x00  # S bit on the first packet, partition 0
        packet = RtpPacket(
            payload_type=96,
            sequence_number=(first_seq + i) % 65536,
            timestamp=(1000 + frame * FRAME_TICKS) % (1 << 32),
            ssrc=1234,
            payload=bytes([descriptor]) + bytes([frame % 256, i]),
        )
        packet.marker = 1 if i == count - 1 else 0
        packet._data = bytes([frame % 256, i])  # type: ignore[attr-defined]
        made.append(packet)
    return made


def stream(frames: int, per_frame: int = 3, first_seq: int = 100) -> list[list[RtpPacket]]:
    return [packets(f, per_frame, first_seq + f * per_frame) for f in range(frames)]


def feed(assembler: VideoFrameAssembler, packet: RtpPacket) -> tuple[bool, list[int]]:
    """Add one packet; the frame numbers released (the one returned and any that followed)."""
    pli, frame = assembler.add(packet)
    released = [] if frame is None else [frame]
    released += assembler.take_ready()
    return pli, [f.data[0] for f in released]


def test_a_frame_leaves_with_its_last_packet() -> None:
    assembler = VideoFrameAssembler()
    first, second = stream(2)
    assert feed(assembler, first[0]) == (False, [])
    assert feed(assembler, first[1]) == (False, [])
    pli, released = feed(assembler, first[2])
    assert (pli, released) == (False, [0])  # not waiting for frame 1 to begin
    frame_data = [feed(assembler, p)[1] for p in second]
    assert frame_data == [[], [], [1]]


def test_the_frame_holds_its_packets_in_order() -> None:
    assembler = VideoFrameAssembler()
    frame = packets(0, 4, 65534)  # sequence numbers wrap inside the frame
    for packet in frame[:-1]:
        assembler.add(packet)
    _, whole = assembler.add(frame[-1])
    assert whole is not None
    assert whole.data == b"".join(p._data for p in frame)  # type: ignore[attr-defined]
    assert whole.timestamp == frame[0].timestamp


def test_reordered_packets_and_a_retransmission_give_every_frame_once_in_order() -> None:
    assembler = VideoFrameAssembler()
    frames = stream(4)
    released: list[int] = []
    late = frames[1][1]  # lost on the way, retransmitted after frames 2 and 3 arrived
    order = [*frames[0][::-1], frames[1][0], frames[1][2], *frames[2], *frames[3], late]
    for packet in order:
        released += feed(assembler, packet)[1]
    assert released == [0, 1, 2, 3]
    # The retransmission, again: nothing more.
    assert feed(assembler, late) == (False, [])


def test_a_frame_that_never_completes_is_given_up_with_a_keyframe_request() -> None:
    assembler = VideoFrameAssembler()
    per_gap = GIVE_UP_TICKS // FRAME_TICKS + 2
    frames = stream(per_gap + 2)
    released: list[int] = []
    asked = False
    for number, frame in enumerate(frames):
        for packet in frame:
            if number == 1 and packet is frame[1]:
                continue  # lost for good
            pli, got = feed(assembler, packet)
            asked |= pli
            released += got
    assert asked
    assert released[0] == 0 and 1 not in released
    # Forwarding goes on: the last frames all went out, in order.
    assert released == sorted(released)
    assert released[-1] == len(frames) - 1


def test_it_starts_at_the_first_frame_start() -> None:
    assembler = VideoFrameAssembler()
    first, second = stream(2)
    # Joined mid-frame: the tail of frame 0 cannot be a frame.
    assert feed(assembler, first[2]) == (False, [])
    released = [r for p in second for r in feed(assembler, p)[1]]
    assert released == [1]
