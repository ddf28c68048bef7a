"""What a transcript alerts a supervisor to: a keyword said, or the customer's mood."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .mood import MoodAlert
from .utterance import Utterance

KEYWORD = "keyword"


@dataclass(frozen=True, slots=True)
class TranscriptAlert:
    """An alert raised (or, for the mood, cleared) by an utterance."""

    kind: str  # "keyword", or a MoodAlertKind
    message: str
    active: bool
    utterance_id: str
    role: str = ""  # who said the keyword
    keyword: str = ""

    @classmethod
    def keyword_said(cls, utterance: Utterance, keyword: str) -> TranscriptAlert:
        role = utterance.speaker.role
        return cls(KEYWORD, f"the {role} said “{keyword}”", True, utterance.id, role, keyword)

    @classmethod
    def mood(cls, change: MoodAlert, utterance: Utterance) -> TranscriptAlert:
        return cls(change.kind.value, change.message, change.active, utterance.id)

    def to_wire(self) -> dict[str, Any]:
        if self.kind == KEYWORD:
            return {
                "kind": self.kind,
                "keyword": self.keyword,
                "message": self.message,
                "utterance_id": self.utterance_id,
                "role": self.role,
                "active": self.active,
            }
        return {
            "kind": self.kind,
            "message": self.message,
            "active": self.active,
            "utterance_id": self.utterance_id,
        }
