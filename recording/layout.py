"""Where a recording lives on disk: one folder per call, partitioned by date (UTC)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from .errors import RecordingNotFoundError

# Call ids are made by the server ("c_" + hex); nothing else may name a folder.
CALL_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


def folder_for(root: Path, call_id: str, started_at: float) -> Path:
    """``root/YYYY/MM/DD/<call_id>`` for a recording started at ``started_at``."""
    if not CALL_ID.match(call_id):
        raise RecordingNotFoundError(f"{call_id!r} is not a call id")
    day = time.gmtime(started_at)
    return root / f"{day.tm_year:04d}" / f"{day.tm_mon:02d}" / f"{day.tm_mday:02d}" / call_id


def all_folders(root: Path) -> list[Path]:
    """Every recording folder under ``root`` (finished or not), oldest day first."""
    return sorted(
        p for p in root.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/*") if p.is_dir()
    )
