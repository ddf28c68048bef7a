"""Text as the rules compare it, and the phrases of every rule found in one pass.

A transcript and an operator's phrase rarely agree on capitals, punctuation or
Unicode form: the recogniser writes "কলটি রেকর্ড করা হচ্ছে।" and the operator
types "কলটি রেকর্ড করা হচ্ছে". Both sides are therefore normalised the same
way (NFC, casefold, punctuation and symbols to spaces, the danda included,
whitespace collapsed) and compared as whole words: "cancel" is found in "I want
to cancel it" but not in "cancellation". Bengali adds suffixes to a word
("বাতিল", "বাতিলের"), so a phrase may end in ``*``: its last word is then a
prefix.

The phrases of all categories go into one :class:`PhraseIndex`, keyed by their
words, so an utterance costs a lookup per word (times the longest phrase's
length), however many categories and phrases there are.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

WILDCARD = "*"
# Dropped without a space: "don't" and "dont" are one word.
_APOSTROPHES = frozenset("'\u2019\u2018`\u02bc")
# Typed for the danda by some Bengali keyboards (the currency numerator four, "৷").
_DANDA_LOOKALIKE = "\u09f7"
# Khanda ta written the old way (ta, hasanta, zero-width joiner): the same letter.
_OLD_KHANDA_TA = ("\u09a4\u09cd\u200d", "\u09ce")
_BENGALI_DIGITS = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")


def normalize(text: str) -> str:
    """``text`` as rules compare it: NFC, casefolded, words of letters, marks and digits
    separated by single spaces."""
    text = unicodedata.normalize("NFC", text).replace(*_OLD_KHANDA_TA)
    text = unicodedata.normalize("NFC", text.casefold()).translate(_BENGALI_DIGITS)
    out: list[str] = []
    for ch in text:
        if ch in _APOSTROPHES:
            continue
        kind = unicodedata.category(ch)
        if kind[0] in "LMN" and ch != _DANDA_LOOKALIKE:
            out.append(ch)
        elif kind != "Cf":  # zero-width joiners and soft hyphens vanish; the rest separates
            out.append(" ")
    return " ".join("".join(out).split())


def words_of(text: str) -> list[str]:
    return normalize(text).split()


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrase of a rule, as written and as compared."""

    text: str
    words: tuple[str, ...]
    prefix: bool = False
    """The last word is a prefix (the phrase ended in ``*``)."""


def phrase_of(text: str) -> Phrase:
    """The phrase ``text`` as compared; ValueError if nothing of it is left to compare."""
    stripped = text.strip()
    prefix = stripped.endswith(WILDCARD)
    words = tuple(words_of(stripped.rstrip(WILDCARD)))
    if not words:
        raise ValueError("it has no letters or digits")
    if prefix and len(words[-1]) < 2:
        raise ValueError(f'the word before "{WILDCARD}" needs at least 2 letters')
    return Phrase(text, words, prefix)


class PhraseIndex(Generic[T]):
    """Every phrase of every rule, each pointing at what it belongs to (its target)."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, ...], list[T]] = {}
        self._firsts: set[str] = set()
        self._longest = 0
        # (the whole words before the last, the last word's prefix) -> targets
        self._prefixed: dict[tuple[tuple[str, ...], str], list[T]] = {}
        self._prefix_lengths: set[int] = set()
        self._longest_head = -1

    def __len__(self) -> int:
        return sum(map(len, self._exact.values())) + sum(map(len, self._prefixed.values()))

    def add(self, phrase: Phrase, target: T) -> None:
        if phrase.prefix:
            head, last = phrase.words[:-1], phrase.words[-1]
            self._prefixed.setdefault((head, last), []).append(target)
            self._prefix_lengths.add(len(last))
            self._longest_head = max(self._longest_head, len(head))
        else:
            self._exact.setdefault(phrase.words, []).append(target)
            self._firsts.add(phrase.words[0])
            self._longest = max(self._longest, len(phrase.words))

    def add_all(self, phrases: Iterable[Phrase], target: T) -> None:
        for phrase in phrases:
            self.add(phrase, target)

    def find(self, text: str) -> dict[T, str]:
        """The targets whose phrases ``text`` says, each with the first words that said it."""
        words = words_of(text)
        found: dict[T, str] = {}
        count = len(words)
        lengths = sorted(self._prefix_lengths)
        for i, word in enumerate(words):
            if word in self._firsts:
                for n in range(1, min(self._longest, count - i) + 1):
                    targets = self._exact.get(tuple(words[i : i + n]))
                    if targets:
                        said = " ".join(words[i : i + n])
                        for target in targets:
                            found.setdefault(target, said)
            for h in range(min(self._longest_head, count - i - 1) + 1):
                head, last = tuple(words[i : i + h]), words[i + h]
                for length in lengths:
                    if length > len(last):
                        break
                    targets = self._prefixed.get((head, last[:length]))
                    if targets:
                        said = " ".join(words[i : i + h + 1])
                        for target in targets:
                            found.setdefault(target, said)
        return found
