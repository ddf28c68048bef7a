"""How an utterance feels, in [-1, 1] with a label, per language.

English goes through VADER (vaderSentiment), the standard lexicon for short
conversational text. Bengali, in its script and in common romanised
spelling, goes through a lexicon the project keeps as data
(``data/bn_sentiment.json``) with negation and intensifiers, scored the way
VADER scores. Other languages are "not supported": a made-up neutral score
would hide that nobody measured anything.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

LEXICON = Path(__file__).parent / "data" / "bn_sentiment.json"
# VADER's thresholds on the compound score, used for both languages.
POSITIVE = 0.05
NEGATIVE = -0.05
NORMALIZE_ALPHA = 15  # VADER's normalisation of a sum of valences into [-1, 1]
VADER_SCALE = 4.0
NEGATION_WINDOW = 2  # a negator flips a sentiment word at most this many words before it
TOKEN_SPLIT = re.compile(r"[\s,.!?।;:'\"()\-]+")


@dataclass(frozen=True, slots=True)
class Sentiment:
    score: float | None  # -1 (very negative) to 1 (very positive); None when not supported
    label: str  # positive, negative, neutral or not_supported
    language: str

    def to_wire(self) -> dict[str, Any]:
        return {"score": self.score, "label": self.label, "language": self.language}


def label_of(score: float) -> str:
    if score >= POSITIVE:
        return "positive"
    if score <= NEGATIVE:
        return "negative"
    return "neutral"


@cache
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


@cache
def _bengali() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(LEXICON.read_text(encoding="utf-8"))
    return data


def bengali_score(text: str) -> float:
    lexicon = _bengali()
    words: dict[str, float] = lexicon["words"]
    negators = set(lexicon["negators"])
    intensifiers: dict[str, float] = lexicon["intensifiers"]
    tokens = [t for t in TOKEN_SPLIT.split(text.lower()) if t]
    valences: list[tuple[int, float]] = []  # (position, valence) of each sentiment word
    for i, token in enumerate(tokens):
        if token in words:
            valence = words[token]
            if i > 0 and tokens[i - 1] in intensifiers:
                valence *= intensifiers[tokens[i - 1]]
            valences.append((i, valence))
        elif token in negators:
            # Bengali negates after the word: "ভালো না" (not good), "valo na".
            for n in range(len(valences) - 1, -1, -1):
                position, valence = valences[n]
                if i - position <= NEGATION_WINDOW:
                    valences[n] = (position, -valence * 0.75)  # VADER's negation damping
                    break
    # The lexicon's weights are in [-1, 1]; VADER's valences in [-4, 4]: scale, then
    # normalise the sum as VADER does, so both languages' scores read alike.
    total = VADER_SCALE * sum(v for _, v in valences)
    if total == 0:
        return 0.0
    return total / math.sqrt(total * total + NORMALIZE_ALPHA)


def score(text: str, language: str) -> Sentiment:
    """The sentiment of one utterance in ``language`` (``en``, ``bn``; others not supported)."""
    if language == "en":
        value = float(_vader().polarity_scores(text)["compound"])
    elif language == "bn":
        value = bengali_score(text)
    else:
        return Sentiment(None, "not_supported", language)
    value = round(max(-1.0, min(1.0, value)), 3)
    return Sentiment(value, label_of(value), language)
