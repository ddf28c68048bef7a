"""The customer's holds, as a finished recording keeps them.

The agent's hold control writes ``hold_started`` / ``hold_ended`` on the timeline (the
recording goes on). Guards:
- conversation.json, made from the timeline alone when the recording is finished, has the
  time on hold (``hold_ms``), how many times (``holds``) and when (``hold_spans``, on the
  recording's clock); a hold still going on when the call ended ends with it; a pause of
  the recording is counted apart (``paused_ms``), and a hold is neither a pause nor talk;
- meta.json's conversation summary has the time and the count, not the spans;
- a recording cut off by a crash, recovered with rules that ask for a long hold, gets that
  category from the holds on its timeline (the hold the crash came in counted until then),
  not live (the floor never saw it); a rule on the recording's pauses is not met by a hold.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from categories import parse_rules
from conversation.voice import TalkSpurt
from node.recordings import CallRecordings
from recording.conversation import read_conversation
from recording.finalize import finalize
from recording.layout import folder_for
from recording.timeline import EntryType, TimelineEntry
from recording.writer import DiskWriter, RecordingWriter, opus_silence

CALL_ID = "c_00000000000000ho"
STARTED = time.time() - 600
CALL_MS = 90_000  # the media's length


def line(kind: str, t_ms: int, **fields: Any) -> str:
    return TimelineEntry(kind, t_ms, STARTED + t_ms / 1000, fields).to_line()


def spurt(role: str, start_ms: int, end_ms: int) -> dict[str, Any]:
    return {"role": role, **TalkSpurt(start_ms, end_ms, -30.0, -20.0).to_wire()}


HELD_TIMELINE = [
    line(EntryType.RECORDING_STARTED, 0, call_id=CALL_ID, call={}, node="n1"),
    line(EntryType.TALK_SPURT, 9_000, **spurt("agent", 1_000, 9_000)),
    line(EntryType.TALK_SPURT, 15_000, **spurt("customer", 10_000, 15_000)),
    line(EntryType.HOLD_STARTED, 20_000, by="p_agent"),
    line(EntryType.HOLD_ENDED, 50_000, by="p_agent"),
    line(EntryType.RECORDING_PAUSED, 55_000, by="p_agent"),  # card details
    line(EntryType.RECORDING_RESUMED, 60_000, by="p_agent"),
    line(EntryType.TALK_SPURT, 68_000, **spurt("agent", 62_000, 68_000)),
    line(EntryType.HOLD_STARTED, 70_000, by="p_agent"),  # still on hold when it ended
]


def recorded_folder(root: Path, timeline: list[str]) -> Path:
    """A call's recording folder as the node leaves it: its timeline and a stream file of
    ``CALL_MS`` of audio, not yet finished."""
    folder = folder_for(root, CALL_ID, STARTED)
    disk = DiskWriter()
    writer = RecordingWriter(folder, disk)
    writer.start()
    for ms in (0, CALL_MS):  # the stream file fills the gap between them with silence
        writer.frame("agent-mic", "audio", opus_silence(), ms, True)
    for entry in timeline:
        writer.event(entry)
    writer.stop().result(timeout=10)
    disk.close().result(timeout=10)
    return folder


def test_conversation_json_has_the_holds_an_open_one_ending_with_the_call(
    tmp_path: Path,
) -> None:
    folder = recorded_folder(tmp_path, HELD_TIMELINE)
    meta = finalize(folder, recovered=False)
    assert meta["duration_ms"] == CALL_MS
    conversation = read_conversation(folder)
    assert conversation is not None
    assert conversation["hold_spans"] == [
        {"start_ms": 20_000, "end_ms": 50_000},
        {"start_ms": 70_000, "end_ms": CALL_MS},
    ]
    assert conversation["hold_ms"] == 30_000 + 20_000
    assert conversation["holds"] == 2
    assert conversation["paused_ms"] == 5_000  # the pause, apart from the holds
    assert conversation["parties"]["agent"]["talk_ms"] == 8_000 + 6_000  # hold is not talk
    summary = meta["conversation"]
    assert (summary["hold_ms"], summary["holds"], summary["paused_ms"]) == (50_000, 2, 5_000)
    assert "hold_spans" not in summary  # conversation.json only, like the spurts


def test_a_call_never_held_has_no_holds(tmp_path: Path) -> None:
    unheld = [e for e in HELD_TIMELINE if '"hold_' not in e]
    folder = recorded_folder(tmp_path, unheld)
    finalize(folder, recovered=False)
    conversation = read_conversation(folder)
    assert conversation is not None
    assert (conversation["hold_ms"], conversation["holds"], conversation["hold_spans"]) == (
        0,
        0,
        [],
    )


RULES = parse_rules(
    """
[[category]]
name = "Long hold"
severity = "warning"
alert = true
[[category.condition]]
hold = { longer_than_s = 40 }

[[category]]
name = "Held at all"
[[category.condition]]
hold = { longer_than_s = 0 }

[[category]]
name = "Recording paused long"
[[category.condition]]
paused = { longer_than_s = 20 }
"""
)
KILLED_MS = 64_000


async def test_a_recovered_recording_gets_its_long_hold_category(tmp_path: Path) -> None:
    # Killed on hold: 30 s on the first hold, 14 s into the second when the node died.
    cut_off = [
        line(EntryType.RECORDING_STARTED, 0, call_id=CALL_ID, call={}, node="gone"),
        line(EntryType.HOLD_STARTED, 10_000, by="p_agent"),
        line(EntryType.HOLD_ENDED, 40_000, by="p_agent"),
        line(EntryType.HOLD_STARTED, 50_000, by="p_agent"),
        line(EntryType.QUALITY_SAMPLE, KILLED_MS, samples=[]),
    ]
    folder = folder_for(tmp_path, CALL_ID, STARTED)
    (folder / "streams").mkdir(parents=True)
    (folder / "events.jsonl").write_text("\n".join(cut_off) + "\n", encoding="utf-8")

    recordings = CallRecordings(tmp_path, enabled=True, node_id="restarted")
    await recordings.open(rules=RULES)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        assert meta["recovered"] is True
        found = {m["category"]: m for m in meta["categories"]}
        assert set(found) == {"Long hold", "Held at all"}  # a hold pauses no recording
        long_hold = found["Long hold"]
        # 30 s on hold before, the second hold passed 40 s in all 10 s into it.
        assert (long_hold["at_ms"], long_hold["live"]) == (50_000, False)
        assert long_hold["evidence"] == (
            "the customer was on hold for over 40 s in all (from 0:50)"
        )
        assert (found["Held at all"]["at_ms"], found["Held at all"]["live"]) == (10_000, False)
    finally:
        await recordings.close()
