"""An utterance as shown and kept: masked first, then scored and searched for keywords.

Guards: a wallet number read out as words is masked in the text and in the timed words
(one masked word spanning the number's time, so the words still spell the text); the
keyword is found and the sentiment scored on the masked text; nothing of the number is
left anywhere in what goes out.
"""

from __future__ import annotations

import json

from transcribe.keywords import KeywordSpotter
from transcribe.recognizer import Final, Word
from transcribe.utterance import Speaker, utterance_of

SAID = (
    "my bkash number is zero one seven one two three four five six seven eight and i want a refund"
)


def final_of(text: str) -> Final:
    words = [Word(w, 1000 + 300 * n, 1250 + 300 * n, 0.9) for n, w in enumerate(text.split())]
    return Final(text, words[0].start_ms, words[-1].end_ms, words)


def test_a_wallet_number_is_masked_in_text_and_words_and_the_rest_is_kept() -> None:
    utterance = utterance_of(
        final_of(SAID),
        utterance_id="u1",
        speaker=Speaker("p1", "customer", "Karim"),
        language="en",
        spotter=KeywordSpotter(),
    )
    assert utterance.text == "my bkash number is •••• •••• 678 and i want a refund"
    assert utterance.redacted
    assert " ".join(w.word for w in utterance.words) == utterance.text
    masked = next(w for w in utterance.words if "•" in w.word)
    assert (masked.start_ms, masked.end_ms) == (1000 + 300 * 4, 1250 + 300 * 14)
    assert utterance.keywords == ["bkash", "refund"]
    assert utterance.sentiment.label in ("positive", "neutral", "negative")
    wire = json.dumps(utterance.to_wire())
    for secret in ("zero", "one seven", "0171"):
        assert secret not in wire


def test_an_utterance_without_secrets_is_unchanged() -> None:
    utterance = utterance_of(
        final_of("where is my parcel"),
        utterance_id="u2",
        speaker=Speaker("p2", "agent"),
        language="en",
        spotter=KeywordSpotter(),
    )
    assert utterance.text == "where is my parcel" and not utterance.redacted
    assert [w.word for w in utterance.words] == ["where", "is", "my", "parcel"]
