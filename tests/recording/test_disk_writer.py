"""One writer thread writes every recording of the node.

Guards:
- two recordings fed interleaved frames come out as two files, each with
  exactly its own frames, in order, and their own timelines;
- shutting the writer down while a call is still recorded closes that call's
  files, so everything queued before the shutdown is on disk and plays.
"""

from __future__ import annotations

import json
from pathlib import Path

import av

from recording.writer import DiskWriter, RecordingWriter, opus_silence

FRAME_MS = 20


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
    silence = opus_silence()
    # Frames alternate between the two calls: a gets the even 20 ms slots, b the odd ones.
    a = RecordingWriter(tmp_path / "a", disk)
    b = RecordingWriter(tmp_path / "b", disk)
    a.start()
    b.start()
    for n in range(100):
        (a if n % 2 == 0 else b).frame("customer-mic", "audio", silence, n * FRAME_MS, True)
    a.event(json.dumps({"type": "note", "who": "a"}))
    b.event(json.dumps({"type": "note", "who": "b"}))
    spans = a.stop().result(timeout=10), b.stop().result(timeout=10)
    disk.close().result(timeout=10)

    assert spans[0]["customer-mic"]["frames"] == 50
    assert spans[1]["customer-mic"]["frames"] == 50
    a_times = [t for t, _ in packets(tmp_path / "a/streams/customer-mic.webm.part")]
    b_times = [t for t, _ in packets(tmp_path / "b/streams/customer-mic.webm.part")]
    # Each file runs from its own first frame to its own last (the other call's slots are
    # filled with silence, as a gap in any audio track is).
    assert a_times[0] == 0 and a_times[-1] == 98 * FRAME_MS
    assert b_times[0] == FRAME_MS and b_times[-1] == 99 * FRAME_MS
    assert a_times == sorted(a_times) and b_times == sorted(b_times)
    assert json.loads((tmp_path / "a/events.jsonl").read_text())["who"] == "a"
    assert json.loads((tmp_path / "b/events.jsonl").read_text())["who"] == "b"


def test_shutdown_closes_the_files_of_a_call_still_recorded(tmp_path: Path) -> None:
    disk = DiskWriter()
    silence = opus_silence()
    live = RecordingWriter(tmp_path / "live", disk)
    live.start()
    for n in range(150):  # 3 s
        live.frame("agent-mic", "audio", silence, n * FRAME_MS, True)
    live.event(json.dumps({"type": "note"}))

    disk.close().result(timeout=10)

    assert live.stop().done(), "the shutdown must settle the recording's writer"
    times = [t for t, _ in packets(tmp_path / "live/streams/agent-mic.webm.part")]
    assert len(times) == 150 and times[-1] == 149 * FRAME_MS
    assert (tmp_path / "live/events.jsonl").read_text().strip()
