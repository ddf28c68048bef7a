"""A finished call's conversation characteristics, written beside its recording.

The talk spurts (each party's voice activity), the utterances, the pauses and
the holds are already on the timeline as they happened; at the end of the call
they are added up (``conversation.characteristics``) into ``conversation.json``
for the replay page and the API, and a summary for meta.json and the search
index.
Made from the timeline alone, so a recording recovered after a crash gets
them too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conversation.characteristics import Characteristics
from conversation.voice import TalkSpurt

from .timeline import EntryType
from .transcript import write_whole

CONVERSATION = "conversation.json"

# A stretch of the call as the timeline marks it, on its clock (``end_ms`` None: it was
# still going on when the timeline ended).
Stretch = dict[str, int | None]


def stretches_from(
    events: list[dict[str, Any]], begins: EntryType, ends: EntryType
) -> list[Stretch]:
    """Each stretch of a call's timeline from a ``begins`` entry to the next ``ends`` one
    (a ``begins`` while one is going on, or an ``ends`` without one, changes nothing)."""
    found: list[Stretch] = []
    for event in events:
        kind, t_ms = event.get("type"), event.get("t_ms")
        if not isinstance(t_ms, int):
            continue
        going_on = bool(found) and found[-1]["end_ms"] is None
        if kind == begins and not going_on:
            found.append({"start_ms": t_ms, "end_ms": None})
        elif kind == ends and going_on:
            found[-1]["end_ms"] = t_ms
    return found


def holds_from(events: list[dict[str, Any]]) -> list[Stretch]:
    """When the customer was on hold, by a call's timeline."""
    return stretches_from(events, EntryType.HOLD_STARTED, EntryType.HOLD_ENDED)


def spans_of(stretches: list[Stretch], duration_ms: int) -> list[tuple[int, int]]:
    """The stretches as (start, end), one still going on ending at ``duration_ms``."""
    spans: list[tuple[int, int]] = []
    for stretch in stretches:
        start, end = stretch["start_ms"] or 0, stretch["end_ms"]
        spans.append((start, max(start, duration_ms if end is None else end)))
    return spans


def talk_from(events: list[dict[str, Any]]) -> dict[str, list[TalkSpurt]] | None:
    """Each party's talk spurts on a call's timeline, by role; None when its talk was never
    measured."""
    talk: dict[str, list[TalkSpurt]] = {}
    measured = False
    for e in events:
        if e.get("type") != EntryType.TALK_SPURT:
            continue
        measured = True
        try:
            spurt = TalkSpurt(
                int(e["start_ms"]), int(e["end_ms"]), float(e["level_db"]), float(e["peak_db"])
            )
        except (KeyError, TypeError, ValueError):
            continue
        talk.setdefault(str(e.get("role")), []).append(spurt)
    return talk if measured else None


def characteristics_from(
    events: list[dict[str, Any]], duration_ms: int, pauses: list[dict[str, int | None]]
) -> Characteristics | None:
    """The characteristics of a call's timeline; None when its talk was never measured."""
    talk = talk_from(events)
    if talk is None:
        return None
    said: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        utterance = e.get("utterance") if e.get("type") == EntryType.UTTERANCE else None
        if isinstance(utterance, dict) and "start_ms" in utterance and "end_ms" in utterance:
            said.setdefault(str(utterance.get("role")), []).append(utterance)
    paused = spans_of(pauses, duration_ms)
    held = spans_of(holds_from(events), duration_ms)
    return Characteristics(duration_ms, talk, said, paused, held)


def write_conversation(
    folder: Path,
    events: list[dict[str, Any]],
    duration_ms: int,
    pauses: list[dict[str, int | None]],
) -> dict[str, Any] | None:
    """Write conversation.json into ``folder``; its summary for meta.json (None: no talk
    was measured, as in a recording made before kotha measured it)."""
    characteristics = characteristics_from(events, duration_ms, pauses)
    if characteristics is None:
        return None
    wire = characteristics.to_wire()
    write_whole(folder / CONVERSATION, json.dumps(wire, ensure_ascii=False))
    listed = ("spurts", "interruptions", "hold_spans")  # in conversation.json only
    summary = {k: v for k, v in wire.items() if k not in listed}
    return {"file": CONVERSATION, **summary}


def read_conversation(folder: Path) -> dict[str, Any] | None:
    """The conversation.json of a finished recording (None: it has none, or it is unreadable)."""
    try:
        data = json.loads((folder / CONVERSATION).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
