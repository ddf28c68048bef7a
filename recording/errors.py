"""Errors of the recording package.

::

    RecordingError
    ├── RecordingNotFoundError  (also LookupError)   no recording with that id
    ├── RecordingStateError                          e.g. pause while already paused
    └── RangeNotSatisfiableError (also ValueError)   a Range header that is not one byte
                                                     range inside the file
"""

from __future__ import annotations

__all__ = [
    "RangeNotSatisfiableError",
    "RecordingError",
    "RecordingNotFoundError",
    "RecordingStateError",
]


class RecordingError(Exception):
    """Base of every error raised by ``recording``."""


class RecordingNotFoundError(RecordingError, LookupError):
    """No recording with that id (or not one the caller may see)."""


class RecordingStateError(RecordingError):
    """The recording is not in a state that allows this."""


class RangeNotSatisfiableError(RecordingError, ValueError):
    """A Range header that is not one byte range inside the file (HTTP 416)."""
