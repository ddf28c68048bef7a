"""Retention: recordings older than the configured number of days are deleted by ``purge``."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from .finalize import META, is_finished
from .layout import all_folders


@dataclass(frozen=True, slots=True)
class Expired:
    call_id: str
    folder: Path
    started_at: float


def expired(root: Path, cutoff: float) -> list[Expired]:
    """Finished recordings under ``root`` that started before ``cutoff`` (Unix time).

    Unfinished folders are left alone: the next start of the server finishes
    them, and they may belong to a call that is still going.
    """
    found = []
    for folder in all_folders(root):
        if not is_finished(folder):
            continue
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        started = float(meta.get("started_at") or meta.get("finalized_at") or 0)
        if started < cutoff:
            found.append(Expired(str(meta.get("call_id") or folder.name), folder, started))
    return found


def delete(recording: Expired, root: Path) -> None:
    """Delete one recording's folder, and the day folders it leaves empty."""
    shutil.rmtree(recording.folder)
    parent = recording.folder.parent
    while parent != root and parent.is_relative_to(root):
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break
        parent = parent.parent
