"""The operator's categories, ready to evaluate many calls at once.

Loaded once (from TOML, see ``loading.py``) and shared by every call on the
node: the phrases of all categories are normalised and indexed here, once, and
the conditions are grouped by kind, so a call's state holds only what that
call said and did.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from .category import (
    Category,
    Condition,
    DurationRule,
    HoldRule,
    InterruptionsRule,
    PausedRule,
    QualityRule,
    SaidRule,
    SentimentAt,
    SentimentRule,
    SilenceRule,
    Window,
)
from .errors import RulesError
from .text import PhraseIndex

C = TypeVar("C", bound=Condition)
# Where a condition sits: (category index, condition index in it).
Slot = tuple[int, int]


class Rules:
    """A set of categories, each name once; the same object serves every call."""

    def __init__(self, categories: Sequence[Category] = ()) -> None:
        self.categories: tuple[Category, ...] = tuple(categories)
        seen: set[str] = set()
        for category in self.categories:
            key = category.name.casefold()
            if key in seen:
                raise RulesError(
                    f'Two categories are named "{category.name}". Give each category its '
                    "own name: matches are stored and searched by it.",
                    category=category.name,
                    field="name",
                )
            seen.add(key)
        self.said = self._slots(SaidRule)
        self.said_at: dict[Slot, SaidRule] = dict(self.said)
        self.phrases: PhraseIndex[Slot] = PhraseIndex()
        for slot, rule in self.said:
            self.phrases.add_all(rule.phrases, slot)
        # "Not said in the first N s": decided by the clock, so checked on every tick.
        self.missing_early = [
            (slot, r) for slot, r in self.said if r.negate and r.window is Window.FIRST
        ]
        self.sentiment_any = [
            (slot, r) for slot, r in self._slots(SentimentRule) if r.at is SentimentAt.ANY
        ]
        self.sentiment_end = [
            (slot, r) for slot, r in self._slots(SentimentRule) if r.at is SentimentAt.END
        ]
        self.silence = self._slots(SilenceRule)
        self.interruptions = self._slots(InterruptionsRule)
        self.quality = self._slots(QualityRule)
        self.duration = self._slots(DurationRule)
        self.paused = self._slots(PausedRule)
        self.hold = self._slots(HoldRule)

    def _slots(self, kind: type[C]) -> list[tuple[Slot, C]]:
        return [
            ((ci, ki), condition)
            for ci, category in enumerate(self.categories)
            for ki, condition in enumerate(category.conditions)
            if isinstance(condition, kind)
        ]

    def __len__(self) -> int:
        return len(self.categories)

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories)

    def category(self, name: str) -> Category:
        """The category called ``name`` (KeyError if there is none)."""
        for category in self.categories:
            if category.name == name:
                return category
        raise KeyError(name)

    def to_wire(self) -> list[dict[str, object]]:
        return [category.to_wire() for category in self.categories]
