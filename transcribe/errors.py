"""Why transcription cannot happen, in words an agent or operator can act on."""

from __future__ import annotations


class TranscribeError(Exception):
    """Base of this package's errors; ``reason`` is shown to people as it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ModelUnavailableError(TranscribeError):
    """No speech model for a language: the call goes on without a transcript."""


class CapacityError(TranscribeError):
    """The server cannot transcribe one more stream right now: that stream goes without."""
