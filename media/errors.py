"""Errors of the media layer.

::

    MediaError
    ├── AiortcCompatError      (also RuntimeError)  the installed aiortc moved an internal we use
    ├── NegotiationError       (also ValueError)    an answer that does not fit the offer
    │   └── StaleAnswerError                        an answer to an offer that was replaced
    ├── MonitoringError        (also RuntimeError)  monitoring asked of something that cannot
    ├── PeerClosedError        (also ConnectionError)
    └── UnknownParticipantError (also KeyError)
"""

from __future__ import annotations

__all__ = [
    "AiortcCompatError",
    "MediaError",
    "MonitoringError",
    "NegotiationError",
    "PeerClosedError",
    "StaleAnswerError",
    "UnknownParticipantError",
]


class MediaError(Exception):
    """Base of every error raised by ``media``."""


class AiortcCompatError(MediaError, RuntimeError):
    """The installed aiortc no longer has an internal that media/aiortc_compat.py uses."""


class NegotiationError(MediaError, ValueError):
    """An SDP answer could not be applied."""


class StaleAnswerError(NegotiationError):
    """The answer belongs to an offer that a newer offer replaced."""


class MonitoringError(MediaError, RuntimeError):
    """Monitoring asked of a room or member that cannot do it (a party, the transcoding plane)."""


class PeerClosedError(MediaError, ConnectionError):
    """The participant's peer connection is closed."""


class UnknownParticipantError(MediaError, KeyError):
    """No participant with that id is in the room."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the sentence
        return str(self.args[0]) if self.args else "unknown participant"
