"""One writer thread writes every recording of the node.

Guards:
- two recordings fed interleaved frames come out as two files, each with
  exactly its own frames, in order, and their own timelines;
- shutting the writer down while a call is still recorded closes that call's
  files, so everything queued before the shutdown is on disk and plays.

Every frame fed is a different Opus packet (a tone that rises frame by frame), so a
frame written to the wrong call, swapped with its neighbour or dropped shows in the file.
"""

from __future__ import annotations

import fractions
import json
from pathlib import Path

import av
import numpy as np

from recording.writer import DiskWriter, RecordingWriter

FRAME_MS = 20
SAMPLES = 48000 * FRAME_MS // 1000


def distinct_frames(count: int) -> list[bytes]:
    """``count`` 20 ms Opus packets, each of its own tone, so no two are alike."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = 48000
    encoder.layout = "stereo"
    encoder.format = "s16"
    encoder.time_base = fractions.Fraction(1, 48000)
    seconds = np.arange(SAMPLES) / 48000
    packets: list[av.Packet] = []
    for n in range(count + 4):  # a few more: the encoder holds some back
        mono = (8000 * np.sin(2 * np.pi * (200 + 37 * n) * seconds)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate = 48000
        frame.pts = n * SAMPLES
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    frames = [bytes(p) for p in packets][:count]
    assert len(set(frames)) == count
    return frames


def packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [
            (round(float(p.pts * p.time_base) * 1000), bytes(p))
            for p in container.demux(stream)
            if p.size
        ]


def test_two_recordings_share_the_writer_and_keep_their_own_frames(tmp_path: Path) -> None:
    disk = DiskWriter()
    frames = distinct_frames(100)
    # Frames alternate between the two calls: a gets the even 20 ms slots, b the odd ones.
    a = RecordingWriter(tmp_path / "a", disk)
    b = RecordingWriter(tmp_path / "b", disk)
    a.start()
    b.start()
    for n, data in enumerate(frames):
        (a if n % 2 == 0 else b).frame("customer-mic", "audio", data, n * FRAME_MS, True)
    a.event(json.dumps({"type": "note", "who": "a"}))
    b.event(json.dumps({"type": "note", "who": "b"}))
    spans = a.stop().result(timeout=10), b.stop().result(timeout=10)
    disk.close().result(timeout=10)

    assert spans[0]["customer-mic"]["frames"] == 50
    assert spans[1]["customer-mic"]["frames"] == 50
    a_packets = packets(tmp_path / "a/streams/customer-mic.webm.part")
    b_packets = packets(tmp_path / "b/streams/customer-mic.webm.part")
    a_times = [t for t, _ in a_packets]
    b_times = [t for t, _ in b_packets]
    # Each file runs from its own first frame to its own last (the other call's slots are
    # filled with silence, as a gap in any audio track is).
    assert a_times[0] == 0 and a_times[-1] == 98 * FRAME_MS
    assert b_times[0] == FRAME_MS and b_times[-1] == 99 * FRAME_MS
    assert a_times == sorted(a_times) and b_times == sorted(b_times)
    # Each call's own frames, in the order and at the times they were fed; the slots
    # between them hold the filler, never the other call's frames.
    fed = set(frames)
    assert [data for _, data in a_packets if data in fed] == frames[0::2]
    assert [data for _, data in b_packets if data in fed] == frames[1::2]
    assert {t: data for t, data in a_packets if data in fed} == {
        n * FRAME_MS: frames[n] for n in range(0, 100, 2)
    }
    assert {t: data for t, data in b_packets if data in fed} == {
        n * FRAME_MS: frames[n] for n in range(1, 100, 2)
    }
    assert json.loads((tmp_path / "a/events.jsonl").read_text())["who"] == "a"
    assert json.loads((tmp_path / "b/events.jsonl").read_text())["who"] == "b"


def test_shutdown_closes_the_files_of_a_call_still_recorded(tmp_path: Path) -> None:
    disk = DiskWriter()
    frames = distinct_frames(150)  # 3 s
    live = RecordingWriter(tmp_path / "live", disk)
    live.start()
    for n, data in enumerate(frames):
        live.frame("agent-mic", "audio", data, n * FRAME_MS, True)
    live.event(json.dumps({"type": "note"}))

    disk.close().result(timeout=10)

    assert live.stop().done(), "the shutdown must settle the recording's writer"
    written = packets(tmp_path / "live/streams/agent-mic.webm.part")
    assert [data for _, data in written] == frames, "every frame, in the order fed"
    assert [t for t, _ in written] == [n * FRAME_MS for n in range(150)]
    assert (tmp_path / "live/events.jsonl").read_text().strip()
