"""Finishing a recording: closed stream files, one multi-track file, and meta.json.

A recording folder is finished when it has a ``meta.json``; until then its
stream files end in ``.part``. Finishing works from the folder alone (the
events.jsonl and the files), so the same code finishes a recording after a
clean hang-up and one that a crash left behind ("recovered"). It runs in a
worker thread: it reads and writes whole files.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import os
import time
from collections.abc import Container, Iterator
from pathlib import Path
from typing import Any

import av

from categories import Rules

from .categories import categories_from
from .conversation import stretches_from, write_conversation
from .layout import all_folders
from .renditions import make_renditions
from .timeline import EntryType
from .transcript import write_transcript
from .writer import PART_SUFFIX

logger = logging.getLogger(__name__)

META = "meta.json"
EVENTS = "events.jsonl"
COMBINED = "recording.webm"


def is_finished(folder: Path) -> bool:
    return (folder / META).is_file()


def finished_recordings(root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every finished recording under ``root`` with its meta.json (unreadable ones skipped)."""
    for folder in all_folders(root):
        if not is_finished(folder):
            continue
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        yield folder, meta


def recover_unfinished(
    root: Path,
    *,
    started_before: float,
    recording_elsewhere: Container[str] = (),
    rules: Rules | None = None,
) -> list[tuple[Path, dict[str, Any]]]:
    """Finish every recording under ``root`` that a crash left without a meta.json.

    Only recordings started before ``started_before`` (this process's start)
    are touched: a folder without meta.json from then belongs to a recorder
    that is gone, while one started since may be recording right now. Nor is a
    recording whose latest segment a node in ``recording_elsewhere`` (the other
    live nodes sharing this disk) writes: it goes on there. ``rules``: the
    operator's categories, to decide what the crash left undecided (see
    ``finalize``).
    """
    recovered: list[tuple[Path, dict[str, Any]]] = []
    for folder in all_folders(root):
        if is_finished(folder):
            continue
        events = read_events(folder)
        started = next((e for e in events if e.get("type") == EntryType.RECORDING_STARTED), {})
        if float(started.get("at") or 0) >= started_before:
            continue
        parts = (EntryType.RECORDING_STARTED, EntryType.RECORDING_CONTINUED)
        latest: dict[str, Any] = next((e for e in reversed(events) if e.get("type") in parts), {})
        if latest.get("node") in recording_elsewhere:
            continue
        try:
            recovered.append((folder, finalize(folder, recovered=True, rules=rules)))
            logger.warning("recording %s was cut off; recovered it", folder.name)
        except Exception:
            logger.exception("recording %s could not be recovered", folder.name)
    return recovered


