"""Which files of a finished recording may be served, and where they are, safely.

Requests never name a path: they name a recording and a *key* (``playback``,
``dual_channel``, ``stream-2``...), and the key is looked up in the
recording's meta.json. The resulting path is still checked: inside the
recording's folder, not absolute, no ``..``, not a symlink, a regular file.

A player asks for one byte range at a time (``Range: bytes=0-``); :func:`byte_range`
accepts exactly that and refuses in words anything longer, stranger or larger.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import RangeNotSatisfiableError, RecordingNotFoundError

KEY = re.compile(
    r"^(recording|playback|dual_channel|events|transcript|transcript_vtt|stream-\d{1,3})$"
)
# A single range of a file of up to 10**19 bytes fits in 46 characters; like nginx,
# which refuses absurd ranges, anything far longer is not a player asking.
MAX_RANGE_HEADER = 200
# RFC 9110 section 14.1.2: "bytes=" first-pos "-" [last-pos], or "bytes=-" suffix-length.
ONE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.ASCII | re.IGNORECASE)
CONTENT_TYPES = {
    ".webm": "video/webm",
    ".wav": "audio/wav",
    ".jsonl": "application/x-ndjson",
    ".json": "application/json; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
}


def media_files(meta: dict[str, Any]) -> dict[str, str]:
    """Every servable file of a recording, by key, as paths relative to its folder."""
    files: dict[str, str] = {"events": "events.jsonl"}
    if meta.get("combined"):
        files["recording"] = meta["combined"]["file"]
    renditions = meta.get("renditions") or {}
    if "playback" in renditions:
        files["playback"] = renditions["playback"]["file"]
    if "dual_channel" in renditions:
        files["dual_channel"] = renditions["dual_channel"]["file"]
    transcript = meta.get("transcript") or {}
    if transcript.get("file"):
        files["transcript"] = transcript["file"]
    if transcript.get("captions"):
        files["transcript_vtt"] = transcript["captions"]
    for n, stream in enumerate(meta.get("streams") or []):
        files[f"stream-{n}"] = stream.get("playback_file") or stream["file"]
    return files


def resolve(folder: Path, meta: dict[str, Any], key: str) -> Path:
    """The file for ``key`` in ``folder``, or RecordingNotFoundError; never outside the folder."""
    if not KEY.match(key):
        raise RecordingNotFoundError(f"no file {key!r} in a recording")
    relative = media_files(meta).get(key)
    if relative is None:
        raise RecordingNotFoundError(f"this recording has no {key}")
    parts = PurePosixPath(relative)
    if parts.is_absolute() or ".." in parts.parts or "\\" in relative:
        raise RecordingNotFoundError(f"{key} does not name a file inside the recording")
    path = folder / relative
    base = folder.resolve(strict=True)
    current = folder
    for part in parts.parts:
        current = current / part
        if current.is_symlink():
            raise RecordingNotFoundError(f"{key} is a link, and links are not served")
    resolved = path.resolve(strict=False)
    if not resolved.is_relative_to(base) or not resolved.is_file():
        raise RecordingNotFoundError(f"{key} is not a file of this recording")
    return resolved


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix, "application/octet-stream")


def byte_range(header: str, size: int) -> tuple[int, int]:
    """The one range of a ``size``-byte file that ``header`` asks for: (first, last), inclusive.

    Raises RangeNotSatisfiableError, in words, for a header longer than
    MAX_RANGE_HEADER, more than one range, another unit or syntax, a range
    that ends before it starts, or one that starts past the end of the file.
    """
    example = f"bytes=0-{max(0, size - 1)}"
    if len(header) > MAX_RANGE_HEADER:
        raise RangeNotSatisfiableError(
            f"the Range header is too long: ask for one byte range, like {example}"
        )
    match = ONE_RANGE.match(header)
    if match is None:
        if "," in header:
            raise RangeNotSatisfiableError("only one byte range is served at a time")
        raise RangeNotSatisfiableError(f"the Range header must be one byte range, like {example}")
    first, last = match.groups()
    if not first:  # the last N bytes
        if not last or int(last) == 0:
            raise RangeNotSatisfiableError("the range asks for no bytes at all")
        if size == 0:
            raise RangeNotSatisfiableError("the file is empty")
        return max(0, size - int(last)), size - 1
    start = int(first)
    if last and int(last) < start:
        raise RangeNotSatisfiableError("the range ends before it starts")
    if start >= size:
        raise RangeNotSatisfiableError(f"the range starts past the end of the file ({size} bytes)")
    return start, min(int(last) if last else size - 1, size - 1)
