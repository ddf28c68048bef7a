"""Configured words a supervisor wants to hear about ("refund", "cancel", "bKash", "fraud").

The list is config, per language: a Bengali call is matched against the
Bengali words (script and romanised) and every call against the words
listed for all languages (``*``). Matching is on whole words, ignoring case,
so "refunded" does not fire "refund" unless it is listed; Bengali keywords
also match with their case endings ("বিকাশে").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Bengali letters, vowel signs and marks count as parts of a word, as Latin letters do.
_WORD = r"[\w\u0980-\u09ff]"
_BENGALI = re.compile(r"[\u0980-\u09ff]")
# Bengali nouns take case endings ("বিকাশে", in bKash; "ফেরতের", of the refund): a Bengali
# keyword matches with any of them.
_BENGALI_ENDINGS = "(?:ে|ের|কে|তে|য়|র|রা|দের|টা|টি)?"

DEFAULT_KEYWORDS: dict[str, list[str]] = {
    "*": ["bkash", "nagad", "rocket"],
    "en": ["refund", "cancel", "fraud", "complaint", "lawyer"],
    "bn": ["ফেরত", "বাতিল", "প্রতারণা", "অভিযোগ", "বিকাশ", "নগদ", "ferot", "batil", "protarona"],
}


@dataclass(frozen=True, slots=True)
class KeywordHit:
    keyword: str
    start: int  # character offsets in the utterance
    end: int


def _normal(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _pattern(word: str) -> re.Pattern[str]:
    ending = _normal(_BENGALI_ENDINGS) if _BENGALI.search(word) else ""
    return re.compile(rf"(?<!{_WORD}){re.escape(_normal(word))}{ending}(?!{_WORD})")


class KeywordSpotter:
    def __init__(self, keywords: Mapping[str, Sequence[str]] | None = None) -> None:
        self._patterns: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
        for language, words in (keywords if keywords is not None else DEFAULT_KEYWORDS).items():
            self._patterns[language] = [(word, _pattern(word)) for word in words if word.strip()]

    def find(self, text: str, language: str) -> list[KeywordHit]:
        """The configured keywords said in ``text`` (a final utterance), in order."""
        normal = _normal(text)
        hits = [
            KeywordHit(word, match.start(), match.end())
            for lang in ("*", language)
            for word, pattern in self._patterns.get(lang, [])
            for match in pattern.finditer(normal)
        ]
        return sorted(hits, key=lambda h: h.start)
