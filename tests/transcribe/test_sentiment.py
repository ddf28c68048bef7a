"""Sentiment per utterance: English through VADER, Bengali (script and romanised) through
the project's lexicon, anything else plainly "not supported".

Guards: positive, negative, negated and neutral sentences in each language get the label a
reader would give them; intensifiers make a feeling stronger; scores stay in [-1, 1].
"""

from __future__ import annotations

import pytest

from transcribe.sentiment import score


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Thank you so much, the delivery was great!", "positive"),
        ("This is terrible, I am very angry about the late parcel.", "negative"),
        ("The product is not good at all.", "negative"),
        ("The parcel was sent on Monday.", "neutral"),
    ],
)
def test_english_through_vader(text: str, label: str) -> None:
    result = score(text, "en")
    assert result.label == label, result
    assert result.score is not None and -1 <= result.score <= 1


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("আপনাদের সার্ভিস খুব ভালো, ধন্যবাদ।", "positive"),
        ("ডেলিভারি খুব খারাপ, আমি বিরক্ত।", "negative"),
        ("সার্ভিস ভালো না।", "negative"),  # negated: "not good"
        ("আমার অর্ডার নম্বর বারো।", "neutral"),
        ("service khub valo, dhonnobad", "positive"),  # romanised
        ("delivery kharap, ami birokto", "negative"),
        ("product valo na", "negative"),
        ("amar order number baro", "neutral"),
    ],
)
def test_bengali_script_and_romanised_through_the_lexicon(text: str, label: str) -> None:
    result = score(text, "bn")
    assert result.label == label, result
    assert result.score is not None and -1 <= result.score <= 1


def test_intensifiers_and_negation_move_the_score_as_a_reader_expects() -> None:
    good = score("সার্ভিস ভালো", "bn").score
    very_good = score("সার্ভিস খুব ভালো", "bn").score
    not_good = score("সার্ভিস ভালো না", "bn").score
    assert good is not None and very_good is not None and not_good is not None
    assert very_good > good > 0 > not_good


def test_other_languages_are_not_scored() -> None:
    result = score("배송이 늦어서 정말 죄송합니다", "ko")
    assert (result.score, result.label) == (None, "not_supported")
    assert result.to_wire() == {"score": None, "label": "not_supported", "language": "ko"}