def read_events(folder: Path) -> list[dict[str, Any]]:
    """Every whole line of events.jsonl; a line cut off by a crash is skipped."""
    events: list[dict[str, Any]] = []
    try:
        text = (folder / EVENTS).read_text(encoding="utf-8")
    except FileNotFoundError:
        return events
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def finalize(folder: Path, *, recovered: bool, rules: Rules | None = None) -> dict[str, Any]:
    """Close out the recording in ``folder`` and write its meta.json; returns the meta.

    ``rules``: the operator's categories, to evaluate the call's timeline again and add
    what was not matched live (a call cut off by a crash never had its end decided).
    """
    events = read_events(folder)
    streams_dir = folder / "streams"
    for part in sorted(streams_dir.glob(f"*.webm{PART_SUFFIX}")):
        part.rename(part.with_name(part.name.removesuffix(PART_SUFFIX)))
    described = {e["stream"]: e for e in events if e.get("type") == EntryType.STREAM_STARTED}
    streams: list[dict[str, Any]] = []
    for path in sorted(streams_dir.glob("*.webm")):
        span = _span(path)
        if span is None:
            logger.warning("recording %s: %s holds no media, dropped", folder.name, path.name)
            path.unlink()
            continue
        info = described.get(path.name.removesuffix(".webm"), {})
        streams.append(
            {
                "file": f"streams/{path.name}",
                "participant_id": info.get("participant_id"),
                "role": info.get("role"),
                "source": info.get("source"),
                "kind": info.get("kind"),
                "frames": span[0],
                "first_ms": span[1],
                "last_ms": span[2],
                "bytes": path.stat().st_size,
                "sha256": _sha256(path),
            }
        )
    combined = folder / COMBINED
    duration_ms = max((s["last_ms"] for s in streams), default=0)
    renditions: dict[str, Any] = {}
    if streams:
        _combine([folder / s["file"] for s in streams], combined)
        for stream in streams:
            if stream["kind"] == "video":
                # The live-written file has no cues; the player's copy does, so it seeks at once.
                copy = f"video/{Path(stream['file']).name}"
                (folder / "video").mkdir(exist_ok=True)
                _combine([folder / stream["file"]], folder / copy)
                stream["playback_file"] = copy
        renditions = make_renditions(folder, streams, duration_ms + 20)
        for rendition in renditions.values():
            path = folder / rendition["file"]
            rendition.update(bytes=path.stat().st_size, sha256=_sha256(path))
    started = next((e for e in events if e.get("type") == EntryType.RECORDING_STARTED), {})
    pauses = stretches_from(events, EntryType.RECORDING_PAUSED, EntryType.RECORDING_RESUMED)
    meta: dict[str, Any] = {
        "call_id": started.get("call_id", folder.name),
        "started_at": started.get("at"),
        "finalized_at": time.time(),
        "duration_ms": duration_ms,
        "recovered": recovered,
        "call": started.get("call", {}),
        "participants": [
            {k: e.get(k) for k in ("participant_id", "role", "name")}
            for e in events
            if e.get("type") == EntryType.PARTICIPANT_JOINED
        ],
        "pauses": pauses,
        "tags": _tags(events, started.get("call", {})),
        "end_reason": next(
            (e.get("reason") for e in events if e.get("type") == EntryType.CALL_ENDED), None
        ),
        "quality": next(
            (e.get("summary") for e in events if e.get("type") == EntryType.QUALITY_SUMMARY), None
        ),
        "transcript": write_transcript(folder, events),
        "conversation": write_conversation(folder, events, duration_ms, pauses),
        # The operator's categories the call met, as decided live (with their moment), and
        # with ``rules`` those the timeline meets evaluated again.
        "categories": categories_from(events, rules, duration_ms=duration_ms, pauses=pauses),
        "streams": streams,
        "combined": (
            {"file": COMBINED, "bytes": combined.stat().st_size, "sha256": _sha256(combined)}
            if streams
            else None
        ),
        "renditions": renditions,
        "events_sha256": _sha256(folder / EVENTS) if (folder / EVENTS).exists() else None,
    }
    tmp = folder / (META + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(folder / META)  # the rename is the "finished" signal
    return meta


def _tags(events: list[dict[str, Any]], call: dict[str, Any]) -> list[str]:
    """Tags the agent gave the call, and the shop's metadata as ``key:value`` tags."""
    tags = {
        str(tag)
        for e in events
        if e.get("type") == EntryType.CALL_TAGGED
        for tag in e.get("tags", [])
    }
    tags |= {f"{key}:{value}" for key, value in (call.get("metadata") or {}).items()}
    return sorted(tags)


def _packets(path: Path, index: int) -> Iterator[tuple[int, int, av.Packet]]:
    """The file's packets with their pts, until the end or the point where a crash cut it."""
    container = av.open(str(path))
    try:
        for packet in container.demux(container.streams[0]):
            if packet.pts is None or packet.size == 0:
                continue
            yield packet.pts, index, packet
    except av.FFmpegError:
        return
    finally:
        container.close()


def _span(path: Path) -> tuple[int, int, int] | None:
    frames, first, last = 0, None, None
    for pts, _, _ in _packets(path, 0):
        frames += 1
        first = pts if first is None else first
        last = pts
    if not frames or first is None or last is None:
        return None
    return frames, first, last


def _combine(paths: list[Path], target: Path) -> None:
    """Remux every stream file into one WebM with a track per stream, no re-encoding."""
    tmp = target.with_name(target.name + ".tmp")
    inputs = [av.open(str(p)) for p in paths]
    try:
        output = av.open(str(tmp), "w", format="webm")
        try:
            tracks = [output.add_stream_from_template(i.streams[0]) for i in inputs]
            merged = heapq.merge(*(_packets(p, n) for n, p in enumerate(paths)), key=lambda x: x[0])
            for _, index, packet in merged:
                packet.stream = tracks[index]
                output.mux(packet)
        finally:
            output.close()
    finally:
        for container in inputs:
            container.close()
    tmp.replace(target)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
