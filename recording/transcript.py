"""A finished call's transcript, written beside its recording: JSON and WebVTT.

The utterances are already on the timeline (events.jsonl, one line each, as
they were said: already redacted, so nothing here can reveal a number). At
the end of the call they are gathered into ``transcript.json`` (for the
replay page and search) and ``transcript.vtt`` (captions any player shows).
Both are made from the timeline alone, so a recording recovered after a
crash gets them too.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from .timeline import EntryType

TRANSCRIPT = "transcript.json"
CAPTIONS = "transcript.vtt"
SPEAKERS = {"customer": "Customer", "agent": "Agent", "supervisor": "Supervisor"}


def transcript_from(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The transcript of a call's timeline; None when nothing was transcribed."""
    utterances = [e["utterance"] for e in events if e.get("type") == EntryType.UTTERANCE]
    state = _last(events, EntryType.TRANSCRIPTION_STATE)
    if not utterances and state is None:
        return None
    utterances.sort(key=lambda u: (u.get("start_ms", 0), u.get("end_ms", 0)))
    alerts = [
        {"t_ms": e.get("t_ms"), **e["alert"]}
        for e in events
        if e.get("type") == EntryType.TRANSCRIPT_ALERT and isinstance(e.get("alert"), dict)
    ]
    customer = [
        u["sentiment"]["score"]
        for u in utterances
        if u.get("role") == "customer" and (u.get("sentiment") or {}).get("score") is not None
    ]
    keywords = Counter(k for u in utterances for k in u.get("keywords", []))
    return {
        "language": (state or {}).get("language"),
        "state": (state or {}).get("state"),
        "reason": (state or {}).get("reason"),
        "utterances": utterances,
        "alerts": alerts,
        "summary": {
            "utterances": len(utterances),
            "words": sum(len(u.get("words") or []) for u in utterances),
            "keywords": dict(keywords),
            "customer_sentiment": round(sum(customer) / len(customer), 3) if customer else None,
            "customer_negative": sum(
                1
                for u in utterances
                if u.get("role") == "customer"
                and (u.get("sentiment") or {}).get("label") == "negative"
            ),
        },
    }


def write_transcript(folder: Path, events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Write transcript.json and transcript.vtt into ``folder``; their entry for meta.json.

    A call transcribed without a word said, or not transcribed (no model), gets no
    files: its entry says what happened and why.
    """
    transcript = transcript_from(events)
    if transcript is None:
        return None
    files = {}
    if transcript["utterances"]:  # else only why there is none is kept, in meta.json
        write_whole(folder / TRANSCRIPT, json.dumps(transcript, ensure_ascii=False, indent=1))
        write_whole(folder / CAPTIONS, webvtt(transcript["utterances"]))
        files = {"file": TRANSCRIPT, "captions": CAPTIONS}
    return {
        **files,
        "language": transcript["language"],
        "state": transcript["state"],
        "reason": transcript["reason"],
        **transcript["summary"],
    }


def webvtt(utterances: list[dict[str, Any]]) -> str:
    """WebVTT captions, one cue per utterance, the speaker as the cue's voice."""
    lines = ["WEBVTT", ""]
    for n, utterance in enumerate(utterances, start=1):
        start = int(utterance.get("start_ms") or 0)
        end = max(int(utterance.get("end_ms") or 0), start + 1)
        speaker = SPEAKERS.get(str(utterance.get("role")), "Speaker")
        text = _cue_text(str(utterance.get("text", "")))
        lines += [str(n), f"{_timestamp(start)} --> {_timestamp(end)}", f"<v {speaker}>{text}", ""]
    return "\n".join(lines)


def _cue_text(text: str) -> str:
    # A cue's text may not hold "-->" and treats < and & as markup.
    return " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _last(events: list[dict[str, Any]], event_type: str) -> dict[str, Any] | None:
    return next((e for e in reversed(events) if e.get("type") == event_type), None)


def write_whole(path: Path, text: str) -> None:
    """Write a file whole or not at all (a crash leaves the old one, or none)."""
    partial = path.with_name(path.name + ".tmp")
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
