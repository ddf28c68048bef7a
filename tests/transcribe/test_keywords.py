"""Keyword alerts: the configured words, per language, found as whole words.

Guards: English and Bengali (script and romanised) keywords are found whatever their case;
words for every language ("bKash") fire in any call; a word inside a longer word does not
fire, but a Bengali keyword with a case ending does; an operator's own list replaces the defaults.
"""

from __future__ import annotations

from transcribe.keywords import KeywordSpotter


def words(spotter: KeywordSpotter, text: str, language: str) -> list[str]:
    return [hit.keyword for hit in spotter.find(text, language)]


def test_default_keywords_per_language() -> None:
    spotter = KeywordSpotter()
    assert words(spotter, "I want a REFUND or I will cancel", "en") == ["refund", "cancel"]
    # Bengali keywords match with their case endings: বিকাশে is "in bKash".
    assert words(spotter, "আমি টাকা ফেরত চাই, বিকাশে দিন", "bn") == ["ফেরত", "বিকাশ"]
    assert words(spotter, "ফেরতের টাকা কবে পাব?", "bn") == ["ফেরত"]
    assert words(spotter, "বিকাশকারী", "bn") == []  # another word that starts alike
    assert words(spotter, "ami taka ferot chai, bkash e din", "bn") == ["ferot", "bkash"]
    assert words(spotter, "I paid with bKash yesterday", "en") == ["bkash"]
    assert words(spotter, "the refunded amount arrived", "en") == []  # not the word itself
    assert words(spotter, "refund", "ko") == []  # English words are for English calls


def test_an_operators_list_replaces_the_defaults() -> None:
    spotter = KeywordSpotter({"en": ["chargeback"], "*": []})
    assert words(spotter, "I will file a chargeback and ask for a refund", "en") == ["chargeback"]
    hit = spotter.find("a Chargeback now", "en")[0]
    assert (hit.start, hit.end) == (2, 12)
