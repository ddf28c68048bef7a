"""A category a call matched: when, why, and whether the floor could see it live.

It goes to the supervisors' floor the moment it is found (``live``), is stored
with the call, and is shown on the replay at ``at_ms``, the moment that made
it match: the utterance that said the phrase, the start of the silence, the
30 s mark by which a phrase was not said.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .category import Severity


@dataclass(frozen=True, slots=True)
class Match:
    """A call matched ``category`` at ``at_ms`` (call time)."""

    category: str
    at_ms: int
    severity: Severity
    alert: bool
    """The category asks for the supervisors to be alerted."""
    evidence: str
    """Why, in a short sentence: 'the customer said "cancel" at 0:42'."""
    live: bool
    """Known while the call ran (False: only at its end, or the category is not live)."""

    def to_wire(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "at_ms": self.at_ms,
            "severity": self.severity.value,
            "alert": self.alert,
            "evidence": self.evidence,
            "live": self.live,
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Match:
        """A match as ``to_wire`` stored it (with the call)."""
        return cls(
            category=str(data["category"]),
            at_ms=int(data["at_ms"]),
            severity=Severity(data["severity"]),
            alert=bool(data["alert"]),
            evidence=str(data["evidence"]),
            live=bool(data["live"]),
        )
