"""A recording cut off by a crash gets the categories its call met, not only those matched live.

The node was killed mid-call: its timeline ends where the kill came (the last line cut
off), with the facts the node had been fed (utterances, talk spurts, a quality alert, a
hold still going on) but only the one match written before the kill. Guards:
- recovered with the node's rules, the recording's meta and the index's search have every
  category the timeline meets: those only the end decides (a phrase not said in the first
  30 s, the sentiment at the end, a call shorter than 10 min) and those the node had no
  time to write (talk-over, a bad line, a long hold); a rule that does not hold is not met;
- the one matched live is kept as it was (moment, evidence, ``live``); those added were
  never seen by the floor, so they are not ``live``;
- without rules configured, a recovered recording's categories are exactly those matched
  live.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from categories import Match, Severity, parse_rules
from conversation.voice import TalkSpurt
from node.recordings import CallRecordings
from quality.alerts import Alert, AlertChange, AlertKind
from quality.sample import Direction
from recording.index import Query
from recording.layout import folder_for
from recording.timeline import EntryType, TimelineEntry

RULES = parse_rules(
    """
[[category]]
name = "Asked to cancel"
[[category.condition]]
said = { by = "customer", phrases = ["cancel"] }

[[category]]
name = "Disclosure missing"
[[category.condition]]
said = { by = "agent", phrases = ["this call is recorded"], within_first_s = 30, negate = true }

[[category]]
name = "Ended unhappy"
[[category.condition]]
sentiment = { of = "customer", at = "end", label = "negative" }

[[category]]
name = "Short call"
[[category.condition]]
duration = { shorter_than_s = 600 }

[[category]]
name = "Talk-over"
[[category.condition]]
interruptions = { more_than = 0, by = "customer" }

[[category]]
name = "Bad line"
[[category.condition]]
quality = { kind = "loss", of = "customer" }

[[category]]
name = "Long hold"
[[category.condition]]
paused = { longer_than_s = 10 }

[[category]]
name = "Refund promised"
[[category.condition]]
said = { by = "agent", phrases = ["refund"] }
"""
)
CALL_ID = "c_0123456789abcdef"
STARTED = time.time() - 120
KILLED_MS = 31_000  # the last whole line of the timeline
# What the node matched live and wrote before the kill.
LIVE = Match(
    "Asked to cancel", 2000, Severity.INFO, False, 'the customer said "cancel" at 0:02', True
)


def spurt(role: str, start_ms: int, end_ms: int) -> dict[str, Any]:
    return {"role": role, **TalkSpurt(start_ms, end_ms, -30.0, -20.0).to_wire()}


def cut_off_timeline(root: Path) -> Path:
    """A recording folder as a node killed 31 s into the call leaves it (no meta.json)."""
    folder = folder_for(root, CALL_ID, STARTED)
    (folder / "streams").mkdir(parents=True)
    loss = Alert(
        AlertKind.HIGH_LOSS, "p_customer", "customer", Direction.INBOUND, "audio", 9.0, 3.0, "loss"
    )
    entries: list[tuple[str, int, dict[str, Any]]] = [
        (EntryType.RECORDING_STARTED, 0, {"call_id": CALL_ID, "call": {}, "node": "gone"}),
        (
            EntryType.UTTERANCE,
            4000,
            {
                "utterance": {
                    "role": "customer",
                    "text": "I want to cancel my order",
                    "start_ms": 2000,
                    "end_ms": 4000,
                    "sentiment": {"score": -0.6, "label": "negative"},
                }
            },
        ),
        (EntryType.CATEGORY_MATCHED, 4000, {"match": LIVE.to_wire()}),
        (EntryType.TALK_SPURT, 9000, spurt("agent", 5000, 9000)),
        (EntryType.TALK_SPURT, 9500, spurt("customer", 7000, 9500)),  # over the agent
        (EntryType.QUALITY_ALERT, 12_000, AlertChange(loss, True).to_wire()),
        (EntryType.QUALITY_ALERT, 14_000, AlertChange(loss, False).to_wire()),
        (EntryType.RECORDING_PAUSED, 15_000, {"by": "agent"}),
        (EntryType.QUALITY_SAMPLE, KILLED_MS, {"samples": []}),
    ]
    lines = [
        TimelineEntry(kind, t_ms, STARTED + t_ms / 1000, fields).to_line()
        for kind, t_ms, fields in entries
    ]
    cut = '{"t_ms": 31950, "type": "quality_sam'  # the line the kill cut off
    (folder / "events.jsonl").write_text("\n".join([*lines, cut]), encoding="utf-8")
    return folder


async def recover(root: Path, **rules: Any) -> tuple[dict[str, Any], CallRecordings]:
    recordings = CallRecordings(root, enabled=True, node_id="restarted")
    await recordings.open(**rules)
    folder = folder_for(root, CALL_ID, STARTED)
    return json.loads((folder / "meta.json").read_text(encoding="utf-8")), recordings


async def found_by(recordings: CallRecordings, category: str) -> list[str]:
    return [r["call_id"] for r in await recordings.search(Query(category=category))]


async def test_a_recovered_recording_gets_the_categories_the_crash_left_undecided(
    tmp_path: Path,
) -> None:
    cut_off_timeline(tmp_path)
    meta, recordings = await recover(tmp_path, rules=RULES)
    try:
        assert meta["recovered"] is True
        kept = {m["category"]: m for m in meta["categories"]}
        assert kept["Asked to cancel"] == LIVE.to_wire()
        added = {name: (m["at_ms"], m["live"]) for name, m in kept.items() if m != LIVE.to_wire()}
        assert added == {
            "Disclosure missing": (30_000, False),  # when its window closed
            "Ended unhappy": (2000, False),  # the last thing the customer said
            "Short call": (KILLED_MS, False),  # the call ran until the kill
            "Talk-over": (7000, False),
            "Bad line": (12_000, False),
            "Long hold": (15_000, False),  # the hold the kill came in
        }
        assert [m["at_ms"] for m in meta["categories"]] == sorted(
            m["at_ms"] for m in meta["categories"]
        )
        assert "Refund promised" not in kept
        for name in ("Asked to cancel", "Disclosure missing", "Short call"):
            assert await found_by(recordings, name) == [CALL_ID], name
        assert await found_by(recordings, "Refund promised") == []
    finally:
        await recordings.close()


async def test_without_rules_a_recovered_recording_keeps_what_was_matched_live(
    tmp_path: Path,
) -> None:
    cut_off_timeline(tmp_path)
    meta, recordings = await recover(tmp_path)
    try:
        assert meta["recovered"] is True
        assert meta["categories"] == [LIVE.to_wire()]
        assert await found_by(recordings, "Asked to cancel") == [CALL_ID]
        assert await found_by(recordings, "Short call") == []
    finally:
        await recordings.close()
