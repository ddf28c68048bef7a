"""Retention: recordings older than the configured number of days are deleted by ``purge``."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .finalize import finished_recordings


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
    for folder, meta in finished_recordings(root):
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
